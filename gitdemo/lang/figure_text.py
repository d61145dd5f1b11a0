"""What the figures say (`gitdemo.viz`, `gitdemo.explain`): English template -> (Arabic, Simplified Chinese).

Fields in braces are filled by `gitdemo.lang.say` and must appear in all three (tests/test_i18n.py checks).
Tokens stay as the model wrote them (English words); digits stay Western.
"""
from __future__ import annotations

FIGURE_TEXT: dict[str, tuple[str, str]] = {
    # the heatmap and the small multiples (viz.overlay)
    "mean over layers and heads": ("متوسط الطبقات والرؤوس", "所有层和头的平均"),
    "'{token}' — {view}": ("«{token}» — {view}", "“{token}” — {view}"),
    "Where '{token}' looked ({view}): each of the {rows} x {cols} squares is one image patch, brighter = more "
    "attention; the peak is at row {row}, column {col}.": (
        "أين نظر «{token}» ({view}): كل مربع من المربعات {rows} × {cols} رقعة واحدة من الصورة، والأفتح = انتباه "
        "أكثر؛ والقمة في الصف {row}، العمود {col}.",
        "“{token}”看了哪里({view}):{rows} × {cols} 个方格中每一个都是一个图块,越亮 = 注意力越多;峰值在第 {row} 行、"
        "第 {col} 列。"),
    "{lo} … {hi} (shared)": ("{lo} … {hi} (مشترك)", "{lo} … {hi}(共用)"),
    "each panel: its own min … max": ("كل لوحة: من أدناها … إلى أعلاها", "每个小图:各自的最小值 … 最大值"),
    "low": ("منخفض", "低"),
    "high": ("مرتفع", "高"),
    "one colour scale for all panels, so brightness compares across them": (
        "مقياس ألوان واحد لكل اللوحات، فتُقارن الإضاءة بينها", "所有小图共用一个色标,所以亮度可以互相比较"),
    "each panel scaled to its own range, so it shows its pattern, not its strength": (
        "كل لوحة بمداها الخاص، فتُظهر نمطها لا قوتها", "每个小图按自己的范围缩放,显示的是图案而不是强弱"),
    "{what}; {scale}.": ("{what}؛ {scale}.", "{what};{scale}。"),
    "{scale}.": ("{scale}.", "{scale}。"),
    "frame {n}": ("الإطار {n}", "第 {n} 帧"),
    "share of the token's attention on the image, per frame": (
        "حصة كل إطار من انتباه الرمز على الصورة", "该词元对图像的注意力在各帧的份额"),
    "The {n} frames the model read, each with where '{token}' looked (one colour scale); the bars split its "
    "attention on the image across frames: most on {frame} ({share}).": (
        "الإطارات الـ{n} التي قرأها النموذج، وعلى كل منها أين نظر «{token}» (مقياس ألوان واحد)؛ وتقسم الأعمدة "
        "انتباهه على الصورة بين الإطارات: أكثره على {frame} ({share}).",
        "模型读取的 {n} 帧,每帧上显示“{token}”看了哪里(共用一个色标);柱状图把它对图像的注意力分到各帧:最多的是"
        "{frame}({share})。"),
    # bars (viz.bars)
    "Step {step}: next-token probabilities": ("الخطوة {step}: احتمالات الرمز التالي", "第 {step} 步:下一个词元的概率"),
    "it chose '{token}' (p = {p})": ("واختار «{token}» (p = {p})", "它选了“{token}”(p = {p})"),
    "it chose '{token}', which is not among them (sampling)": (
        "واختار «{token}» وهو ليس منها (العيّنات)", "它选了“{token}”,不在其中(采样)"),
    "Step {step}: the {n} tokens the model found most likely to come next; {how}.": (
        "الخطوة {step}: الرموز الـ{n} التي رآها النموذج الأرجح تاليًا؛ {how}.",
        "第 {step} 步:模型认为接下来最可能的 {n} 个词元;{how}。"),
    "image patches": ("رقع الصورة", "图块"),
    "CLS sink": ("مصرف CLS", "CLS 汇点"),
    "text": ("النص", "文本"),
    "Where '{token}' put its attention": ("أين وضع «{token}» انتباهه", "“{token}”把注意力放在哪里"),
    "'{token}' puts {image} of its attention on image patches, {cls} on the CLS token(s) (a 'sink' that soaks up "
    "attention) and {text} on the text (mean over layers and heads).": (
        "يضع «{token}» {image} من انتباهه على رقع الصورة، و{cls} على رمز (رموز) CLS (وهو «مصرف» يمتص الانتباه)، "
        "و{text} على النص (متوسط الطبقات والرؤوس).",
        "“{token}”把 {image} 的注意力放在图块上,{cls} 放在 CLS 词元上(一个吸走注意力的“汇点”),{text} 放在文本上"
        "(所有层和头的平均)。"),
    # which tokens read a patch (viz.readers)
    "even spread": ("توزيع متساوٍ", "均匀分布"),
    "Which tokens read {where}": ("أي الرموز قرأت {where}", "哪些词元读了{where}"),
    "Each bar is one generated token: the share of its image attention that went to {where} (mean over layers and "
    "heads). The dashed line is an even spread over all patches; '{token}' read this patch most ({ratio} x an even "
    "spread).": (
        "كل عمود رمز مولَّد واحد: حصة انتباهه على الصورة التي ذهبت إلى {where} (متوسط الطبقات والرؤوس). الخط المتقطع "
        "توزيع متساوٍ على كل الرقع؛ و«{token}» قرأ هذه الرقعة أكثر من غيره ({ratio} × التوزيع المتساوي).",
        "每根柱子是一个生成的词元:它对图像的注意力中落在{where}的份额(所有层和头的平均)。虚线是在所有图块上均匀分布;"
        "“{token}”读这个图块最多(均匀分布的 {ratio} 倍)。"),
    "decoder layer": ("طبقة فك الترميز", "解码器层"),
    "Per layer: {where}": ("لكل طبقة: {where}", "逐层:{where}"),
    "The same values layer by layer (rows: generated tokens, columns: decoder layers, mean over heads); the "
    "strongest reading of {where} is '{token}' in layer {layer}.": (
        "القيم نفسها طبقةً طبقة (الصفوف: الرموز المولَّدة، الأعمدة: طبقات فك الترميز، متوسط الرؤوس)؛ وأقوى قراءة "
        "لـ{where} هي لـ«{token}» في الطبقة {layer}.",
        "同样的数值逐层显示(行:生成的词元,列:解码器层,对头取平均);读{where}最多的是第 {layer} 层的“{token}”。"),
    # the deletion curve (viz.curves)
    "random patches": ("رقع عشوائية", "随机图块"),
    "patches hidden (%)": ("الرقع المخفية (%)", "隐藏的图块(%)"),
    "probability drop": ("انخفاض الاحتمال", "概率下降"),
    "Deletion test for '{token}' (p = {p})": ("اختبار الحذف لـ«{token}» (p = {p})", "“{token}”的删除测试(p = {p})"),
    "Hide the patches each map ranks highest (painted in the image's mean colour) and watch the probability of "
    "'{token}' fall (p = {p} on the whole image). A map that shows what the model used falls fast; the dashed line "
    "hides as many random patches (mean of several draws).": (
        "أخفِ الرقع التي تضعها كل خريطة في المقدمة (تُطلى بمتوسط لون الصورة) وراقب احتمال «{token}» وهو ينخفض "
        "(p = {p} على الصورة كاملة). الخريطة التي تُظهر ما استخدمه النموذج تنخفض بسرعة؛ والخط المتقطع يخفي العدد نفسه "
        "من الرقع العشوائية (متوسط عدة سحبات).",
        "隐藏每张图排名最高的图块(涂成图像的平均颜色),看“{token}”的概率如何下降(整张图像上 p = {p})。能显示模型"
        "实际所用信息的图下降得快;虚线隐藏同样多的随机图块(多次抽取的平均)。"),
    # the mask diagram (viz.mask, explain.mask)
    "image": ("الصورة", "图像"),
    "video": ("الفيديو", "视频"),
    "prompt": ("الموجّه", "提示"),
    "output": ("المخرَج", "输出"),
    "answer": ("الإجابة", "回答"),
    "all visible": ("كله مرئي", "全部可见"),
    "all masked": ("كله محجوب", "全部遮蔽"),
    "causal": ("سببي", "因果"),
    "partly visible": ("مرئي جزئيًا", "部分可见"),
    "{q} → {k}: {verdict}": ("{q} ← {k}: {verdict}", "{q} → {k}:{verdict}"),
    "{head} — {why}.": ("{head} — {why}.", "{head} — {why}。"),
    "{head}.": ("{head}.", "{head}。"),
    "every image token sees every other one, in both directions: the picture is read as a whole": (
        "كل رمز من الصورة يرى كل رمز آخر، في الاتجاهين: تُقرأ الصورة كاملةً", "每个图像词元都能看到其他所有图像词元,双向:整张图被当作一个整体来读"),
    "each token sees itself and the tokens before it, never a later one, which is what lets the model write one "
    "token at a time": (
        "كل رمز يرى نفسه والرموز التي قبله، ولا يرى ما بعده أبدًا، وهذا ما يتيح للنموذج أن يكتب رمزًا بعد رمز",
        "每个词元看得到自己和它前面的词元,永远看不到后面的,这正是模型能一次写一个词元的原因"),
    "these tokens see each other in both directions (read as a whole, like a prefix)": (
        "هذه الرموز يرى بعضها بعضًا في الاتجاهين (تُقرأ كاملةً، كبادئة)", "这些词元双向互相可见(作为整体来读,就像前缀)"),
    "the image never sees the text, so its encoding does not depend on the words: it is computed once and its keys "
    "and values are cached for every generated token": (
        "الصورة لا ترى النص أبدًا، فترميزها لا يعتمد على الكلمات: يُحسب مرة واحدة وتُخزَّن مفاتيحه وقيمه لكل رمز مولَّد",
        "图像永远看不到文本,所以它的编码不依赖文字:只计算一次,它的键和值会为每个生成的词元缓存起来"),
    "every {q} token sees the whole {k}": ("كل رمز من {q} يرى {k} كاملة", "每个{q}词元都能看到整个{k}"),
    "every {q} token sees all of the earlier {k}": ("كل رمز من {q} يرى كل {k} السابق", "每个{q}词元都能看到前面的全部{k}"),
    "no {q} token sees the later {k}: the future stays hidden": (
        "لا يرى أي رمز من {q} {k} اللاحق: يبقى المستقبل مخفيًا", "没有任何{q}词元能看到后面的{k}:未来保持隐藏"),
    "Attention mask": ("قناع الانتباه", "注意力掩码"),
    "{name}\n({n} tokens)": ("{name}\n({n} رمزًا)", "{name}\n({n} 个词元)"),
    "keys (what is looked at)": ("المفاتيح (ما يُنظر إليه)", "键(被看的)"),
    "queries (who looks)": ("الاستعلامات (من ينظر)", "查询(谁在看)"),
    "{title}  (light = may attend, dark = masked)": ("{title}  (فاتح = يمكنه الانتباه، داكن = محجوب)",
                                                     "{title}  (浅色 = 可以关注,深色 = 被遮蔽)"),
    "The mask the model used for this input: {s} positions ({parts}); {visible} of {total} query-key pairs may "
    "attend.": (
        "القناع الذي استخدمه النموذج لهذا الإدخال: {s} موضعًا ({parts})؛ و{visible} من {total} زوج استعلام-مفتاح "
        "يمكنها الانتباه.",
        "模型对此输入使用的掩码:{s} 个位置({parts});{total} 个查询-键对中有 {visible} 个可以关注。"),
    "{name}: prefix-LM mask": ("{name}: قناع نموذج البادئة", "{name}:前缀语言模型掩码"),
    "GIT's rule on the same sequence": ("قاعدة GIT على التسلسل نفسه", "GIT 的规则用于同一序列"),
    "Mask of {name}": ("قناع {name}", "{name} 的掩码"),
    "the model": ("النموذج", "模型"),
    # the explorer's figures (explain.views)
    "head {n}": ("الرأس {n}", "第 {n} 个头"),
    "mean over layers": ("متوسط الطبقات", "对层取平均"),
    "layer {n}": ("الطبقة {n}", "第 {n} 层"),
    "raw weights (CLS sink kept in the total)": ("أوزان خام (مصرف CLS محسوب في المجموع)", "原始权重(CLS 汇点计入总数)"),
    " (frame {n})": (" (الإطار {n})", "(第 {n} 帧)"),
    "all {n} decoder layers for '{token}'{where} ({head})": (
        "كل طبقات فك الترميز الـ{n} لـ«{token}»{where} ({head})", "“{token}”{where}的全部 {n} 个解码器层({head})"),
    "averaged over layers": ("بمتوسط الطبقات", "对层取平均"),
    "of layer {n}": ("في الطبقة {n}", "第 {n} 层的"),
    "all {n} heads {which} for '{token}'{where}": ("كل الرؤوس الـ{n} {which} لـ«{token}»{where}",
                                                  "“{token}”{where}的全部 {n} 个头({which})"),
    "rollout": ("الانتباه المتراكم", "注意力展开"),
    "Raw attention of '{token}' (left, mean over layers and heads) beside attention rollout (right: attention "
    "multiplied through all layers with the residual path). Attention is not explanation: these show where "
    "information could flow, not why the model chose the word.": (
        "الانتباه الخام لـ«{token}» (يسارًا، متوسط الطبقات والرؤوس) بجانب الانتباه المتراكم (يمينًا: الانتباه مضروبًا "
        "عبر كل الطبقات مع المسار المتبقي). الانتباه ليس تفسيرًا: هذه تُظهر أين يمكن أن تتدفق المعلومات، لا لماذا اختار "
        "النموذج الكلمة.",
        "“{token}”的原始注意力(左,所有层和头的平均)与注意力展开(右:注意力连同残差路径逐层相乘)并排。注意力不是解释:"
        "它们显示信息可能流向哪里,而不是模型为什么选了这个词。"),
    "vision layer {n}": ("طبقة الرؤية {n}", "视觉第 {n} 层"),
    "the vision encoder's own attention{where}: how its CLS token reads the patches in each of its {n} layers "
    "({head}), before any text exists": (
        "انتباه مُرمِّز الرؤية نفسه{where}: كيف يقرأ رمز CLS فيه الرقع في كل طبقة من طبقاته الـ{n} ({head})، قبل وجود "
        "أي نص",
        "视觉编码器自身的注意力{where}:在任何文本出现之前,它的 CLS 词元在 {n} 层中每一层如何读取图块({head})"),
    "Step {step} of {n}: **{token}** — the top candidates were {top}.": (
        "الخطوة {step} من {n}: **{token}** — أبرز المرشحين كانوا {top}.",
        "第 {step} 步,共 {n} 步:**{token}** — 最可能的候选是 {top}。"),
    # the main heatmap's rollout and relevancy views
    "attention rollout (all layers, heads averaged, residual path mixed in)": (
        "تراكم الانتباه (كل الطبقات، بمتوسط الرؤوس، مع المسار المتبقي)", "注意力累积(所有层,头取平均,并混入残差路径)"),
    "**Attention rollout** (Abnar & Zuidema): attention multiplied through all layers with the residual path; the "
    "layer and head choices apply to raw attention only.": (
        "**تراكم الانتباه** (Abnar و Zuidema): الانتباه مضروبًا عبر كل الطبقات مع المسار المتبقي؛ اختيارا الطبقة "
        "والرأس يخصّان الانتباه الخام فقط.",
        "**注意力累积**(Abnar 与 Zuidema):把注意力连同残差路径逐层相乘;层和头的选择只作用于原始注意力。"),
    "relevancy (Chefer et al. 2021)": ("الصلة (Chefer وزملاؤه 2021)", "相关性(Chefer 等,2021)"),
    "**Relevancy** (Chefer, Gur & Wolf 2021): each attention edge of every layer weighted by how much strengthening "
    "it raises this token's logit (gradient x attention, negatives clipped, heads averaged), multiplied through the "
    "layers; bright = pushed the model towards this token. The layer and head choices apply to raw attention only.": (
        "**الصلة** (Chefer وGur وWolf 2021): كل وصلة انتباه في كل طبقة موزونة بمقدار ما يرفع تقويتُها قيمةَ هذا "
        "الرمز (التدرّج × الانتباه، مع حذف السالب وأخذ متوسط الرؤوس)، مضروبة عبر الطبقات؛ الساطع = دفع النموذج نحو "
        "هذا الرمز. اختيارا الطبقة والرأس يخصّان الانتباه الخام فقط.",
        "**相关性**(Chefer、Gur 与 Wolf,2021):每一层的每条注意力边按“加强它会让该词元的 logit 提高多少”加权"
        "(梯度 × 注意力,去掉负值,头取平均),再逐层相乘;越亮 = 越把模型推向这个词元。层和头的选择只作用于原始注意力。"),
    "it has not been computed for this result.": ("لم تُحسب لهذه النتيجة.", "尚未为这个结果计算。"),
    "**Relevancy is not available here:** {why} The heatmap shows raw attention instead.": (
        "**الصلة غير متاحة هنا:** {why} تعرض الخريطة الحرارية الانتباه الخام بدلًا منها.",
        "**这里无法显示相关性:**{why} 热力图改为显示原始注意力。"),
    "this result carries no input to recompute it from; generate again.": (
        "هذه النتيجة لا تحمل مدخلًا يُعاد الحساب منه؛ ولّد من جديد.", "这个结果没有保存可用于重新计算的输入;请重新生成。"),
    "Computed on the exact (fp32) model: int8 layers give no gradients.": (
        "حُسبت على النموذج الدقيق (fp32): طبقات int8 لا تعطي تدرّجات.", "在精确(fp32)模型上计算:int8 层不提供梯度。"),
    "the backward pass failed ({error}).": ("فشل المرور العكسي ({error}).", "反向传播失败({error})。"),
    "Maps of all {n} tokens computed once for this result in {seconds} s (one forward, one backward per token), then "
    "reused.": ("خرائط كل الرموز ({n}) حُسبت مرة واحدة لهذه النتيجة في {seconds} ث (مرور أمامي واحد، ومرور عكسي لكل "
                "رمز)، ثم يُعاد استخدامها.", "这个结果全部 {n} 个词元的图只计算一次,用时 {seconds} 秒(一次前向,每个词元一次反向),之后复用。"),
}

__all__ = ["FIGURE_TEXT"]
