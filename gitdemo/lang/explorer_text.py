"""The explorer's texts drawn by the browser (the HTML heatmap, its cells, tables, the patch readers), in Arabic and
Simplified Chinese: English template -> (Arabic, Chinese), read by `gitdemo.lang.say`."""
from __future__ import annotations

EXPLORER_TEXT: dict[str, tuple[str, str]] = {
    "'{token}' put {share} of this map on {k} of {n} patches (rows {rows}, columns {cols}); the peak is row {row}, "
    "column {col} ({ratio}x an even spread).": (
        "وضع '{token}' {share} من هذه الخريطة على {k} من {n} رقعة (الصفوف {rows}، الأعمدة {cols})؛ والذروة في الصف "
        "{row}، العمود {col} ({ratio} ضعف التوزيع المتساوي).",
        "'{token}' 把这张图的 {share} 放在 {n} 个图块中的 {k} 个上(第 {rows} 行,第 {cols} 列);峰值在第 {row} 行、"
        "第 {col} 列(均匀分布的 {ratio} 倍)。"),
    "'{token}': this map is empty (no weight on any of its {rows} x {cols} patches).": (
        "'{token}': هذه الخريطة فارغة (لا وزن على أي من رقعها {rows} × {cols}).",
        "'{token}':这张图是空的({rows} x {cols} 个图块上都没有权重)。"),
    "row {row}, column {col}: {value}": ("الصف {row}، العمود {col}: {value}", "第 {row} 行,第 {col} 列:{value}"),
    "{title}: {rows} x {cols} patches; arrow keys move, Enter picks a patch.": (
        "{title}: {rows} × {cols} رقعة؛ مفاتيح الأسهم للتنقل، وEnter لاختيار رقعة.",
        "{title}:{rows} x {cols} 个图块;方向键移动,Enter 选中图块。"),
    "Save PNG": ("حفظ PNG", "保存 PNG"),
    "chosen": ("المختار", "已选"),
    "token": ("الرمز", "词元"),
    "bar": ("عمود", "柱"),
    "probability": ("الاحتمال", "概率"),
    "share": ("الحصة", "占比"),
    "most": ("الأكثر", "最多"),
    "Each bar is one generated token: the share of its image attention that went to {where} (mean over layers and "
    "heads). An even spread over all patches would give each {uniform}; '{token}' read this patch most ({ratio} x an "
    "even spread).": (
        "كل عمود رمز مولَّد: حصة انتباهه على الصورة التي ذهبت إلى {where} (متوسط الطبقات والرؤوس). التوزيع المتساوي على "
        "كل الرقع يعطي كل رقعة {uniform}؛ و'{token}' قرأ هذه الرقعة أكثر من غيره ({ratio} ضعف التوزيع المتساوي).",
        "每个柱是一个生成的词元:它在图像上的注意力中落到{where}的占比(各层各头取平均)。若均匀分布在所有图块上,"
        "每块为 {uniform};'{token}' 读这个图块最多(均匀分布的 {ratio} 倍)。"),
    "**Rollout is not available here:** {why} The heatmap shows raw attention instead.": (
        "**الانتباه المتراكم غير متاح هنا:** {why} تعرض الخريطة الحرارية الانتباه الخام بدلًا منه.",
        "**这里无法显示注意力展开:**{why} 热力图改为显示原始注意力。"),
    "the teacher-forced pass failed ({error}).": ("فشل المرور المُوجَّه بالإجابة ({error}).",
                                                  "教师强制的前向计算失败({error})。"),
    "{n} of {total} patches hidden. Click a square (or press Enter on it) to hide it or show it again.": (
        "{n} من {total} رقعة مخفية. انقر مربعًا (أو اضغط Enter عليه) لإخفائه أو إظهاره من جديد.",
        "已隐藏 {total} 个图块中的 {n} 个。点击一个方格(或在其上按 Enter)即可隐藏或重新显示它。"),
    "Click patches to hide them": ("انقر الرقع لإخفائها", "点击图块将其隐藏"),
    "row {row}, column {col}: {state}": ("الصف {row}، العمود {col}: {state}", "第 {row} 行,第 {col} 列:{state}"),
    "hidden": ("مخفية", "已隐藏"),
    "shown": ("ظاهرة", "显示"),
    "{title}: {rows} x {cols} patches; arrow keys move, Enter hides or shows a patch.": (
        "{title}: {rows} × {cols} رقعة؛ مفاتيح الأسهم للتنقل، وEnter لإخفاء رقعة أو إظهارها.",
        "{title}:{rows} x {cols} 个图块;方向键移动,Enter 隐藏或显示图块。"),
    "'{word}' is not in this answer.": ("'{word}' ليست في هذه الإجابة.", "'{word}' 不在这个回答里。"),
    "Shapes scene": ("مشهد أشكال", "形状场景"),
    "Shapes clip": ("مقطع أشكال", "形状短片"),
    "Photo: a portrait of Grace Hopper in a navy uniform": ("صورة: غريس هوبر بزيّ البحرية",
                                                           "照片:身穿海军制服的格蕾丝·霍珀肖像"),
    "Photo: a close-up of an orange dahlia on a dark green background": (
        "صورة: زهرة أضاليا برتقالية عن قرب على خلفية خضراء داكنة", "照片:深绿色背景上一朵橙色大丽花的特写"),
    "(empty)": ("(فارغ)", "(空)"),
    "The shared picture is not kept on this server any more (uploads are deleted after a while): pick a picture, "
    "then press the button.": ("الصورة المشتركة لم تعد محفوظة على هذا الخادم (تُحذف الملفات المرفوعة بعد مدة): "
                               "اختر صورة ثم اضغط الزر.", "这台服务器已不再保存分享的图片(上传的文件会在一段时间后删除):"
                                                          "请选择一张图片,然后按按钮。"),
    "The shared model is not offered here; the tab's default is used.": (
        "النموذج المشترك غير متاح هنا؛ يُستخدم النموذج الافتراضي للتبويب.", "这里没有提供分享的模型;使用此标签页的默认模型。"),
    "{title}: peak at row {row}, column {col} ({share})": ("{title}: الذروة في الصف {row}، العمود {col} ({share})",
                                                          "{title}:峰值在第 {row} 行、第 {col} 列({share})"),
}

__all__ = ["EXPLORER_TEXT"]
