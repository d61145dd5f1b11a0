"""The UI in English, Arabic and Chinese: translation tables read by `gr.I18n` in the browser, and the page's
language sent to the server for the texts the server writes.

`tr("Image")` marks a label for translation; the key IS the English text, so untranslated code still
reads well and a missing entry shows English (tests/test_i18n.py lists every key that lacks a language and
every `tr()` key missing from the table). `marker(text)` is the same as a plain string, for the labels of menu
choices (Gradio translates those in the browser too); `local(text)` is the table's text in the language the
server writes in, for values a handler returns (English over the API). The browser's language picks the
table (Gradio's settings panel switches it); `RTL_JS` turns the page right-to-left whenever the title on
screen is in Arabic script, so a switch in the settings flips it too.

Texts made on the server (figure titles and captions, status lines, notices, error messages) follow
`gitdemo.lang`: `RTL_JS` reads the language the page shows and clicks a hidden button whenever it changes;
its event (`wire_language`) records it for the page's session (`gitdemo.lang.remember`) and runs the
listeners the tabs registered with `on_language` (the PaliGemma tab sets its prompt language). The API and
scripts keep English. (A session, not a cookie: on a Space the app runs in an iframe, where cookies are
third-party and often blocked; not the Accept-Language header: it would miss a switch in the settings.)

Covered: every tab's labels, infos, lesson sentences, buttons, accordions and choices; the explorer and its
figures; status lines and notices. Still English: the answers (the models write English), example
questions and placeholders (the models read English), model names in the example tables, the API's
JSON, cached example outputs written by the server (PaliGemma's box list),
progress messages, and error messages with numbers or names in them.
"""
from __future__ import annotations

import json

from ..lang.room_text import ROOM_LABELS
from .i18n_mech import MECH_LABELS
from .i18n_tabs import TAB_TEXT

LANGUAGES = ("en", "ar", "zh-CN")

# English -> (Arabic, Simplified Chinese)
TABLE: dict[str, tuple[str, str]] = {
    # header and tabs
    "# gitdemo: see where an image-to-text model looks": ("# gitdemo: انظر أين ينظر نموذج تحويل الصورة إلى نص",
                                                        "# gitdemo:看看图像到文本模型在看哪里"),
    "GIT (Microsoft's Generative Image-to-text Transformer), run by our own readable PyTorch code. Caption a picture, "
    "ask about it, describe a video, then click any generated word to see its attention over the image, layer by "
    "layer and head by head.": (
        "نموذج GIT (محوّل توليد النص من الصور من مايكروسوفت) يعمل بشيفرة PyTorch مقروءة كتبناها بأنفسنا. صِف صورة، "
        "أو اسأل عنها، أو صِف مقطع فيديو، ثم انقر أي كلمة مولَّدة لترى انتباهها على الصورة، طبقةً طبقة ورأسًا رأسًا.",
        "GIT(微软的生成式图像到文本 Transformer),由我们自己编写的易读 PyTorch 代码运行。为图片生成描述、就图片提问、"
        "描述视频,然后点击任意生成的词,逐层、逐头查看它在图像上的注意力。"),
    "Caption": ("وصف الصورة", "图像描述"),
    "Visual QA": ("أسئلة عن الصورة", "视觉问答"),
    "Video": ("فيديو", "视频"),
    "Attention mask": ("قناع الانتباه", "注意力掩码"),
    "PaliGemma": ("PaliGemma", "PaliGemma"),
    "Compare": ("مقارنة", "比较"),
    # shared controls
    "Image": ("الصورة", "图像"),
    "Model": ("النموذج", "模型"),
    "The Shapes model is small, offline and trained on the synthetic scenes; the Microsoft checkpoints download on "
    "first use.": ("نموذج الأشكال صغير ويعمل دون إنترنت ومدرَّب على المشاهد الاصطناعية؛ نماذج مايكروسوفت تُنزَّل عند "
                   "أول استخدام.", "形状模型很小,可离线使用,在合成场景上训练;微软的模型在首次使用时下载。"),
    "Decoding": ("فك الترميز", "解码"),
    "greedy: the likeliest token each step (streams); beam: keeps several candidates and shows the best at the end; "
    "sampling: draws tokens at random (streams).": (
        "جشع: الرمز الأرجح في كل خطوة (يظهر تدريجيًا)؛ الحزمة: يحتفظ بعدة مرشحين ويعرض الأفضل في النهاية؛ "
        "العيّنات: يسحب الرموز عشوائيًا (يظهر تدريجيًا).",
        "贪心:每一步取最可能的词元(流式);束搜索:保留多个候选,最后给出最佳;采样:随机抽取词元(流式)。"),
    "Max new tokens": ("أقصى عدد من الرموز الجديدة", "最多新词元数"),
    "Beams (beam search)": ("عدد الحزم (بحث الحزمة)", "束数(束搜索)"),
    "Temperature (sampling)": ("درجة الحرارة (العيّنات)", "温度(采样)"),
    "Top-p (sampling)": ("Top-p (العيّنات)", "Top-p(采样)"),
    "Seed (sampling: same seed, same text)": ("البذرة (العيّنات: البذرة نفسها تعطي النص نفسه)",
                                              "随机种子(采样:相同种子,相同文本)"),
    "Attention data, as the API returns it (JSON)": ("بيانات الانتباه كما تعيدها الواجهة البرمجية (JSON)",
                                                     "注意力数据,与 API 返回的相同(JSON)"),
    "Attention data": ("بيانات الانتباه", "注意力数据"),
    "Examples (results cached after first use; greedy decoding)": (
        "أمثلة (تُحفظ النتائج بعد أول استخدام؛ فك ترميز جشع)", "示例(首次使用后缓存结果;贪心解码)"),
    # caption and VQA tabs
    "Upload a picture (or click an example) and the model describes it, one token at a time. Then click any word of "
    "the caption to see where the model looked when it wrote it.": (
        "ارفع صورة (أو انقر مثالًا) وسيصفها النموذج رمزًا بعد رمز. ثم انقر أي كلمة من الوصف لترى أين نظر النموذج "
        "حين كتبها.", "上传一张图片(或点击示例),模型会逐个词元地描述它。然后点击描述中的任意词,看看模型写下它时在看哪里。"),
    "Ask a question about a picture. GIT reads the question as the start of the text and simply continues it with "
    "the answer; the explorer shows where each answer token looked.": (
        "اطرح سؤالًا عن صورة. يقرأ GIT السؤال على أنه بداية النص ويكمله بالإجابة؛ ويُظهر المستكشف أين نظر كل رمز "
        "من الإجابة.", "就一张图片提问。GIT 把问题当作文本的开头,然后接着写出答案;探索器显示每个答案词元在看哪里。"),
    "Question": ("السؤال", "问题"),
    "Answer": ("الإجابة", "回答"),
    # compare tab
    "The same picture through two models. Both answers, then pick a word: its two heatmaps share one colour scale, "
    "so you can see which model looked harder, and where.": (
        "الصورة نفسها عبر نموذجين. الإجابتان، ثم اختر كلمة: خريطتا الحرارة لها تشتركان في مقياس ألوان واحد، فترى أي "
        "النموذجين ركّز أكثر وأين.", "同一张图片交给两个模型。先看两个回答,再选一个词:它的两张热力图共用一个色标,"
        "可以看出哪个模型看得更用力、看在哪里。"),
    "Question (optional: leave empty for captions)": ("السؤال (اختياري: اتركه فارغًا للحصول على وصف)",
                                                      "问题(可选:留空则生成描述)"),
    "Model A": ("النموذج أ", "模型 A"),
    "Model B": ("النموذج ب", "模型 B"),
    "Answer of model A": ("إجابة النموذج أ", "模型 A 的回答"),
    "Answer of model B": ("إجابة النموذج ب", "模型 B 的回答"),
    "Word to compare": ("الكلمة المراد مقارنتها", "要比较的词"),
    "Empty: the first word both answers share.": ("فارغ: أول كلمة تشترك فيها الإجابتان.", "留空:两个回答共有的第一个词。"),
    "Words of the two answers: pick one": ("كلمات الإجابتين: اختر واحدة", "两个回答中的词:选一个"),
    "Comparison data, as the API returns it (JSON)": ("بيانات المقارنة كما تعيدها الواجهة البرمجية (JSON)",
                                                      "比较数据,与 API 返回的相同(JSON)"),
    "Comparison": ("المقارنة", "比较"),
    "Precision of model A": ("دقة حساب النموذج أ", "模型 A 的计算精度"),
    "Precision of model B": ("دقة حساب النموذج ب", "模型 B 的计算精度"),
    "Pick the same model twice with two precisions (exact fp32 vs int8) to see what the fast arithmetic changes.": (
        "اختر النموذج نفسه مرتين بدقتين مختلفتين (fp32 الدقيقة مقابل int8) لترى ما يغيّره الحساب السريع.",
        "把同一个模型选两次、用两种精度(精确的 fp32 与 int8),看看快速运算改变了什么。"),
    # the explorer
    "### Attention explorer\nWhere did the model look while it wrote each token? Attention shows where information "
    "*could* flow, not *why* the model decided.": (
        "### مستكشف الانتباه\nأين نظر النموذج وهو يكتب كل رمز؟ يُظهر الانتباه أين *يمكن* أن تتدفق المعلومات، لا "
        "*لماذا* قرّر النموذج.", "### 注意力探索器\n模型写下每个词元时在看哪里?注意力显示信息*可能*流向哪里,而不是模型*为什么*这样决定。"),
    "Generate something above, then click one of its tokens.": ("ولّد شيئًا في الأعلى، ثم انقر أحد رموزه.",
                                                                "先在上方生成内容,然后点击其中一个词元。"),
    "Generated tokens: click one": ("الرموز المولَّدة: انقر أحدها", "生成的词元:点击一个"),
    "Generation scrubber: step": ("شريط التوليد: الخطوة", "生成进度条:步骤"),
    "Attention over the image": ("الانتباه على الصورة", "图像上的注意力"),
    "Next-token probabilities": ("احتمالات الرمز التالي", "下一个词元的概率"),
    "Image vs text": ("الصورة مقابل النص", "图像与文本"),
    "Layer": ("الطبقة", "层"),
    "Head": ("الرأس", "注意力头"),
    "Colour map (colour-blind safe)": ("خريطة الألوان (آمنة لعمى الألوان)", "色图(色盲友好)"),
    "Frame": ("الإطار", "帧"),
    "Heatmap opacity": ("عتامة خريطة الحرارة", "热力图不透明度"),
    "Leave out the CLS sink (rescale the patches to 100%)": ("استبعد مصرف CLS (أعد قياس الرقع إلى 100%)",
                                                             "去掉 CLS 汇点(把图块重新缩放到 100%)"),
    "One colour scale for all small multiples": ("مقياس ألوان واحد لكل الصور الصغيرة", "所有小图共用一个色标"),
    "Frames: where each frame is looked at": ("الإطارات: أين يُنظر في كل إطار", "帧:每一帧被看的位置"),
    "All layers and all heads (small multiples)": ("كل الطبقات وكل الرؤوس (صور صغيرة متعددة)", "所有层和所有头(小图阵列)"),
    "Raw attention beside rollout": ("الانتباه الخام بجانب الانتباه المتراكم", "原始注意力与注意力展开对比"),
    "The vision encoder's own attention (CLS to patches, per layer)": (
        "انتباه مُرمِّز الرؤية نفسه (من CLS إلى الرقع، لكل طبقة)", "视觉编码器自身的注意力(CLS 到图块,逐层)"),
    "The attention mask the model used for this input": ("قناع الانتباه الذي استخدمه النموذج لهذا الإدخال",
                                                         "模型对此输入使用的注意力掩码"),
    "Pick a patch: which tokens read it?": ("اختر رقعة: أي الرموز قرأتها؟", "选一个图块:哪些词元读了它?"),
    "Pick a patch on the heatmap (click a square, or Tab to the picture, move with the arrow keys and press Enter): "
    "the bars show how much each generated token read that patch.": (
        "اختر رقعة على خريطة الحرارة (انقر مربعًا، أو انتقل إلى الصورة بمفتاح Tab وتحرّك بمفاتيح الأسهم ثم اضغط "
        "Enter): تُظهر الأعمدة مقدار ما قرأه كل رمز مولَّد من تلك الرقعة.",
        "在热力图上选一个图块(点击一个方格,或用 Tab 键移到图片上,用方向键移动再按 Enter):柱状图显示每个生成的词元"
        "读了该图块多少。"),
    "Share this view (copy its link)": ("شارك هذا العرض (انسخ رابطه)", "分享这个视图(复制链接)"),
    "Link to this view": ("رابط هذا العرض", "这个视图的链接"),
    "These figures as PNG files": ("هذه الأشكال كملفات PNG", "把这些图保存为 PNG 文件"),
    "Figures (PNG)": ("الأشكال (PNG)", "图(PNG)"),
    "Per layer": ("لكل طبقة", "逐层"),
    "What the heatmap shows": ("ما تعرضه خريطة الحرارة", "热力图显示的内容"),
    "raw attention (default)": ("الانتباه الخام (الافتراضي)", "原始注意力(默认)"),
    "attention rollout": ("الانتباه المتراكم", "注意力展开"),
    "relevancy (gradient-weighted; computed on demand)": ("الصلة (موزونة بالتدرّج؛ تُحسب عند الطلب)",
                                                          "相关性(按梯度加权;按需计算)"),
}
TABLE.update(ROOM_LABELS)  # the Class tab (rooms)
TABLE.update(TAB_TEXT)  # the Video, Attention mask and PaliGemma tabs, choices, Test this map (i18n_tabs.py)
TABLE.update(MECH_LABELS)  # attention step by step, the sampling knobs, the Lesson tab (i18n_mech.py)


def translations() -> dict[str, dict[str, str]]:
    """locale -> {key: text}, as `gr.I18n` takes it (English maps each key to itself)."""
    out = {"en": {k: k for k in TABLE}}
    for i, lang in enumerate(LANGUAGES[1:]):
        out[lang] = {k: v[i] for k, v in TABLE.items()}
    out["zh"] = out["zh-CN"]  # browsers that send a bare "zh"
    return out


_I18N = None


def i18n():
    """The one `gr.I18n` of the app (pass it to `launch(i18n=...)`)."""
    global _I18N
    if _I18N is None:
        import gradio as gr

        _I18N = gr.I18n(**translations())
    return _I18N


def tr(text: str):
    """A label to translate in the browser; text without an entry stays as it is."""
    return i18n()(text) if text in TABLE else text


def local(text: str, lang: str | None = None) -> str:
    """`text` from this table in the language the server writes in now (`gitdemo.lang.current()`), for a label
    the server puts inside its own text (a model's name in a status line)."""
    from .. import lang as server_lang

    lang = server_lang.normalise(lang) if lang else server_lang.current()
    entry = TABLE.get(text)
    return entry[server_lang.LANGS.index(lang) - 1] if entry and lang != "en" else text


def marker(text: str) -> str:
    """`tr(text)` as a plain string: for the labels of menu choices (the browser translates it)."""
    return str(tr(text))


def choices(pairs) -> list[tuple[str, str]]:
    """(label, value) pairs with the labels marked for translation; the values (what the API takes) unchanged."""
    return [(marker(label), value) for label, value in pairs]


def plain_headers(demo) -> None:
    """Example tables take their column headers (and a menu's label for each cell) from the inputs, and Gradio's
    Dataset does not translate them (it would show the raw marker): give them the English text instead (the
    headers are then rewritten in the page's language by `wire_language`; the cells stay English)."""
    from gradio.i18n import I18nData

    def plain(x):
        if isinstance(x, I18nData):
            return x.key
        if isinstance(x, str) and "__i18n__" in x:
            try:
                return json.loads(x[x.index("__i18n__") + 8:])["key"]
            except (ValueError, KeyError):
                return x
        return x

    for block in demo.blocks.values():
        if type(block).__name__ != "Dataset":
            continue
        if getattr(block, "headers", None):
            block.headers = [plain(h) for h in block.headers]
        for props in getattr(block, "component_props", None) or []:  # a menu's cell shows its choice's label
            if isinstance(props, dict) and props.get("choices"):
                props["choices"] = [(plain(c[0]), c[1]) if isinstance(c, (list, tuple)) else c for c in props["choices"]]


# ----------------------------------------------------------------------------- the page's language, on the server
SYNC_ID = "gitdemo-lang-sync"
LISTENERS: list[tuple] = []  # (fn(lang, *inputs) -> outputs, inputs, outputs), registered while the tabs build
_JS_LANG = "(...args) => [window.gitdemoLang ? window.gitdemoLang() : 'en', ...args.slice(1)]"


def on_language(fn, inputs: list, outputs: list) -> None:
    """Run `fn(lang, *inputs)` ('en', 'ar' or 'zh') when the page's language is known, and after each switch."""
    LISTENERS.append((fn, list(inputs), list(outputs)))


def _record(lang, request=None) -> None:
    from .. import lang as server_lang

    server_lang.remember(getattr(request, "session_hash", None), lang)


def _forget(request=None) -> None:
    from .. import lang as server_lang

    server_lang.forget(getattr(request, "session_hash", None))


def wire_language(demo) -> None:
    """The hidden button `RTL_JS` clicks when the page's language changes (call inside the Blocks, last)."""
    import gradio as gr

    def record(lang, request):
        _record(lang, request)

    def forget(request):
        _forget(request)

    # real classes, not the strings `from __future__ import annotations` leaves (Gradio looks the hint up)
    record.__annotations__, forget.__annotations__ = {"request": gr.Request}, {"request": gr.Request}

    box = gr.Textbox(visible=False)
    sync = gr.Button("language", elem_id=SYNC_ID, elem_classes=["gitdemo-hidden"])
    common = dict(js=_JS_LANG, queue=False, api_visibility="private", show_progress="hidden")
    sync.click(record, [box], None, **common)
    for fn, inputs, outputs in LISTENERS:
        sync.click(fn, [box, *inputs], outputs, **common)
    LISTENERS.clear()
    # example tables: Gradio's Dataset shows its headers as they are; the server writes them in the page's language
    tables = [b for b in demo.blocks.values() if type(b).__name__ == "Dataset" and getattr(b, "headers", None)]
    for table in tables:
        english = [h.key if hasattr(h, "key") else str(h) for h in table.headers]
        sync.click(lambda lang, e=english: gr.update(headers=[local(h, lang) for h in e]), [box], [table], **common)
    demo.unload(forget)


# right to left while the page shows Arabic (follows the browser's language and the settings panel's switch);
# the language on screen goes to the server through the hidden button whenever it changes
RTL_JS = """() => {
  window.gitdemoLang = () => {
    const title = document.querySelector('#app-title');
    const text = title ? title.innerText : '';
    return /[\\u0600-\\u06FF]/.test(text) ? 'ar' : (/[\\u4e00-\\u9fff]/.test(text) ? 'zh-CN' : 'en');
  };
  let sent = null, sentAt = 0, again = false;
  const flip = () => {
    if (!document.querySelector('#app-title')) return;
    const lang = window.gitdemoLang();
    document.documentElement.dir = lang === 'ar' ? 'rtl' : 'ltr';
    document.documentElement.lang = lang;
    const sync = document.getElementById('%s');
    if (!sync) return;
    if (lang !== sent) {
      sent = lang; sentAt = Date.now(); again = true;
      sync.click();
    } else if (again && Date.now() - sentAt > 2000) {  // once more, in case the first click came before the app listened
      again = false;
      sync.click();
    }
  };
  flip();
  setInterval(flip, 400);
}""" % SYNC_ID

__all__ = ["LANGUAGES", "TABLE", "translations", "i18n", "tr", "marker", "local", "choices", "RTL_JS", "plain_headers",
           "on_language", "wire_language", "SYNC_ID"]
