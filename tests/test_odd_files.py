"""Every image file a class can bring gives a picture or a sentence (issue 24).

The corpus is written here: every format and colour mode Pillow can write, files Pillow reads but cannot
write (a Photoshop PSD crafted byte by byte), icons, SPIDER, DDS variants, phone photos (HEIC, AVIF),
truncated and fuzzed copies of all of them, and headers that announce decompression bombs. The rule
under test: `open_image` + `to_rgb` return an RGB picture of the right size, or raise `InputError`;
nothing else escapes, nothing Pillow decodes is refused, and the log never names the file.
"""
import io
import logging
import struct
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, features

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

from gitdemo import lang  # noqa: E402
from gitdemo.errors import InputError  # noqa: E402
from gitdemo.io import images  # noqa: E402
from gitdemo.io.images import open_image, to_rgb  # noqa: E402

W, H = 64, 48


def picture() -> Image.Image:
    """Left half red, right half blue, a grey ramp down the middle rows: a blank decode cannot pass for it."""
    a = np.zeros((H, W, 3), np.uint8)
    a[:, : W // 2] = (220, 30, 30)
    a[:, W // 2:] = (30, 30, 220)
    a[H // 3: 2 * H // 3] = np.linspace(0, 255, W, dtype=np.uint8)[None, :, None]
    return Image.fromarray(a)


def encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def as_mode(mode: str) -> Image.Image:
    if mode == "I;16":
        return Image.fromarray(np.asarray(picture().convert("L"), np.uint16) * 257)  # real 16-bit values
    return picture().convert(mode)


# format -> the colour modes Pillow writes for it (each file is read back through open_image)
WRITABLE = {
    "PNG": ["RGB", "RGBA", "L", "LA", "1", "P", "I;16"], "JPEG": ["RGB", "L", "CMYK"], "GIF": ["RGB", "L", "P"],
    "WEBP": ["RGB", "RGBA"], "TIFF": ["RGB", "RGBA", "L", "1", "P", "I;16", "I", "F", "CMYK", "LAB"],
    "BMP": ["RGB", "L", "1", "P"], "TGA": ["RGB", "RGBA", "L", "P"], "PPM": ["RGB", "L", "1", "I;16"],
    "SGI": ["RGB", "RGBA", "L"], "PCX": ["RGB", "L", "1", "P"], "IM": ["RGB", "L", "P", "I", "F"],
    "JPEG2000": ["RGB", "RGBA", "L"], "QOI": ["RGB", "RGBA"], "DDS": ["RGB", "RGBA", "L", "LA"],
    "SPIDER": ["F"], "XBM": ["1"], "MSP": ["1"], "DIB": ["RGB"],
}
if features.check("avif"):
    WRITABLE["AVIF"] = ["RGB", "RGBA"]
if images.HEIF:
    WRITABLE["HEIF"] = ["RGB", "RGBA", "L"]
LOSSY = {"JPEG", "WEBP", "AVIF", "HEIF", "JPEG2000", "GIF"}
CORPUS = [(fmt, mode) for fmt, modes in WRITABLE.items() for mode in modes]


def check_picture(image: Image.Image, exact: bool) -> None:
    rgb = to_rgb(image)
    assert rgb.mode == "RGB" and rgb.size == (W, H)
    a = np.asarray(rgb, np.float64)
    assert a.std() > 20, "a blank picture: the pixels were not decoded"
    if exact:  # the red and blue halves differ in any colour mode, and in grey too (luma 86 against 52)
        left, right = a[:4, :4].mean(axis=(0, 1)), a[:4, -4:].mean(axis=(0, 1))
        assert np.abs(left - right).max() > 20, (left, right)


@pytest.mark.parametrize("fmt,mode", CORPUS, ids=[f"{f}-{m}" for f, m in CORPUS])
def test_every_writable_format_and_mode_opens(fmt, mode):
    data = encode(as_mode(mode), fmt)
    check_picture(open_image(data), exact=fmt not in LOSSY and mode not in ("1",))


def psd(w=W, h=H, layers=b"") -> bytes:
    """A minimal Photoshop file: 8-bit RGB, no colour data, no resources, `layers` section, raw planes."""
    planes = np.asarray(picture().resize((w, h)), np.uint8).transpose(2, 0, 1).tobytes()
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, h, w, 8, 3)
    return header + struct.pack(">I", 0) + struct.pack(">I", 0) + struct.pack(">I", len(layers)) + layers \
        + struct.pack(">H", 0) + planes


def test_photoshop_file_opens_as_its_merged_image():
    """Pillow cannot write PSD: the file is made byte by byte. Layers are frames 1..n, so `seek(0)` failed."""
    image = open_image(psd())
    assert image.format == "PSD" or image.size == (W, H)
    assert np.array_equal(np.asarray(image.convert("RGB")), np.asarray(picture()))


def test_spider_single_image_opens():
    image = open_image(encode(as_mode("F"), "SPIDER"))  # refused before: "attempt to seek in a non-stack file"
    check_picture(image, exact=True)


def ico(broken_largest=False) -> bytes:
    square = picture().resize((48, 48)).convert("RGBA")
    data = bytearray(encode(square, "ICO", sizes=[(16, 16), (32, 32), (48, 48)]))
    if broken_largest:  # zero the largest entry's PNG data (after its 8-byte signature and IHDR)
        count = struct.unpack("<H", data[4:6])[0]
        entries = [struct.unpack("<BBBBHHII", data[6 + 16 * i: 22 + 16 * i]) for i in range(count)]
        size, offset = next((e[6], e[7]) for e in entries if (e[0] or 256) == 48)
        data[offset + 40: offset + size] = bytes(size - 40)
    return bytes(data)


def test_icon_gives_its_largest_picture_that_decodes():
    assert open_image(ico()).size == (48, 48)
    assert open_image(ico(broken_largest=True)).size == (32, 32)
    mac = open_image(encode(picture().resize((64, 64)).convert("RGBA"), "ICNS"))  # a macOS icon: up to 1024 x 1024
    assert mac.size[0] == mac.size[1] >= 64 and np.asarray(to_rgb(mac)).std() > 20


def dds_with_fourcc(fourcc: bytes) -> bytes:
    data = bytearray(encode(picture().convert("RGBA"), "DDS"))
    struct.pack_into("<I4s", data, 80, 0x4, fourcc)  # pixel format: FOURCC, an unknown code
    return bytes(data)


def test_unknown_dds_pixel_format_is_a_sentence_logged_once_without_the_name(tmp_path, caplog):
    images._logged.clear()
    paths = [tmp_path / f"pupil-{i}-secret-name.dds" for i in range(3)]
    for path in paths:
        path.write_bytes(dds_with_fourcc(b"ZZZ9"))
    with caplog.at_level(logging.WARNING, logger="gitdemo.io"):
        for path in paths:
            with pytest.raises(InputError, match="DDS file of a kind this server cannot decode"):
                open_image(path)
    warnings = [r for r in caplog.records if r.name == "gitdemo.io"]
    assert len(warnings) == 1 and "NotImplementedError" in warnings[0].getMessage()
    assert "secret-name" not in caplog.text


def test_eps_without_ghostscript_says_what_to_do():
    from PIL import EpsImagePlugin

    data = encode(picture(), "EPS")
    if EpsImagePlugin.has_ghostscript():
        check_picture(open_image(data), exact=False)
    else:
        with pytest.raises(InputError, match="Ghostscript"):
            open_image(data)


def test_sentences_follow_the_page_language(tmp_path):
    (tmp_path / "notes.png").write_text("not a picture\n" * 20)
    with lang.use("ar"), pytest.raises(InputError, match="ليس صورة"):
        open_image(tmp_path / "notes.png")
    with lang.use("zh"), pytest.raises(InputError, match="上传的文件"):
        open_image(b"\x89PNG\r\n\x1a\n garbage")


@pytest.mark.parametrize("fmt", ["BMP", "PSD"])
def test_bomb_headers_are_refused_before_decoding(fmt):
    data = bytearray(encode(picture(), "BMP") if fmt == "BMP" else psd())
    if fmt == "BMP":
        struct.pack_into("<ii", data, 18, 30000, 30000)
    else:
        struct.pack_into(">II", data, 14, 30000, 30000)
    t = time.perf_counter()
    with pytest.raises(InputError, match="megapixels"):
        open_image(bytes(data))
    assert time.perf_counter() - t < 1.0


def test_phone_photos_heic_and_avif_open_upright():
    """iPhones save HEIC (pillow-heif); Android phones and browsers, AVIF (Pillow's own plugin)."""
    tried = []
    for fmt, available in (("HEIF", images.HEIF), ("AVIF", features.check("avif"))):
        if not available:
            continue
        tried.append(fmt)
        sideways = picture().rotate(90, expand=True)  # stored as the sensor saw it, EXIF says "rotate 90 CW"
        exif = Image.Exif()
        exif[0x0112] = 6
        image = open_image(encode(sideways, fmt, exif=exif.tobytes(), quality=90))
        assert image.size == (W, H), fmt
        a = np.asarray(to_rgb(image), np.int32)
        assert a[2, 2, 0] > a[2, 2, 2] + 100 and a[2, W - 3, 2] > a[2, W - 3, 0] + 100, fmt  # red left, blue right
    if not tried:
        pytest.skip("neither pillow-heif nor Pillow's AVIF plugin is installed")


def mutations(data: bytes, n: int, seed: int):
    rng = np.random.default_rng(seed)
    yield data[: len(data) // 2]  # cut in half
    yield data[: max(8, len(data) // 8)]  # only the header
    for _ in range(n):
        a = bytearray(data)
        for pos in rng.integers(0, len(a), int(rng.integers(1, 8))):
            a[pos] = int(rng.integers(0, 256))
        yield bytes(a)


FUZZED = ["PNG", "JPEG", "GIF", "WEBP", "TIFF", "BMP", "TGA", "PCX", "SGI", "DDS", "ICO", "PSD", "QOI", "JPEG2000",
          *(["AVIF"] if features.check("avif") else []), *(["HEIF"] if images.HEIF else [])]


@pytest.mark.parametrize("fmt", FUZZED)
def test_truncated_and_fuzzed_files_give_a_picture_or_a_sentence(fmt):
    data = psd() if fmt == "PSD" else ico() if fmt == "ICO" else encode(picture(), fmt)
    outcomes = {"picture": 0, "sentence": 0}
    for i, bad in enumerate(mutations(data, 24, seed=sum(map(ord, fmt)))):
        t = time.perf_counter()
        try:
            image = to_rgb(open_image(bad))
        except InputError as exc:
            assert str(exc).strip(), (fmt, i)
            outcomes["sentence"] += 1
        else:
            assert image.mode == "RGB" and image.width * image.height <= images.MAX_PIXELS, (fmt, i)
            outcomes["picture"] += 1
        assert time.perf_counter() - t < 5.0, (fmt, i)
    assert outcomes["sentence"] >= 1, (fmt, outcomes)  # the file cut to its header cannot be a picture


def test_odd_colour_modes_become_rgb():
    for mode in ("La", "RGBa", "PA", "RGBX", "HSV", "LAB", "YCbCr", "I;16B", "I;16L", "CMYK", "1", "F"):
        image = Image.new(mode, (4, 3))
        assert to_rgb(image).mode == "RGB", mode


def test_odd_files_are_captioned_by_the_embedded_model():
    """The whole way, as the issue measured it: open_image -> the processor -> a caption on the embedded GIT."""
    from gitdemo import load_model, load_processor
    from gitdemo.pipeline import run

    model, processor = load_model(), load_processor()
    files = {"PSD": psd(), "SPIDER": encode(as_mode("F"), "SPIDER"), "ICO": ico(broken_largest=True),
             "TIFF I;16": encode(as_mode("I;16"), "TIFF"), "JPEG CMYK": encode(as_mode("CMYK"), "JPEG"),
             "DDS": encode(picture().convert("RGBA"), "DDS"),
             **({"HEIC": encode(picture(), "HEIF")} if images.HEIF else {}),
             **({"AVIF": encode(picture(), "AVIF")} if features.check("avif") else {})}
    for name, data in files.items():
        result = run(model, processor, [open_image(data)], max_new_tokens=8)
        assert result.text.strip(), name
