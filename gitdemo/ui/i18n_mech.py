"""The browser's table, continued (`gitdemo.ui.i18n.TABLE` takes these in): the labels of "Attention step by step",
"The sampling knobs, live" and the Lesson tab. English -> (Arabic, Simplified Chinese)."""
from __future__ import annotations

MECH_LABELS: dict[str, tuple[str, str]] = {
    # attention step by step (ui.mechanism)
    "Attention step by step: scores, mask, softmax": ("الانتباه خطوة بخطوة: الدرجات، القناع، softmax",
                                                      "逐步看注意力:得分、掩码、softmax"),
    "How one head turns scores into attention: each key gets a score q·k/√d (the query's vector times the key's, "
    "scaled), the mask blocks the keys this query may not read, and softmax turns the open scores into weights that "
    "sum to 1. Pick a token above, a layer and a head, then open this panel or press the button.": (
        "كيف يحوّل رأس واحد الدرجات إلى انتباه: كل مفتاح يأخذ درجة q·k/√d (متجه الاستعلام مضروبًا في متجه المفتاح، "
        "مع تحجيم)، والقناع يحجب المفاتيح التي لا يجوز لهذا الاستعلام قراءتها، وsoftmax يحوّل الدرجات المفتوحة إلى أوزان "
        "مجموعها 1. اختر رمزًا في الأعلى وطبقة ورأسًا، ثم افتح هذه اللوحة أو اضغط الزر.",
        "一个头如何把得分变成注意力:每个键得到一个得分 q·k/√d(查询向量乘以键向量,再缩放),掩码屏蔽这个查询不能读取的键,"
        "softmax 把开放的得分变成总和为 1 的权重。在上方选一个词元、一层和一个头,然后打开此面板或按下按钮。"),
    "Whose query": ("استعلام مَن", "谁的查询"),
    "the selected token's query": ("استعلام الرمز المختار", "所选词元的查询"),
    "an image patch's own query": ("استعلام رقعة من الصورة", "某个图像图块自己的查询"),
    "Patch row": ("صف الرقعة", "图块的行"),
    "Patch column": ("عمود الرقعة", "图块的列"),
    "Patch frame (video)": ("إطار الرقعة (فيديو)", "图块所在帧(视频)"),
    "Show this step for the selected token, layer and head": ("اعرض هذه الخطوة للرمز والطبقة والرأس المختارة",
                                                              "为所选的词元、层和头显示这一步"),
    # the sampling knobs (ui.knobs)
    "The sampling knobs, live: temperature, top-k, top-p": ("مقابض أخذ العيّنات مباشرةً: درجة الحرارة، top-k، top-p",
                                                            "实时调节采样:温度、top-k、top-p"),
    "Generation picks each token from a probability distribution. Temperature reshapes it (below 1: sharper, above 1: "
    "flatter), top-k keeps the k likeliest tokens, top-p keeps the smallest set whose probability reaches p. Move the "
    "sliders: the bars change without generating again.": (
        "التوليد يختار كل رمز من توزيع احتمالي. درجة الحرارة تعيد تشكيله (أقل من 1: أحدّ، أكثر من 1: أكثر تسطحًا)، وtop-k "
        "يُبقي أرجح k رموز، وtop-p يُبقي أصغر مجموعة يبلغ احتمالها p. حرّك المنزلقات: تتغير الأشرطة دون توليد جديد.",
        "生成时每个词元都从一个概率分布中选出。温度改变它的形状(小于 1:更尖,大于 1:更平),top-k 保留最可能的 k 个词元,"
        "top-p 保留概率总和达到 p 的最小集合。移动滑块:条形会变化,无需重新生成。"),
    "Temperature": ("درجة الحرارة", "温度"),
    "Top-k (0: off)": ("Top-k (0: متوقف)", "Top-k(0:关闭)"),
    "Top-p (1: off)": ("Top-p (1: متوقف)", "Top-p(1:关闭)"),
    "Sample again: 100 draws": ("اسحب من جديد: 100 سحبة", "再次采样:抽取 100 次"),
    # the Lesson tab (tabs/lesson.py)
    "Lesson": ("الدرس", "课程"),
    "Lesson step": ("خطوة الدرس", "课程步骤"),
    "Previous step": ("الخطوة السابقة", "上一步"),
    "Next step": ("الخطوة التالية", "下一步"),
    "Set up this step in the app (one click)": ("جهّز هذه الخطوة في التطبيق (بنقرة واحدة)", "在应用中设置这一步(一键)"),
    "Show the answer": ("اعرض الإجابة", "显示答案"),
}
