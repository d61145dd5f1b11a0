"""PaliGemma inputs (against the reference processor) and outputs (<loc>/<seg> parsing, the mask decoder).

The tokenizer is built here with `tokenizers`, shaped like Gemma's (spaces as "▁", <pad> <eos>
<bos> <unk> first, a template post-processor that the PaliGemma layout must *not* apply) and
holding the PaliGemma tokens: <image>, <loc0000>..<loc1023>, <seg000>..<seg127>.
"""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from gitdemo.errors import CheckpointError, HubError, InputError
from gitdemo.io import hub as weights
from gitdemo.pipeline.answers import masks_in_image, parse, parse_locations
from gitdemo.pipeline.segmask import MaskDecoder
from gitdemo.processing.paligemma import LOC_TOKENS, SEG_TOKENS, load_paligemma_processor

SIZE, N_IMG = 28, 4
CORPUS = ["caption en", "describe the image in detail", "answer en what is on the table?", "detect cat ; dog",
          "segment the red car", "a cat sitting on a bench", "two dogs playing in the snow", "ocr", "Où est le chat?"]


def build_tokenizer(path):
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.Replace(" ", "▁")
    tok.pre_tokenizer = pre_tokenizers.Split("▁", behavior="merged_with_next")
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.Fuse()])
    alphabet = sorted(set("".join(CORPUS)) | set("abcdefghijklmnopqrstuvwxyz<>?;.,_\n▁0123456789"))
    tok.train_from_iterator(CORPUS * 4, trainers.BpeTrainer(vocab_size=160, initial_alphabet=alphabet,
                                                            special_tokens=["<pad>", "<eos>", "<bos>", "<unk>"]))
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in ("<image>", "<start_of_turn>")])
    tok.add_tokens([AddedToken(t, normalized=False) for t in LOC_TOKENS + SEG_TOKENS])
    tok.post_processor = processors.TemplateProcessing(single="<bos> $A", pair="<bos> $A <bos> $B:1",
                                                       special_tokens=[("<bos>", 2)])
    tok.save(str(path / "tokenizer.json"))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("paligemma-processor")
    build_tokenizer(path)
    (path / "preprocessor_config.json").write_text(json.dumps({
        "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": [0.5] * 3, "image_std": [0.5] * 3,
        "image_processor_type": "SiglipImageProcessor", "image_seq_length": N_IMG, "resample": 3,
        "rescale_factor": 1 / 255, "size": {"height": SIZE, "width": SIZE}}))
    (path / "config.json").write_text(json.dumps({"model_type": "paligemma"}))
    return path


@pytest.fixture(scope="module")
def ours(folder):
    return load_paligemma_processor(folder)


@pytest.fixture(scope="module")
def reference(folder):
    transformers = pytest.importorskip("transformers")
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    tok = transformers.PreTrainedTokenizerFast(tokenizer_file=str(folder / "tokenizer.json"), bos_token="<bos>",
                                               eos_token="<eos>", pad_token="<pad>", unk_token="<unk>",
                                               padding_side="left")
    images = SiglipImageProcessorPil(size={"height": SIZE, "width": SIZE}, image_mean=[0.5] * 3,
                                     image_std=[0.5] * 3, resample=3)
    images.image_seq_length = N_IMG
    return transformers.PaliGemmaProcessor(image_processor=images, tokenizer=tok)


def images(n=2, seed=0):
    rng = np.random.default_rng(seed)
    out = [Image.fromarray((rng.random((40, 53, 3)) * 255).astype("uint8")),
           Image.fromarray((rng.random((17, 9, 4)) * 255).astype("uint8"), "RGBA"),  # transparency onto white
           Image.fromarray((rng.random((300, 31)) * 255).astype("uint8"), "L")]
    return out[:n]


# ----------------------------------------------------------------------------- parity with the reference
@pytest.mark.parametrize("suffix", [None, ["a cat", "two dogs <loc0012> playing"]])
def test_batch_matches_reference_processor(ours, reference, suffix):
    texts = ["caption en", "answer en what is on the table?"]
    want = reference(images=images(), text=texts, suffix=suffix, return_tensors="pt", padding="longest")
    got = ours(images=images(), text=texts, suffix=suffix)
    assert (got.pixel_values - want["pixel_values"]).abs().max() <= 1e-6
    for key in ("input_ids", "attention_mask", "token_type_ids") + (("labels",) if suffix else ()):
        assert torch.equal(got[key], want[key]), key
    assert ("labels" in got.keys()) == (suffix is not None)


def test_single_prompt_and_grey_image_match_reference(ours, reference):
    image = images(3)[2]
    want = reference(images=image, text="Où est le chat?", return_tensors="pt")
    got = ours(images=image, text="Où est le chat?")
    assert (got.pixel_values - want["pixel_values"]).abs().max() <= 1e-6
    assert torch.equal(got.input_ids, want["input_ids"]) and torch.equal(got.token_type_ids, want["token_type_ids"])


def test_layout_is_image_bos_prompt_newline_then_suffix_eos(ours):
    got = ours(images=images(1), text="ocr", suffix="a cat")
    tok = ours.tokenizer
    pieces = [tok.id_to_token(i) for i in got.input_ids[0].tolist()]
    assert pieces[:N_IMG + 1] == ["<image>"] * N_IMG + ["<bos>"] and pieces[-1] == "<eos>"
    assert ours.decode(got.input_ids[0]) == "ocr\na cat"
    assert got.labels[0, got.token_type_ids[0] == 0].eq(-100).all()


# ----------------------------------------------------------------------------- tokens
def test_loc_and_seg_are_single_tokens(ours):
    ids = ours.encode_text("<loc0000><loc1023> <seg000><seg127>")
    names = [ours.tokenizer.id_to_token(i) for i in ids]
    assert [n for n in names if n.startswith("<")] == ["<loc0000>", "<loc1023>", "<seg000>", "<seg127>"]
    assert ours.is_loc(ids[0]) and ours.is_seg(ids[-1])


def test_typed_control_tokens_are_escaped(ours):
    row = ours(images=images(1), text="<image> hello <bos><eos><pad><start_of_turn>")
    ids = row.input_ids[0].tolist()
    assert ids.count(ours.image_token_id) == N_IMG and ids.count(ours.bos_id) == 1
    assert ours.eos_id not in ids and ours.pad_id not in ids
    assert not set(ids[N_IMG + 1:]) & ours.special_ids  # after the layout: only plain text tokens
    assert "<image> hello <bos><eos>" in ours.decode(row.input_ids[0])  # the user's characters survive


def test_decode_keeps_loc_seg_when_asked(ours):
    ids = ours.encode_text("<loc0001><loc0002><loc0003><loc0004> cat") + [ours.eos_id, ours.pad_id]
    assert ours.decode(ids) == "<loc0001><loc0002><loc0003><loc0004> cat"
    assert ours.decode(ids, keep_loc_seg=False) == " cat"
    assert ours.decode(ids, skip_special_tokens=False).endswith("cat<eos><pad>")


def test_loc_seg_marked_special_in_the_file_still_work(folder, tmp_path):
    data = json.loads((folder / "tokenizer.json").read_text())
    for t in data["added_tokens"]:
        if t["content"].startswith(("<loc", "<seg")):
            t["special"] = True
    (tmp_path / "tokenizer.json").write_text(json.dumps(data))
    (tmp_path / "preprocessor_config.json").write_text((folder / "preprocessor_config.json").read_text())
    proc = load_paligemma_processor(tmp_path)
    ids = proc.encode_text("<loc0005> dog")
    assert proc.tokenizer.id_to_token(ids[0]) == "<loc0005>"
    assert proc.decode(ids) == "<loc0005> dog"


# ----------------------------------------------------------------------------- bad input
def test_bad_processor_input(ours):
    with pytest.raises(InputError, match="suffixes"):
        ours(images=images(1), text=["a", "b"], suffix=["x"])
    with pytest.raises(InputError, match="3 images for 2 prompts"):
        ours(images=images(3), text=["a", "b"])
    with pytest.raises(InputError, match="too long"):
        ours(images=images(1), text="x" * 5000)
    with pytest.raises(InputError, match="text"):
        ours(images=images(1), text=[42])
    with pytest.raises(InputError, match="image"):
        ours(images="not/a/file.png", text="a")
    with pytest.raises(InputError):
        ours(images=42, text="a")
    with pytest.raises(InputError, match="No image"):
        ours(images=[], text="a")
    with pytest.raises(InputError, match="no pixels"):
        ours(images=Image.new("RGB", (0, 5)), text="a")


@pytest.mark.parametrize("size,match", [({"height": 224, "width": 448}, "square"), ({"shortest_edge": 224}, "square"),
                                        ({"height": 4, "width": 4}, "outside"),
                                        ({"height": 100000, "width": 100000}, "outside")])
def test_out_of_range_sizes(folder, tmp_path, size, match):
    (tmp_path / "tokenizer.json").write_text((folder / "tokenizer.json").read_text())
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"size": size}))
    with pytest.raises(CheckpointError, match=match):
        load_paligemma_processor(tmp_path)


def test_missing_tokenizer_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="tokenizer.json"):
        load_paligemma_processor(tmp_path)


def test_gated_repo_without_token_says_what_to_do(monkeypatch):
    """Simulated: the Hub answers 'gated' (no network is touched)."""
    import httpx
    import huggingface_hub
    from huggingface_hub.errors import GatedRepoError

    repo = "google/paligemma-3b-pt-224"

    def gated(*args, **kwargs):
        raise GatedRepoError(f"Access to model {repo} is restricted.",
                             response=httpx.Response(401, request=httpx.Request("GET", f"https://hf.co/{repo}")))

    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(weights, "_cached_snapshot", lambda *a: None)
    monkeypatch.setattr(weights, "hub_reachable", lambda *a, **k: True)
    monkeypatch.setattr(huggingface_hub, "list_repo_files", gated)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", gated)
    with pytest.raises(HubError, match="gated.*HF_TOKEN"):
        load_paligemma_processor(repo)
    import gitdemo

    with pytest.raises(HubError, match="accept its licence"):
        gitdemo.load_model(repo)


# ----------------------------------------------------------------------------- <loc> / <seg> parsing
def loc(*values):
    return "".join(f"<loc{v:04d}>" for v in values)


def seg(*values):
    return "".join(f"<seg{v:03d}>" for v in values)


def test_several_objects_with_labels():
    answer = f"{loc(0, 0, 512, 256)} cat ; {loc(256, 512, 1023, 1023)} black dog ; {loc(100, 100, 200, 300)} cat"
    dets, text = parse_locations(answer, width=400, height=200)
    assert [d.label for d in dets] == ["cat", "black dog", "cat"]
    assert dets[0].box == (0, 0, 100, 100)  # (x_min, y_min, x_max, y_max) from (y_min, x_min, y_max, x_max) bins
    assert dets[1].box == (200, 50, 400, 200)  # 1023/1024 of the side rounds to the edge
    assert dets[2].bins == (100, 100, 200, 300)
    assert text == "cat ; black dog ; cat"


def test_missing_labels_and_no_separators():
    dets, _ = parse_locations(loc(10, 10, 20, 20) + loc(30, 30, 40, 40) + " ; " + loc(1, 2, 3, 4), 1024, 1024)
    assert [d.label for d in dets] == ["", "", ""] and len(dets) == 3


def test_malformed_groups_are_ignored():
    answer = (f"{loc(1, 2, 3)} three ; {loc(1, 2, 3, 4, 5)} five ; {loc(500, 10, 400, 20)} inverted ; "
              f"{loc(10, 10, 20, 20)}{seg(*range(15))} fifteen segs ; {loc(0, 0, 1, 1)} ok")
    dets, _ = parse_locations(answer, 100, 100)
    assert [d.label for d in dets] == ["fifteen segs", "ok"]
    assert dets[0].seg_codes is None  # the box stays, its malformed <seg> run does not


@pytest.mark.parametrize("answer", ["", "no objects here", "<loc", "<loc12><loc0001>", "<seg1>;;;<loc99999>",
                                    ";" * 50, "<loc0001>" * 3 + "<seg001>" * 40, "猫 <loc0001>\x00", "<" * 10_000])
def test_malformed_strings_never_crash(answer):
    dets, text = parse_locations(answer, 64, 48)
    for d in dets:
        x0, y0, x1, y1 = d.box
        assert 0 <= x0 <= x1 <= 64 and 0 <= y0 <= y1 <= 48


def test_coordinates_are_clipped_to_the_image():
    (det,), _ = parse_locations(loc(0, 0, 1023, 1023) + " all", width=7, height=5)
    assert det.box == (0, 0, 7, 5)


def test_bad_parse_arguments():
    with pytest.raises(InputError):
        parse_locations(None, 10, 10)
    with pytest.raises(InputError, match="positive"):
        parse_locations("x", 0, 10)


# ----------------------------------------------------------------------------- the mask decoder
def random_vae(path, seed=0):
    rng = np.random.default_rng(seed)
    shapes = {"_vq_vae._embedding": (128, 512), "decoder.0": (128, 512, 1, 1), "decoder.4": (128, 128, 4, 4),
              "decoder.6": (128, 64, 4, 4), "decoder.8": (64, 32, 4, 4), "decoder.10": (32, 16, 4, 4),
              "decoder.12": (1, 16, 1, 1)}
    for block in ("decoder.2.net", "decoder.3.net"):
        shapes.update({f"{block}.0": (128, 128, 3, 3), f"{block}.2": (128, 128, 3, 3), f"{block}.4": (128, 128, 1, 1)})
    arrays = {}
    for name, shape in shapes.items():
        fan_in = int(np.prod(shape[1:])) if len(shape) > 2 else 1
        if name.startswith("_vq"):
            arrays[name] = rng.normal(0, 1, shape).astype(np.float32)
            continue
        arrays[name + ".weight"] = rng.normal(0, 1 / np.sqrt(fan_in), shape).astype(np.float32)
        out = shape[1] if name in ("decoder.4", "decoder.6", "decoder.8", "decoder.10") else shape[0]
        arrays[name + ".bias"] = rng.normal(0, 0.1, out).astype(np.float32)
    np.savez(path, **arrays)
    return path


def test_mask_decoder_shapes_and_range(tmp_path):
    decoder = MaskDecoder.from_npz(random_vae(tmp_path / "vae-oid.npz"))
    codes = torch.randint(0, 128, (3, 16))
    assert decoder(codes).shape == (3, 64, 64)
    answer = f"{loc(100, 200, 600, 900)}{seg(*range(16))} cat ; {loc(0, 0, 10, 10)} speck"
    result = parse(answer, (320, 240), decoder=decoder)
    cat, speck = result.detections
    assert cat.mask.shape == (240, 320) and cat.mask.dtype == np.float32
    assert 0.0 <= cat.mask.min() and cat.mask.max() <= 1.0
    x0, y0, x1, y1 = cat.box
    outside = cat.mask.copy()
    outside[y0:y1, x0:x1] = 0
    assert not outside.any() and cat.mask[y0:y1, x0:x1].std() > 0
    assert speck.mask is None and result.mask_note is None
    with pytest.raises(InputError):
        decoder(torch.tensor([[128] * 16]))
    with pytest.raises(InputError):
        decoder(torch.zeros(1, 15, dtype=torch.long))


def test_bad_vae_file(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(CheckpointError):
        MaskDecoder.from_npz(tmp_path / "bad.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(CheckpointError, match="_vq_vae"):
        MaskDecoder.from_npz(tmp_path / "other.npz")


def test_without_decoder_weights_boxes_still_work(monkeypatch, tmp_path):
    import gitdemo.pipeline.segmask as outputs

    monkeypatch.setattr(outputs, "_DECODER", None)
    monkeypatch.delenv(outputs.VAE_ENV, raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))  # an empty cache
    monkeypatch.setattr(weights, "hub_reachable", lambda *a, **k: False)
    result = parse(f"{loc(0, 0, 512, 512)}{seg(*[3] * 16)} cat", (100, 100))
    assert [d.box for d in result.detections] == [(0, 0, 50, 50)]
    assert result.detections[0].mask is None
    assert "Masks are unavailable" in result.mask_note and outputs.VAE_ENV in result.mask_note


def test_masks_in_image_handles_empty_boxes(tmp_path):
    decoder = MaskDecoder.from_npz(random_vae(tmp_path / "v.npz"))
    dets, _ = parse_locations(f"{loc(5, 5, 5, 5)}{seg(*range(16))} flat", 50, 50)
    masks_in_image(decoder, dets, 50, 50)
    assert dets[0].mask.shape == (50, 50) and not dets[0].mask.any()


def test_task_prompts():
    from gitdemo.processing.paligemma import task_prompt

    assert task_prompt("caption") == "caption en"
    assert task_prompt("answer", "  what is  this? ", lang="fr") == "answer fr what is this?"
    assert task_prompt("detect", "cat;dog ; ; red car") == "detect cat ; dog ; red car"
    assert task_prompt("ocr") == "ocr"
    with pytest.raises(InputError, match="Unknown task"):
        task_prompt("draw")
    with pytest.raises(InputError, match="needs some text"):
        task_prompt("segment", "  ")
    with pytest.raises(InputError, match="language code"):
        task_prompt("caption", lang="en <bos>")
