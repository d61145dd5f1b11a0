"""What "Attention step by step" and "The sampling knobs, live" write (gitdemo.ui.scores_html, mechanism, knobs;
the mask rules of gitdemo.explain.scores.REASONS): English template -> (Arabic, Simplified Chinese)."""
from __future__ import annotations

MECH_TEXT: dict[str, tuple[str, str]] = {
    # the mask rules (explain.scores.REASONS)
    "GIT: an image token reads only image tokens, never text": (
        "GIT: رمز الصورة يقرأ رموز الصورة فقط، ولا يقرأ النص أبدًا", "GIT:图像词元只读取图像词元,从不读取文本"),
    "a text token reads only the tokens before it (causal)": (
        "رمز النص يقرأ الرموز التي قبله فقط (سببي)", "文本词元只读取它之前的词元(因果)"),
    "PaliGemma: the prefix (image and prompt) is read both ways, but never the answer after it": (
        "PaliGemma: البادئة (الصورة والموجّه) تُقرأ في الاتجاهين، لكنها لا تقرأ الإجابة التي بعدها أبدًا",
        "PaliGemma:前缀(图像和提示)双向互读,但从不读取其后的回答"),
    "Gemma 2: this layer reads only a window of recent tokens": (
        "Gemma 2: هذه الطبقة تقرأ نافذة من الرموز الأخيرة فقط", "Gemma 2:这一层只读取最近词元的一个窗口"),
    "padding: not a real token": ("حشو: ليس رمزًا حقيقيًا", "填充:不是真实的词元"),
    # the panel (ui.mechanism, ui.scores_html)
    "Generate something above, pick a token, a layer and a head, then press the button.": (
        "ولِّد شيئًا في الأعلى، واختر رمزًا وطبقة ورأسًا، ثم اضغط الزر.", "先在上方生成内容,选择一个词元、一层和一个头,然后按下按钮。"),
    "This result carries no input to recompute it from; generate again.": (
        "هذه النتيجة لا تحمل مُدخلًا يُعاد الحساب منه؛ ولِّد من جديد.", "这个结果没有可用于重新计算的输入;请重新生成。"),
    "One head of one layer: the explorer shows a mean or max, so this shows layer {layer}, head {head}; pick a number "
    "in the Layer and Head menus for another.": (
        "رأس واحد من طبقة واحدة: المستكشف يعرض متوسطًا أو أقصى قيمة، لذا يُعرض هنا الطبقة {layer} والرأس {head}؛ اختر "
        "رقمًا من قائمتي الطبقة والرأس لغيرهما.",
        "一次只看一层的一个头:探索器显示的是平均或最大值,所以这里显示第 {layer} 层、第 {head} 个头;在“层”和“头”菜单中选一个编号可看其他的。"),
    "token {n} '{token}' (it reads what came before it)": (
        "الرمز {n} '{token}' (يقرأ ما جاء قبله)", "第 {n} 个词元“{token}”(它读取之前的内容)"),
    "Computed at precision {precision}, as the answer was.": (
        "حُسب بالدقة {precision}، كما حُسبت الإجابة.", "以精度 {precision} 计算,与回答相同。"),
    "patch row {row}, column {col}": ("الرقعة في الصف {row}، العمود {col}", "第 {row} 行第 {col} 列的图块"),
    "patch frame {frame}, row {row}, column {col}": (
        "الرقعة في الإطار {frame}، الصف {row}، العمود {col}", "第 {frame} 帧第 {row} 行第 {col} 列的图块"),
    "CLS of frame {frame}": ("رمز CLS للإطار {frame}", "第 {frame} 帧的 CLS"),
    "CLS (image summary token)": ("CLS (رمز ملخّص الصورة)", "CLS(图像摘要词元)"),
    "{name}: score {score}, weight {weight}": ("{name}: الدرجة {score}، الوزن {weight}", "{name}:得分 {score},权重 {weight}"),
    "{name}: score {score}, blocked ({rule}), weight 0": (
        "{name}: الدرجة {score}، محجوب ({rule})، الوزن 0", "{name}:得分 {score},被屏蔽({rule}),权重 0"),
    "raw scores q·k/√d": ("الدرجات الخام q·k/√d", "原始得分 q·k/√d"),
    "weights after softmax": ("الأوزان بعد softmax", "softmax 之后的权重"),
    "arrow keys move between patches": ("مفاتيح الأسهم تنتقل بين الرقع", "方向键在图块之间移动"),
    "the other keys (CLS, prompt, answer) in order: arrow keys move between them": (
        "المفاتيح الأخرى (CLS، الموجّه، الإجابة) بالترتيب: مفاتيح الأسهم تنتقل بينها",
        "其他键(CLS、提示、回答)按顺序排列:方向键在它们之间移动"),
    "1. Scores: q·k/√d for every key": ("1. الدرجات: q·k/√d لكل مفتاح", "1. 得分:每个键的 q·k/√d"),
    "Orange: high score, blue: low. The query's own token has an orange ring.": (
        "البرتقالي: درجة عالية، الأزرق: منخفضة. رمز الاستعلام نفسه محاط بحلقة برتقالية.",
        "橙色:得分高,蓝色:得分低。查询自己的词元带橙色圆环。"),
    "2. The mask: crossed-out keys are blocked": ("2. القناع: المفاتيح المشطوبة محجوبة", "2. 掩码:被划掉的键被屏蔽"),
    "3. Softmax: the weights (they sum to 1; blocked keys get 0)": (
        "3. Softmax: الأوزان (مجموعها 1؛ والمفاتيح المحجوبة تأخذ 0)", "3. Softmax:权重(总和为 1;被屏蔽的键为 0)"),
    "Darker blue: more attention. This is the explorer's heatmap for this layer and head.": (
        "الأزرق الأغمق: انتباه أكثر. هذه هي خريطة الحرارة في المستكشف لهذه الطبقة وهذا الرأس.",
        "蓝色越深:注意力越多。这就是探索器中这一层、这个头的热力图。"),
    "The mask blocks no key for this query: it reads every key.": (
        "القناع لا يحجب أي مفتاح عن هذا الاستعلام: إنه يقرأ كل المفاتيح.", "掩码没有为这个查询屏蔽任何键:它读取所有键。"),
    "{n} keys blocked: {rule}": ("{n} مفتاحًا محجوبًا: {rule}", "{n} 个键被屏蔽:{rule}"),
    "key": ("المفتاح", "键"),
    "score": ("الدرجة", "得分"),
    "score s": ("الدرجة s", "得分 s"),
    "e^(s − max)": ("e^(s − الأقصى)", "e^(s − 最大值)"),
    "÷ sum = weight": ("÷ المجموع = الوزن", "÷ 总和 = 权重"),
    "blocked by": ("محجوب بسبب", "屏蔽原因"),
    "weight": ("الوزن", "权重"),
    "Softmax in numbers for the {n} largest weights: the sum of e^(s − max) over the {m} open keys is {total}.": (
        "Softmax بالأرقام لأكبر {n} أوزان: مجموع e^(s − الأقصى) على المفاتيح المفتوحة وعددها {m} هو {total}.",
        "用数字看 softmax(权重最大的 {n} 个):{m} 个开放键上 e^(s − 最大值) 的总和是 {total}。"),
    "All {n} keys in the model's order": ("كل المفاتيح وعددها {n} بترتيب النموذج", "按模型顺序排列的全部 {n} 个键"),
    "Layer {layer}, head {head}, the query of {query}: {open} keys open, {blocked} blocked by the mask. Largest "
    "weights: {top}. The image patches get {image} of the attention.": (
        "الطبقة {layer}، الرأس {head}، استعلام {query}: {open} مفتاحًا مفتوحًا، و{blocked} محجوبًا بالقناع. أكبر الأوزان: "
        "{top}. تنال رقع الصورة {image} من الانتباه.",
        "第 {layer} 层,第 {head} 个头,{query} 的查询:{open} 个键开放,{blocked} 个被掩码屏蔽。最大的权重:{top}。"
        "图像图块得到 {image} 的注意力。"),
    # the sampling knobs (ui.knobs)
    "token": ("الرمز", "词元"),
    "1. the model's distribution": ("1. توزيع النموذج", "1. 模型的分布"),
    "2. with temperature {t}": ("2. بدرجة حرارة {t}", "2. 温度为 {t}"),
    "3. after top-k {k} and top-p {p}": ("3. بعد top-k {k} وtop-p {p}", "3. 经过 top-k {k} 和 top-p {p}"),
    "sample again: times in {n} draws": ("اسحب من جديد: عدد المرات في {n} سحبة", "再次采样:{n} 次抽取中出现的次数"),
    " (the answer's token)": (" (رمز الإجابة)", "(回答中的词元)"),
    "off": ("متوقف", "关闭"),
    "all other tokens": ("كل الرموز الأخرى", "所有其他词元"),
    "cut (0)": ("مقطوع (0)", "被截去(0)"),
    "Step {step}: {kept} of the {n} likeliest tokens survive top-k and top-p; the answer's token '{token}' has {p} at "
    "stage 3.": (
        "الخطوة {step}: يبقى {kept} من أرجح {n} رمزًا بعد top-k وtop-p؛ ولرمز الإجابة '{token}' الاحتمال {p} في المرحلة 3.",
        "第 {step} 步:最可能的 {n} 个词元中有 {kept} 个经过 top-k 和 top-p 后保留;回答中的词元“{token}”在第 3 阶段的概率是 {p}。"),
    "Stages 2 and 3 are renormalised over the {n} likeliest tokens, which hold {share} of the probability at "
    "temperature 1.": (
        "المرحلتان 2 و3 مُعاد تطبيعهما على أرجح {n} رمزًا، التي تحمل {share} من الاحتمال عند درجة الحرارة 1.",
        "第 2、3 阶段在最可能的 {n} 个词元上重新归一化,这些词元在温度 1 时占 {share} 的概率。"),
    # the Lesson tab (ui.tabs.lesson)
    "What to look at": ("إلامَ تنظر", "看哪里"),
    "Question": ("السؤال", "问题"),
    "Answer": ("الإجابة", "答案"),
    "token {n}": ("الرمز {n}", "第 {n} 个词元"),
    "In the explorer: {token}, {layer}, {head}.": ("في المستكشف: {token}، {layer}، {head}.", "在探索器中:{token},{layer},{head}。"),
    "Then open 'Attention step by step'.": ("ثم افتح 'الانتباه خطوة بخطوة'.", "然后打开“逐步看注意力”。"),
    "Then open 'The sampling knobs, live'.": ("ثم افتح 'مقابض أخذ العيّنات مباشرةً'.", "然后打开“实时调节采样”。"),
    "This step needs a tab this server does not show.": ("هذه الخطوة تحتاج تبويبًا لا يعرضه هذا الخادم.",
                                                          "这一步需要一个本服务器没有显示的标签页。"),
}
