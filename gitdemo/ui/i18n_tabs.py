"""The browser's table, continued (`gitdemo.ui.i18n.TABLE` takes these in): the Video, Attention mask and PaliGemma
tabs, the choices of every menu, the precision picker, Test this map and the explorer's figure slots.
English -> (Arabic, Simplified Chinese); one section per tab, so tabs change without touching each other.
"""
from __future__ import annotations

from ..lang.app_text import SHARED

TAB_TEXT: dict[str, tuple[str, str]] = {
    **SHARED,  # texts the server writes too (menu labels, the box explanation)
    # shared controls: precision, decoding choices, the model menus
    "Precision": ("الدقة", "精度"),
    "int8 is about 2x faster on a CPU and almost always writes the same words; exact (fp32) is the model as trained "
    "(each is loaded once, then kept).": (
        "int8 أسرع بنحو مرتين على المعالج ويكتب الكلمات نفسها في الغالب؛ والدقيق (fp32) هو النموذج كما دُرّب (يُحمَّل كل "
        "منهما مرة واحدة ثم يُحتفظ به).",
        "int8 在 CPU 上大约快 2 倍,几乎总是写出相同的词;精确(fp32)就是训练时的模型(每种只加载一次,之后保留)。"),
    "exact (fp32)": ("دقيق (fp32)", "精确(fp32)"),
    "int8 (fast, CPU)": ("int8 (سريع، للمعالج)", "int8(快速,CPU)"),
    "auto: exact (fp32) for Hub models, exact for the embedded ones": (
        "تلقائي: دقيق (fp32) لنماذج Hub، ودقيق للنماذج المضمّنة", "自动:Hub 模型用精确(fp32),内置模型用精确"),
    "auto: int8 (fast, CPU) for Hub models, exact for the embedded ones": (
        "تلقائي: int8 (سريع، للمعالج) لنماذج Hub، ودقيق للنماذج المضمّنة", "自动:Hub 模型用 int8(快速,CPU),内置模型用精确"),
    "auto: bf16 for Hub models, exact for the embedded ones": (
        "تلقائي: bf16 لنماذج Hub، ودقيق للنماذج المضمّنة", "自动:Hub 模型用 bf16,内置模型用精确"),
    "auto: fp16 for Hub models, exact for the embedded ones": (
        "تلقائي: fp16 لنماذج Hub، ودقيق للنماذج المضمّنة", "自动:Hub 模型用 fp16,内置模型用精确"),
    "greedy": ("جشع", "贪心"),
    "beam": ("الحزمة", "束搜索"),
    "sampling": ("العيّنات", "采样"),
    "Text": ("النص", "文本"),
    "Shapes (embedded, works offline)": ("الأشكال (مضمّن، يعمل دون إنترنت)", "形状(内置,可离线)"),
    "PaliGemma Shapes (embedded, works offline)": ("PaliGemma الأشكال (مضمّن، يعمل دون إنترنت)",
                                                   "PaliGemma 形状(内置,可离线)"),
    "microsoft/git-base (pre-trained only: captions, but often odd)": (
        "microsoft/git-base (مدرَّب مسبقًا فقط: يصف، لكن غالبًا بغرابة)", "microsoft/git-base(仅预训练:能描述,但常常古怪)"),
    "microsoft/git-base-textvqa (questions about text in the picture)": (
        "microsoft/git-base-textvqa (أسئلة عن النص في الصورة)", "microsoft/git-base-textvqa(关于图中文字的问题)"),
    "microsoft/git-base-textcaps (captions that read text in the picture)": (
        "microsoft/git-base-textcaps (أوصاف تقرأ النص في الصورة)", "microsoft/git-base-textcaps(会读图中文字的描述)"),
    "microsoft/git-large-coco (larger (1.5 GB), better captions, slower)": (
        "microsoft/git-large-coco (أكبر (1.5 غيغابايت)، أوصاف أفضل، أبطأ)", "microsoft/git-large-coco(更大(1.5 GB),描述更好,更慢)"),
    "microsoft/git-base-msrvtt-qa (questions about a video)": (
        "microsoft/git-base-msrvtt-qa (أسئلة عن فيديو)", "microsoft/git-base-msrvtt-qa(关于视频的问题)"),
    "google/paligemma-3b-mix-224 (gated, 3B, 224 px, 16 x 16 patches)": (
        "google/paligemma-3b-mix-224 (مقيَّد، 3B، 224 بكسل، 16 × 16 رقعة)", "google/paligemma-3b-mix-224(需授权,3B,224 px,16 × 16 图块)"),
    "google/paligemma-3b-mix-448 (gated, 3B, 448 px, 32 x 32 patches, slower)": (
        "google/paligemma-3b-mix-448 (مقيَّد، 3B، 448 بكسل، 32 × 32 رقعة، أبطأ)",
        "google/paligemma-3b-mix-448(需授权,3B,448 px,32 × 32 图块,更慢)"),
    "google/paligemma2-3b-mix-224 (gated, PaliGemma 2 (Gemma 2), 224 px)": (
        "google/paligemma2-3b-mix-224 (مقيَّد، PaliGemma 2 (Gemma 2)، 224 بكسل)",
        "google/paligemma2-3b-mix-224(需授权,PaliGemma 2(Gemma 2),224 px)"),
    "**Offline:** the Hugging Face Hub cannot be reached, so the embedded Shapes model is the default; other models "
    "work once they are in the local cache.": (
        "**دون اتصال:** لا يمكن الوصول إلى Hugging Face Hub، لذا نموذج الأشكال المضمّن هو الافتراضي؛ وتعمل النماذج "
        "الأخرى حين تكون في الذاكرة المحلية.", "**离线**:无法连接 Hugging Face Hub,所以默认使用内置的形状模型;其他模型在本地缓存中时即可使用。"),
    # the explorer's figure slots and menus
    "mean of all layers": ("متوسط كل الطبقات", "所有层的平均"),
    "Sampled frames": ("الإطارات المختارة", "抽取的帧"),
    "Layers": ("الطبقات", "各层"),
    "Heads": ("الرؤوس", "各头"),
    "Raw vs rollout": ("الخام مقابل المتراكم", "原始与展开"),
    "Vision encoder": ("مُرمِّز الرؤية", "视觉编码器"),
    "Tokens reading the patch": ("الرموز التي تقرأ الرقعة", "读这个图块的词元"),
    # Test this map (ui.faithful)
    "Test this map: hide patches and watch the token": ("اختبر هذه الخريطة: أخفِ رقعًا وراقب الرمز",
                                                        "检验这张图:隐藏图块,观察词元"),
    "Attention shows where information *could* flow. Does hiding what a map points at change the word? The curve "
    "hides the patches each map ranks highest; the counterfactual captions the picture again with the patches you "
    "choose hidden. Hidden patches are painted in the image's mean colour (what the model then sees). Click a square "
    "of the picture to hide it or show it again.": (
        "يُظهر الانتباه أين *يمكن* أن تتدفق المعلومات. هل يغيّر إخفاءُ ما تشير إليه الخريطة الكلمةَ؟ يخفي المنحنى الرقع "
        "التي تضعها كل خريطة في المقدمة؛ ويعيد الاختبار المضاد وصف الصورة مع إخفاء الرقع التي تختارها. تُطلى الرقع "
        "المخفية بمتوسط لون الصورة (وهذا ما يراه النموذج عندئذ). انقر مربعًا من الصورة لإخفائه أو إظهاره مجددًا.",
        "注意力显示信息*可能*流向哪里。隐藏注意力图所指的地方会改变这个词吗?曲线隐藏每张图排名最高的图块;反事实实验在"
        "隐藏你选的图块后重新描述图片。隐藏的图块涂成图像的平均颜色(模型随后看到的就是这样)。点击图片上的方格可隐藏或"
        "重新显示它。"),
    "Draw the deletion curve for the selected token": ("ارسم منحنى الحذف للرمز المختار", "为所选词元画删除曲线"),
    "Click patches to hide them": ("انقر الرقع لإخفائها", "点击图块来隐藏"),
    "Map": ("الخريطة", "注意力图"),
    "Patches to hide (top k)": ("الرقع المراد إخفاؤها (أعلى k)", "要隐藏的图块(前 k 个)"),
    "Hide the top k of this map": ("أخفِ أعلى k من هذه الخريطة", "隐藏这张图的前 k 个"),
    "Show every patch again": ("أظهر كل الرقع مجددًا", "重新显示所有图块"),
    "Caption again with these patches hidden": ("صِف مجددًا مع إخفاء هذه الرقع", "隐藏这些图块后重新描述"),
    # the Video tab
    "Upload a short clip. The model reads a few frames spread evenly over it (6 for the GIT video models), each as "
    "its own block of image tokens with a learned frame embedding, then captions it or answers your question.": (
        "ارفع مقطعًا قصيرًا. يقرأ النموذج بضعة إطارات موزعة بالتساوي عليه (6 لنماذج فيديو GIT)، كلٌّ منها كتلة مستقلة من "
        "رموز الصورة مع تضمين إطار مُتعلَّم، ثم يصفه أو يجيب عن سؤالك.",
        "上传一段短视频。模型读取均匀分布在其中的几帧(GIT 视频模型读 6 帧),每帧是一块独立的图像词元,带一个学到的帧嵌入,"
        "然后描述视频或回答你的问题。"),
    "Question (optional: leave empty for a caption)": ("السؤال (اختياري: اتركه فارغًا للحصول على وصف)",
                                                       "问题(可选:留空则生成描述)"),
    "Describe the video": ("صِف الفيديو", "描述视频"),
    # the Attention mask tab
    "GIT reads one sequence: the image tokens first, then the text. Its mask says which position may look at which: "
    "the image block sees itself in both directions, text sees the whole image and only the text before it. This "
    "diagram is drawn from the very rule the model applies (`layers.visibility` on the ranks `cumsum(mask_ar)` that "
    "`GitForCausalLM.prefill` builds), not from a second implementation; each tab's explorer also shows the mask of "
    "its own result.": (
        "يقرأ GIT تسلسلًا واحدًا: رموز الصورة أولًا ثم النص. ويحدد قناعه أي موضع يمكنه النظر إلى أي موضع: كتلة الصورة "
        "ترى نفسها في الاتجاهين، والنص يرى الصورة كاملة والنص الذي قبله فقط. يُرسم هذا المخطط من القاعدة نفسها التي "
        "يطبقها النموذج (`layers.visibility` على الرتب `cumsum(mask_ar)` التي يبنيها `GitForCausalLM.prefill`)، لا من "
        "تطبيق ثانٍ؛ ومستكشف كل تبويب يُظهر أيضًا قناع نتيجته.",
        "GIT 读取一个序列:先是图像词元,然后是文本。它的掩码规定哪个位置可以看哪个位置:图像块双向看到自己,文本看到整张"
        "图像以及它之前的文本。这张图正是由模型所用的规则画出的(`GitForCausalLM.prefill` 构造的秩 `cumsum(mask_ar)` 上"
        "的 `layers.visibility`),而不是另一套实现;每个标签页的探索器也会显示它自己结果的掩码。"),
    "Input": ("الإدخال", "输入"),
    "Question (optional)": ("السؤال (اختياري)", "问题(可选)"),
    "Text generated so far": ("النص المولَّد حتى الآن", "目前已生成的文本"),
    "Draw the mask": ("ارسم القناع", "画出掩码"),
    # the PaliGemma tab
    "PaliGemma (Google: a SigLIP vision encoder + the Gemma language model) answers *prompts*: `caption en`, "
    "`answer en what is this?`, `detect cat ; dog` (boxes), `segment cat` (masks), `ocr`. Build a prompt with the "
    "task menu or type your own, then click any token of the answer to see where it looked.": (
        "يجيب PaliGemma (من Google: مُرمِّز رؤية SigLIP + نموذج اللغة Gemma) عن *موجّهات*: `caption ar`، "
        "`answer ar ما هذا؟`، `detect cat ; dog` (صناديق)، `segment cat` (أقنعة)، `ocr`. ابنِ موجّهًا من قائمة المهام أو "
        "اكتب موجّهك، ثم انقر أي رمز من الإجابة لترى أين نظر.",
        "PaliGemma(Google:SigLIP 视觉编码器 + Gemma 语言模型)回答*提示*:`caption zh`、`answer zh 这是什么?`、"
        "`detect cat ; dog`(框)、`segment cat`(掩码)、`ocr`。用任务菜单生成提示或自己输入,然后点击回答中的任意词元,"
        "看看它在看哪里。"),
    "### PaliGemma: coming soon\nThis tab will run PaliGemma (SigLIP + Gemma) with our own code: `caption en`, "
    "`answer en …` and `detect …` prompts, `<loc>` boxes drawn on the image, and its prefix-LM attention mask beside "
    "GIT's. It is not in this build yet: nothing here runs.": (
        "### PaliGemma: قريبًا\nسيشغّل هذا التبويب PaliGemma (SigLIP + Gemma) بشيفرتنا: موجّهات `caption en` و"
        "`answer en …` و`detect …`، وصناديق `<loc>` مرسومة على الصورة، وقناع انتباه نموذج البادئة بجانب قناع GIT. ليس "
        "في هذا الإصدار بعد: لا شيء هنا يعمل.",
        "### PaliGemma:即将推出\n这个标签页将用我们自己的代码运行 PaliGemma(SigLIP + Gemma):`caption en`、"
        "`answer en …` 和 `detect …` 提示,在图像上画出 `<loc>` 框,并把它的前缀语言模型注意力掩码与 GIT 的并排显示。"
        "这个版本还没有:这里什么都不会运行。"),
    "**No PaliGemma model is available here:** the Hub cannot be reached and none is cached. To run PaliGemma, either "
    "(1) accept Google's licence on huggingface.co for the model (e.g. google/paligemma-3b-mix-224), create a read "
    "token, and start the app with `HF_TOKEN` set to it (on a Space: a secret named HF_TOKEN), with the Hugging Face "
    "Hub reachable; or (2) type the path of a local folder holding a PaliGemma checkpoint (config.json, "
    "*.safetensors, tokenizer.json, preprocessor_config.json) in 'Local model folder'.": (
        "**لا يتوفر هنا أي نموذج PaliGemma:** لا يمكن الوصول إلى Hub ولا يوجد نموذج محفوظ. لتشغيل PaliGemma، إما (1) "
        "اقبل ترخيص Google على huggingface.co للنموذج (مثل google/paligemma-3b-mix-224)، وأنشئ رمز قراءة، وشغّل "
        "التطبيق مع ضبط `HF_TOKEN` عليه (في Space: سرّ اسمه HF_TOKEN)، مع إمكانية الوصول إلى Hugging Face Hub؛ أو (2) "
        "اكتب مسار مجلد محلي فيه نقطة حفظ PaliGemma (config.json و*.safetensors وtokenizer.json "
        "وpreprocessor_config.json) في «مجلد النموذج المحلي».",
        "**这里没有可用的 PaliGemma 模型**:无法连接 Hub,也没有缓存。要运行 PaliGemma,可以 (1) 在 huggingface.co 上"
        "接受该模型的 Google 许可(例如 google/paligemma-3b-mix-224),创建一个读取令牌,并在设置 `HF_TOKEN` 为该令牌的"
        "情况下启动应用(在 Space 上:名为 HF_TOKEN 的密钥),同时能连接 Hugging Face Hub;或者 (2) 在“本地模型文件夹”中"
        "输入一个包含 PaliGemma 检查点(config.json、*.safetensors、tokenizer.json、preprocessor_config.json)的本地"
        "文件夹路径。"),
    "Task": ("المهمة", "任务"),
    "caption": ("وصف", "描述"),
    "describe": ("وصف مفصّل", "详细描述"),
    "answer a question": ("أجب عن سؤال", "回答问题"),
    "detect objects": ("اكتشف الأجسام", "检测物体"),
    "segment objects": ("جزّئ الأجسام", "分割物体"),
    "read text (OCR)": ("اقرأ النص (OCR)", "读取文字(OCR)"),
    "Language": ("اللغة", "语言"),
    "caption / describe / answer: en, ar, zh, fr, de, es, … (follows the page's language where the model reads it; "
    "the embedded Shapes PaliGemma reads English only)": (
        "للوصف والإجابة: en، ar، zh، fr، de، es، … (تتبع لغة الصفحة حيث يقرؤها النموذج؛ PaliGemma الأشكال المضمّن لا "
        "يقرأ إلا الإنجليزية)",
        "描述 / 详细描述 / 回答:en、ar、zh、fr、de、es……(在模型能读的情况下跟随页面语言;内置的形状 PaliGemma 只读英文)"),
    "Question or objects": ("السؤال أو الأجسام", "问题或物体"),
    "Prompt (built from the task, or type your own)": ("الموجّه (مبني من المهمة، أو اكتب موجّهك)", "提示(由任务生成,或自己输入)"),
    "Typed control tokens such as <image> are read as plain text.": (
        "رموز التحكم المكتوبة مثل <image> تُقرأ نصًا عاديًا.", "输入的控制词元(如 <image>)按普通文本读取。"),
    "Google's PaliGemma models are gated: they need HF_TOKEN and an accepted licence.": (
        "نماذج PaliGemma من Google مقيَّدة: تحتاج إلى HF_TOKEN وترخيص مقبول.", "Google 的 PaliGemma 模型需要授权:需要 HF_TOKEN 和已接受的许可。"),
    "Local model folder (optional, used instead of the menu)": ("مجلد النموذج المحلي (اختياري، بدلًا من القائمة)",
                                                                "本地模型文件夹(可选,代替菜单)"),
    "Run PaliGemma": ("شغّل PaliGemma", "运行 PaliGemma"),
    "Answer (with <loc>/<seg> tokens as generated)": ("الإجابة (مع رموز <loc>/<seg> كما وُلِّدت)",
                                                      "回答(包含生成的 <loc>/<seg> 词元)"),
    "Boxes and masks": ("الصناديق والأقنعة", "框和掩码"),
    "Result data, as the API returns it (JSON)": ("بيانات النتيجة كما تعيدها الواجهة البرمجية (JSON)",
                                                  "结果数据,与 API 返回的相同(JSON)"),
    "Result": ("النتيجة", "结果"),
    "Shapes examples (embedded PaliGemma; results cached after first use, greedy decoding)": (
        "أمثلة الأشكال (PaliGemma المضمّن؛ تُحفظ النتائج بعد أول استخدام، فك ترميز جشع)",
        "形状示例(内置 PaliGemma;首次使用后缓存结果,贪心解码)"),
    "Prefix-LM mask: PaliGemma beside GIT": ("قناع نموذج البادئة: PaliGemma بجانب GIT", "前缀语言模型掩码:PaliGemma 与 GIT 并排"),
    "**PaliGemma (prefix-LM):** the image and the prompt form one prefix block that sees itself in both directions "
    "(token type 0, one rank), so the prompt can shape how the image is read; each answer token (type 1) sees the "
    "whole prefix and the answer up to itself.\n\n**GIT:** only the image is a bidirectional block; every text token, "
    "prompt (question) included, is causal and sees the whole image and the text before it; the image never sees the "
    "text.\n\nBoth diagrams are drawn for the same prompt and answer: PaliGemma's from `model.mask_for` (the mask it "
    "really uses), GIT's from its own rule.": (
        "**PaliGemma (نموذج البادئة):** تشكّل الصورة والموجّه كتلة بادئة واحدة ترى نفسها في الاتجاهين (نوع الرمز 0، رتبة "
        "واحدة)، فيمكن للموجّه أن يؤثر في طريقة قراءة الصورة؛ وكل رمز من الإجابة (النوع 1) يرى البادئة كاملة والإجابة حتى "
        "نفسه.\n\n**GIT:** الصورة وحدها كتلة ثنائية الاتجاه؛ وكل رمز نصي، بما فيه الموجّه (السؤال)، سببي يرى الصورة "
        "كاملة والنص الذي قبله؛ والصورة لا ترى النص أبدًا.\n\nيُرسم المخططان للموجّه والإجابة نفسيهما: مخطط PaliGemma من "
        "`model.mask_for` (القناع الذي يستخدمه فعلًا)، ومخطط GIT من قاعدته.",
        "**PaliGemma(前缀语言模型)**:图像和提示组成一个前缀块,双向看到自己(词元类型 0,同一个秩),所以提示可以影响"
        "图像的读法;每个回答词元(类型 1)看到整个前缀和到它为止的回答。\n\n**GIT**:只有图像是双向块;每个文本词元,包括"
        "提示(问题),都是因果的,看到整张图像和它之前的文本;图像永远看不到文本。\n\n两张图用同一个提示和回答画出:"
        "PaliGemma 的来自 `model.mask_for`(它真正使用的掩码),GIT 的来自它自己的规则。"),
    "Answer tokens to draw (as text)": ("رموز الإجابة المراد رسمها (نصًا)", "要画的回答词元(以文本形式)"),
    "Draw both masks": ("ارسم القناعين", "画出两个掩码"),
}

__all__ = ["TAB_TEXT"]
