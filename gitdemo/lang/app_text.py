"""What the app's handlers write (status lines, notices, PaliGemma's box list, Test this map, the mask tab, the
error messages without names or numbers): English template -> (Arabic, Simplified Chinese).

`SHARED` holds the few texts both the server (`say`) and the browser's table (`gitdemo.ui.i18n`, as choice
labels) need: the explorer's head menu, the map names of Test this map, the mask tab's input kinds.
"""
from __future__ import annotations

SHARED: dict[str, tuple[str, str]] = {
    "mean over heads": ("متوسط الرؤوس", "对头取平均"),
    "max over heads": ("أقصى قيمة على الرؤوس", "对头取最大"),
    "raw attention": ("الانتباه الخام", "原始注意力"),
    "attention rollout": ("الانتباه المتراكم", "注意力展开"),
    "relevancy (Chefer)": ("الصلة (Chefer)", "相关性(Chefer)"),
    "Each box is 4 `<locNNNN>` tokens: y_min, x_min, y_max, x_max, each a bin out of 1024 over the image's height "
    "or width, so pixel x = NNNN / 1024 x width (and y = NNNN / 1024 x height); 16 `<segNNN>` tokens after a box "
    "are codes a small VQ-VAE decodes into the object's mask.": (
        "كل صندوق 4 رموز `<locNNNN>`: y_min وx_min وy_max وx_max، كل منها خانة من 1024 على ارتفاع الصورة أو عرضها، "
        "فالبكسل x = NNNN / 1024 × العرض (وy = NNNN / 1024 × الارتفاع)؛ و16 رمز `<segNNN>` بعد الصندوق رموزٌ يفكّها "
        "VQ-VAE صغير إلى قناع الجسم.",
        "每个框是 4 个 `<locNNNN>` 词元:y_min、x_min、y_max、x_max,每个都是图像高度或宽度上 1024 个分箱之一,所以像素 "
        "x = NNNN / 1024 × 宽度(y = NNNN / 1024 × 高度);框后的 16 个 `<segNNN>` 词元是编码,由一个小 VQ-VAE 解码成"
        "物体的掩码。"),
}

APP_TEXT: dict[str, tuple[str, str]] = {
    **SHARED,
    # the explorer's status line (ui.explorer)
    "Exploring **{text}** ({n} tokens, model {model}). Click a token, or step through the generation with the "
    "scrubber.": (
        "استكشاف **{text}** ({n} رمزًا، النموذج {model}). انقر رمزًا، أو تنقّل في خطوات التوليد بالشريط.",
        "正在探索 **{text}**({n} 个词元,模型 {model})。点击一个词元,或用进度条逐步查看生成过程。"),
    "Exploring **{text}** ({n} tokens). SigLIP has no class token: the maps cover its {rows} x {cols} patches. "
    "Click a token, or use the scrubber.": (
        "استكشاف **{text}** ({n} رمزًا). ليس في SigLIP رمز تصنيف: تغطي الخرائط رقعه الـ{rows} × {cols}. انقر رمزًا، "
        "أو استخدم الشريط.",
        "正在探索 **{text}**({n} 个词元)。SigLIP 没有分类词元:注意力图覆盖它的 {rows} × {cols} 个图块。点击一个词元,"
        "或使用进度条。"),
    " Maps computed at precision {precision}.": (" حُسبت الخرائط بدقة {precision}.", " 注意力图以{precision}精度计算。"),
    " Pick exact (fp32) above and generate again for the model's exact maps.": (
        " اختر الدقيق (fp32) في الأعلى وولّد مجددًا للحصول على خرائط النموذج الدقيقة.",
        " 在上方选择精确(fp32)并重新生成,可得到模型的精确注意力图。"),
    "The model produced no tokens, so there is no attention to explore.": (
        "لم ينتج النموذج أي رموز، فلا يوجد انتباه لاستكشافه.", "模型没有生成任何词元,所以没有注意力可探索。"),
    # which tokens read a patch (ui.patches)
    "the patch at row {row}, column {col}": ("الرقعة في الصف {row}، العمود {col}", "第 {row} 行、第 {col} 列的图块"),
    "the patch at frame {frame}, row {row}, column {col}": (
        "الرقعة في الإطار {frame}، الصف {row}، العمود {col}", "第 {frame} 帧第 {row} 行、第 {col} 列的图块"),
    # Test this map (ui.faithful)
    "| | caption | p('{token}') at step {step} |\n| --- | --- | --- |\n| whole image | {old} | {p_old} |\n"
    "| {hidden} patches hidden | {new} | {p_new} ({change}) |\n\nThe probability on the second row is read on the "
    "*old* caption (teacher-forced), so it says how much the hidden patches mattered for '{token}' there.": (
        "| | الوصف | p('{token}') في الخطوة {step} |\n| --- | --- | --- |\n| الصورة كاملة | {old} | {p_old} |\n"
        "| {hidden} رقعة مخفية | {new} | {p_new} ({change}) |\n\nالاحتمال في الصف الثاني مقروء على الوصف *القديم* "
        "(بإجبار المعلّم)، فهو يقول كم كانت الرقع المخفية مهمة لـ«{token}» هناك.",
        "| | 描述 | 第 {step} 步的 p('{token}') |\n| --- | --- | --- |\n| 整张图像 | {old} | {p_old} |\n"
        "| 隐藏 {hidden} 个图块 | {new} | {p_new}({change}) |\n\n第二行的概率是在*旧*描述上读取的(教师强制),所以它说明"
        "隐藏的图块对那里的“{token}”有多重要。"),
    # notices (ui.notices)
    "(The model produced no text for this input.{hint})": ("(لم ينتج النموذج أي نص لهذا الإدخال.{hint})",
                                                           "(模型对此输入没有生成任何文本。{hint})"),
    " The embedded Shapes models know only English prompts about coloured circles, squares and triangles; try one "
    "of the examples' prompts, or a Hub model when online.": (
        " نماذج الأشكال المضمّنة لا تعرف إلا موجّهات إنجليزية عن دوائر ومربعات ومثلثات ملوّنة؛ جرّب أحد موجّهات "
        "الأمثلة، أو نموذجًا من Hub عند الاتصال بالإنترنت.",
        "内置的形状模型只懂关于彩色圆形、正方形和三角形的英文提示;试试示例中的提示,或在联网时使用 Hub 上的模型。"),
    " Try another prompt or a longer answer.": (" جرّب موجّهًا آخر أو إجابة أطول.", "试试别的提示或更长的回答。"),
    "This image does not look like the Shapes world. The offline model only knows coloured circles, squares and "
    "triangles on a plain light background, so its answer says nothing about this picture. For photos, pick a Hub "
    "model such as {model} in the model menu (needs the internet).": (
        "لا تبدو هذه الصورة من عالم الأشكال. النموذج غير المتصل لا يعرف إلا دوائر ومربعات ومثلثات ملوّنة على خلفية "
        "فاتحة سادة، فإجابته لا تقول شيئًا عن هذه الصورة. للصور الفوتوغرافية، اختر من قائمة النماذج نموذجًا من Hub "
        "مثل {model} (يحتاج إلى الإنترنت).",
        "这张图片不像形状世界。离线模型只认识浅色纯背景上的彩色圆形、正方形和三角形,所以它的回答与这张图片无关。"
        "对于照片,请在模型菜单中选择 Hub 上的模型,例如 {model}(需要联网)。"),
    # PaliGemma's boxes (pipeline.answers)
    "No `<loc>` boxes in this answer (ask with `detect …` or `segment …` to get some).": (
        "لا توجد صناديق `<loc>` في هذه الإجابة (اطلبها بـ`detect …` أو `segment …`).",
        "这个回答里没有 `<loc>` 框(用 `detect …` 或 `segment …` 提问才会有)。"),
    "- **{label}**: `{locs}` → x {x0}/{bins}·{w} = {left} to {x1}/{bins}·{w} = {right}, y {y0}/{bins}·{h} = {top} "
    "to {y1}/{bins}·{h} = {bottom} px": (
        "- **{label}**: `{locs}` ← x من {x0}/{bins}·{w} = {left} إلى {x1}/{bins}·{w} = {right}، y من "
        "{y0}/{bins}·{h} = {top} إلى {y1}/{bins}·{h} = {bottom} بكسل",
        "- **{label}**:`{locs}` → x 从 {x0}/{bins}·{w} = {left} 到 {x1}/{bins}·{w} = {right},y 从 "
        "{y0}/{bins}·{h} = {top} 到 {y1}/{bins}·{h} = {bottom} 像素"),
    "object {k}": ("جسم {k}", "物体 {k}"),
    "; mask decoded": ("؛ فُكّ القناع", ";已解码掩码"),
    # the Attention mask tab (ui.tabs.mask)
    "Image block: {frames} frames x {n} tokens (1 CLS + {rows} x {cols} patches each).": (
        "كتلة الصورة: {frames} إطارات × {n} رمزًا (1 CLS + {rows} × {cols} رقعة لكل منها).",
        "图像块:{frames} 帧 × {n} 个词元(每帧 1 个 CLS + {rows} × {cols} 个图块)。"),
    "Image block: {n} tokens (1 CLS + {rows} x {cols} patches).": (
        "كتلة الصورة: {n} رمزًا (1 CLS + {rows} × {cols} رقعة).", "图像块:{n} 个词元(1 个 CLS + {rows} × {cols} 个图块)。"),
    "Text: {p} prompt token(s) and {t} generated token(s).": (
        "النص: {p} رمز موجّه و{t} رمز مولَّد.", "文本:{p} 个提示词元和 {t} 个生成的词元。"),
    "{model} reads single images, not videos: pick a video model.": (
        "{model} يقرأ صورًا مفردة لا مقاطع فيديو: اختر نموذج فيديو.", "{model} 只读单张图像,不读视频:请选择一个视频模型。"),
    "That is {n} text tokens; this model reads at most {limit}.": (
        "هذه {n} رموز نصية؛ وهذا النموذج يقرأ {limit} على الأكثر.", "这有 {n} 个文本词元;这个模型最多读 {limit} 个。"),
    # error messages a user can cause (the ones without names or numbers)
    "Something went wrong on the server ({kind}). Try again, or try another input; the app keeps running.": (
        "حدث خطأ في الخادم ({kind}). حاول مجددًا أو جرّب إدخالًا آخر؛ التطبيق ما زال يعمل.",
        "服务器出了问题({kind})。请重试,或换一个输入;应用仍在运行。"),
    "Upload an image first (or click one of the examples).": ("ارفع صورة أولًا (أو انقر أحد الأمثلة).",
                                                              "请先上传一张图片(或点击一个示例)。"),
    "Upload an image first.": ("ارفع صورة أولًا.", "请先上传一张图片。"),
    "Upload a video first (or click one of the examples).": ("ارفع مقطع فيديو أولًا (أو انقر أحد الأمثلة).",
                                                             "请先上传一个视频(或点击一个示例)。"),
    "Type a question first (to describe the image instead, use the Caption tab).": (
        "اكتب سؤالًا أولًا (لوصف الصورة بدلًا من ذلك، استخدم تبويب وصف الصورة).", "请先输入一个问题(要描述图片,请用“图像描述”标签页)。"),
    "Generate something first: there is nothing to explore yet.": ("ولّد شيئًا أولًا: لا يوجد ما يُستكشف بعد.",
                                                                   "请先生成内容:还没有可以探索的东西。"),
    "Generate something first: there is no token to test yet.": ("ولّد شيئًا أولًا: لا يوجد رمز لاختباره بعد.",
                                                                 "请先生成内容:还没有可以测试的词元。"),
    "Generate something first.": ("ولّد شيئًا أولًا.", "请先生成内容。"),
    "Hide at least one patch first: click the picture, or hide the top k of a map.": (
        "أخفِ رقعة واحدة على الأقل أولًا: انقر الصورة، أو أخفِ أعلى k من خريطة.", "请先隐藏至少一个图块:点击图片,或隐藏某张图的前 k 个。"),
    "The model produced no tokens, so there is nothing to test.": ("لم ينتج النموذج أي رموز، فلا يوجد ما يُختبر.",
                                                                   "模型没有生成任何词元,所以没有可以测试的东西。"),
    "Beam search needs between 2 and 8 beams.": ("بحث الحزمة يحتاج بين 2 و8 حزم.", "束搜索需要 2 到 8 个束。"),
    "Sampling needs a temperature in (0, 5] and top-p in (0, 1].": (
        "العيّنات تحتاج درجة حرارة في (0، 5] وtop-p في (0، 1].", "采样需要温度在 (0, 5] 之间、top-p 在 (0, 1] 之间。"),
    "The question is too long for this model; shorten it.": ("السؤال أطول مما يقرؤه هذا النموذج؛ اختصره.",
                                                              "这个问题对此模型太长了;请缩短。"),
    "Choose a task or type a prompt (for example 'caption en').": ("اختر مهمة أو اكتب موجّهًا (مثل 'caption en').",
                                                                   "请选择一个任务或输入提示(例如 'caption en')。"),
    "Type a prompt first, or build one with the task menu (for example 'caption en').": (
        "اكتب موجّهًا أولًا، أو ابنِ واحدًا من قائمة المهام (مثل 'caption en').", "请先输入提示,或用任务菜单生成一个(例如 'caption en')。"),
    "Compare first: there are no answers yet.": ("قارن أولًا: لا توجد إجابات بعد.", "请先比较:还没有回答。"),
    # the Compare tab's caption
    "the same answer": ("الإجابة نفسها", "相同的回答"),
    "different answers": ("إجابتان مختلفتان", "不同的回答"),
    "**Agreement:** {same}": ("**الاتفاق:** {same}", "**一致性:**{same}"),
    "p('{word}') {pa} (A) vs {pb} (B), a difference of {diff}": (
        "p('{word}') = {pa} (أ) مقابل {pb} (ب)، بفارق {diff}", "p('{word}') {pa}(A)对 {pb}(B),相差 {diff}"),
    "the largest difference of any token's probability is {diff}": (
        "أكبر فرق في احتمال أي رمز هو {diff}", "任一词元概率的最大差异为 {diff}"),
    "the two maps differ by at most {diff} x an even share per patch and {moved}% of the attention sits elsewhere": (
        "تختلف الخريطتان بما لا يزيد على {diff} × الحصة المتساوية لكل رقعة، و{moved}% من الانتباه يقع في مكان آخر",
        "两张图每个图块最多相差 {diff} × 平均份额,{moved}% 的注意力落在别处"),
    "the maps have different grids ({a} vs {b}), so they are not compared patch by patch": (
        "للخريطتين شبكتان مختلفتان ({a} مقابل {b})، فلا تُقارنان رقعةً رقعة", "两张图的网格不同({a} 对 {b}),因此不逐块比较"),
    "; ": ("؛ ", ";"),
    ".": (".", "。"),
    "**{side}** ({name}): '{word}' is not in its answer.": (
        "**{side}** ({name}): '{word}' ليست في إجابته.", "**{side}**({name}):它的回答里没有“{word}”。"),
    "**{side}** ({name}): {grid} patches; its peak, at row {row}, column {col}, gets {peak} x an even share.": (
        "**{side}** ({name}): {grid} رقعة؛ ذروته، في الصف {row} والعمود {col}، تنال {peak} × الحصة المتساوية.",
        "**{side}**({name}):{grid} 个图块;峰值在第 {row} 行第 {col} 列,为平均份额的 {peak} 倍。"),
    "Where each model looked when it wrote '{word}'. Both maps use ONE colour scale (0 to {vmax} x an even spread), "
    "so brighter means more attention in either picture, even when the two models cut the image into different "
    "grids.": (
        "أين نظر كل نموذج حين كتب '{word}'. تستخدم الخريطتان مقياس ألوان واحدًا (من 0 إلى {vmax} × التوزيع المتساوي)، "
        "فالأسطع يعني انتباهًا أكثر في أيّ من الصورتين، حتى لو قسّم النموذجان الصورة إلى شبكتين مختلفتين.",
        "每个模型写下“{word}”时在看哪里。两张图使用同一个色标(0 到 {vmax} × 均匀分布),所以在任一张图里越亮表示注意力越多,"
        "即使两个模型把图像切成不同的网格。"),
}

__all__ = ["APP_TEXT", "SHARED"]
