"""The sentences that say why an uploaded image or video cannot be used (`gitdemo.io.images`, `gitdemo.io.video`):
English template -> (Arabic, Simplified Chinese). `{name}` is the file's name in quotes, or "The uploaded file";
`{reason}` is the decoder's own words (English), kept because they help whoever fixes the file.
"""
from __future__ import annotations

INPUT_TEXT: dict[str, tuple[str, str]] = {
    "The uploaded file": ("الملف المرفوع", "上传的文件"),
    # images
    "No image file at {path}.": ("لا يوجد ملف صورة في {path}.", "{path} 处没有图片文件。"),
    "{name} is empty (0 bytes); upload the image again.": (
        "{name} فارغ (0 بايت)؛ ارفع الصورة مرة أخرى.", "{name} 是空的(0 字节);请重新上传图片。"),
    "Cannot open an image from a {kind}; give a file path or a PIL image.": (
        "لا يمكن فتح صورة من {kind}؛ أعطِ مسار ملف أو صورة PIL.", "无法从 {kind} 打开图片;请给出文件路径或 PIL 图像。"),
    "{name} is too large to open safely (over {limit} megapixels).": (
        "{name} أكبر من أن يُفتح بأمان (أكثر من {limit} ميغابكسل).", "{name} 太大,无法安全打开(超过 {limit} 百万像素)。"),
    "{name} is not an image this server can read; save it as a JPEG or PNG and upload it again.": (
        "{name} ليس صورة يستطيع هذا الخادم قراءتها؛ احفظه بصيغة JPEG أو PNG وارفعه مرة أخرى.",
        "{name} 不是此服务器能读取的图片;请另存为 JPEG 或 PNG 后重新上传。"),
    "{name} needs more memory to decode than the server can spare; downscale it and try again.": (
        "{name} يحتاج لفك ترميزه ذاكرةً أكثر مما يستطيع الخادم توفيره؛ صغّر أبعاده وحاول مجددًا.",
        "解码 {name} 所需的内存超出了服务器的余量;请缩小尺寸后重试。"),
    "{name} could not be decoded ({reason}); the file may be truncated or corrupt: upload it again, or save it as "
    "a JPEG or PNG.": (
        "تعذّر فك ترميز {name} ({reason})؛ ربما الملف مقطوع أو تالف: ارفعه مرة أخرى، أو احفظه بصيغة JPEG أو PNG.",
        "无法解码 {name}({reason});文件可能不完整或已损坏:请重新上传,或另存为 JPEG 或 PNG。"),
    "{name} is a {format} file of a kind this server cannot decode ({reason}); save it as a JPEG or PNG and upload "
    "it again.": (
        "{name} ملف {format} من نوع لا يستطيع هذا الخادم فك ترميزه ({reason})؛ احفظه بصيغة JPEG أو PNG وارفعه مرة "
        "أخرى.",
        "{name} 是此服务器无法解码的一种 {format} 文件({reason});请另存为 JPEG 或 PNG 后重新上传。"),
    "{name} is a PostScript (EPS) drawing, which needs Ghostscript to draw, and this server does not have it; "
    "export it as a PNG and upload that.": (
        "{name} رسم PostScript (EPS) يحتاج إلى Ghostscript لرسمه، وهذا الخادم لا يملكه؛ صدّره بصيغة PNG وارفع "
        "ذلك الملف.",
        "{name} 是 PostScript(EPS)图形,需要 Ghostscript 才能绘制,而此服务器没有它;请导出为 PNG 再上传。"),
    "The image has no pixels ({w} x {h}).": ("الصورة بلا بكسلات ({w} × {h}).", "这张图片没有像素({w} × {h})。"),
    "The image is {w} x {h} ({mp} megapixels); the limit is {limit}. Downscale it and try again.": (
        "أبعاد الصورة {w} × {h} ({mp} ميغابكسل)؛ والحد الأقصى {limit}. صغّرها وحاول مجددًا.",
        "这张图片是 {w} × {h}({mp} 百万像素);上限是 {limit}。请缩小后重试。"),
    "Images in colour mode {mode} are not supported; save it as an RGB PNG or JPEG.": (
        "الصور بنمط الألوان {mode} غير مدعومة؛ احفظها بصيغة PNG أو JPEG بألوان RGB.",
        "不支持颜色模式为 {mode} 的图片;请另存为 RGB 的 PNG 或 JPEG。"),
    # videos
    "No video file at {path}.": ("لا يوجد ملف فيديو في {path}.", "{path} 处没有视频文件。"),
    "{name} is empty (0 bytes); upload the video again.": (
        "{name} فارغ (0 بايت)؛ ارفع الفيديو مرة أخرى.", "{name} 是空的(0 字节);请重新上传视频。"),
    "{name} is not a video file that can be read, or it is damaged (try an MP4, WebM or GIF).": (
        "{name} ليس ملف فيديو يمكن قراءته، أو أنه تالف (جرّب MP4 أو WebM أو GIF).",
        "{name} 不是可读取的视频文件,或者已损坏(试试 MP4、WebM 或 GIF)。"),
    "{name} has no video stream (is it an audio file?).": (
        "{name} لا يحتوي على مسار فيديو (هل هو ملف صوتي؟).", "{name} 没有视频流(它是音频文件吗?)。"),
    "{name} holds no video frames (was the recording empty?); record or export the clip again.": (
        "{name} لا يحتوي على أي إطار فيديو (هل كان التسجيل فارغًا؟)؛ سجّل المقطع أو صدّره مرة أخرى.",
        "{name} 里没有视频帧(录制是空的吗?);请重新录制或导出这段视频。"),
    "{name} uses a video codec ({codec}) this server cannot decode; export it as an MP4 (H.264) and upload that.": (
        "{name} يستخدم ترميز فيديو ({codec}) لا يستطيع هذا الخادم فكه؛ صدّره بصيغة MP4 (H.264) وارفع ذلك الملف.",
        "{name} 使用了此服务器无法解码的视频编码({codec});请导出为 MP4(H.264)再上传。"),
    "{name} has a video stream, but no frame of it decodes: it is empty or damaged. Export the clip again.": (
        "{name} فيه مسار فيديو، لكن لا يُفك ترميز أي إطار منه: إنه فارغ أو تالف. صدّر المقطع مرة أخرى.",
        "{name} 有视频流,但没有一帧能解码:它是空的或已损坏。请重新导出这段视频。"),
    "{name} could not be decoded ({reason}); the file may be truncated or damaged: upload it again, or export it "
    "as an MP4 (H.264).": (
        "تعذّر فك ترميز {name} ({reason})؛ ربما الملف مقطوع أو تالف: ارفعه مرة أخرى، أو صدّره بصيغة MP4 (H.264).",
        "无法解码 {name}({reason});文件可能不完整或已损坏:请重新上传,或导出为 MP4(H.264)。"),
}

__all__ = ["INPUT_TEXT"]
