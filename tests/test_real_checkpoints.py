"""Issue 12: what the published checkpoints' files say is honoured like the reference honours it.

dtype (config.json's dtype / torch_dtype under dtype="auto"), end-token lists, generation_config.json,
and single images on the video checkpoints. Checkpoints are written by `transformers` itself.
"""
import json
import math

import pytest
import torch

import gitdemo
from gitdemo.models.registry import DEFAULT_DTYPES, config_dtype

transformers = pytest.importorskip("transformers")

SIGLIP = dict(model_type="siglip_vision_model", hidden_size=32, intermediate_size=40, num_hidden_layers=2,
              num_attention_heads=4, image_size=24, patch_size=8, vision_use_head=False)
# PaliGemma 2's text config lists two end tokens: <eos> (1) and <end_of_turn> (107)
PALI2 = dict(text_config=dict(model_type="gemma2", vocab_size=170, hidden_size=24, intermediate_size=40,
                              num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=8,
                              query_pre_attn_scalar=10, eos_token_id=[1, 107]),
             image_token_index=169, projection_dim=24)


END_OF_TURN = 107


def write_pali2(folder, seed=0):
    torch.manual_seed(seed)
    cfg = transformers.PaliGemmaConfig(vision_config=dict(SIGLIP), **json.loads(json.dumps(PALI2)))
    ref = transformers.PaliGemmaForConditionalGeneration(cfg).eval()
    with torch.no_grad():
        for p in ref.parameters():
            p.normal_(0, 0.4 if p.ndim == 1 else 1.5 / math.sqrt(p[0].numel()))
        ref.model.language_model.embed_tokens.weight[END_OF_TURN] *= 3  # so that rows end with 107
    ref.save_pretrained(folder)
    return ref


@pytest.fixture(scope="module")
def pali2(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pali2")
    return write_pali2(folder), folder


def _edit_json(path, **changes):
    data = json.loads(path.read_text()) if path.is_file() else {}
    data.update(changes)
    for k in [k for k, v in data.items() if v is None]:
        del data[k]
    path.write_text(json.dumps(data))


# ----------------------------------------------------------------------------- 4. dtype
def test_default_dtypes_are_the_documented_ones(tiny_git_dir, pali2):
    assert DEFAULT_DTYPES == {"git": torch.float32, "paligemma": torch.bfloat16}
    assert gitdemo.load_model(tiny_git_dir, progress=False).dtype == torch.float32
    assert gitdemo.load_model(pali2[1], progress=False).dtype == torch.bfloat16


def test_auto_dtype_follows_the_checkpoint(pali2, tmp_path):
    ref, folder = pali2
    raw = json.loads((folder / "config.json").read_text())
    saved = raw.get("dtype", raw.get("torch_dtype"))
    assert saved == "float32"  # what the reference wrote (the published configs say the same)
    assert gitdemo.load_model(folder, dtype="auto", progress=False).dtype == torch.float32
    # a config saying bfloat16 (the old torch_dtype spelling) loads in bfloat16, like the reference
    for name in ("config.json", "model.safetensors"):
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    _edit_json(tmp_path / "config.json", dtype=None, torch_dtype="bfloat16")
    ours = gitdemo.load_model(tmp_path, dtype="auto", progress=False)
    theirs = transformers.PaliGemmaForConditionalGeneration.from_pretrained(tmp_path, dtype="auto")
    assert ours.dtype == theirs.dtype == torch.bfloat16
    # an explicit dtype wins over the config
    assert gitdemo.load_model(tmp_path, dtype="float32", progress=False).dtype == torch.float32
    # no dtype field at all: the weights' own dtype
    _edit_json(tmp_path / "config.json", torch_dtype=None)
    assert config_dtype(json.loads((tmp_path / "config.json").read_text()),
                        {"w": torch.zeros(1, dtype=torch.float16)}) == torch.float16
    assert gitdemo.load_model(tmp_path, dtype="auto", progress=False).dtype == torch.float32


# ----------------------------------------------------------------------------- 2. end tokens given as a list
def prompts(seed):
    """Two rows laid out as the processor does: <image> x 9, <bos>, four prompt tokens, all prefix."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.cat([torch.full((2, 9), 169), torch.full((2, 1), 2), torch.randint(3, 160, (2, 4), generator=g)], 1)
    return dict(input_ids=ids, token_type_ids=torch.zeros_like(ids), pixel_values=torch.randn(2, 3, 24, 24, generator=g))


def test_config_keeps_every_end_token(pali2):
    ours = gitdemo.load_model(pali2[1], dtype="float32", progress=False)
    assert ours.config.eos_token_ids == [1, END_OF_TURN] and ours.config.eos_token_id == 1
    assert list(pali2[0].generation_config.eos_token_id) == [1, END_OF_TURN]  # what the reference stops at


@pytest.mark.parametrize("seed", [1, 2, 6])
def test_generation_stops_at_any_end_token_like_the_reference(pali2, seed):
    ref, folder = pali2
    ours = gitdemo.load_model(folder, dtype="float32", progress=False)
    inputs = prompts(seed)
    want = ref.generate(**inputs, max_new_tokens=12, do_sample=False)
    got = ours.generate(**inputs, max_new_tokens=12)
    assert torch.equal(got, want)
    if seed in (2, 6):  # both rows end with <end_of_turn>: decoding stopped before max_new_tokens
        assert got.shape[1] < 14 + 12 and (got[:, 14:] == END_OF_TURN).any(1).all()
    steps = list(ours.stream(**inputs, max_new_tokens=12))
    assert torch.equal(torch.stack([s.token_ids for s in steps], 1), want[:, 14:])
    assert bool(steps[-1].finished.all()) == (want.shape[1] < 26)
    beams_ref = ref.generate(**inputs, max_new_tokens=12, num_beams=3, do_sample=False)
    assert torch.equal(ours.generate(**inputs, max_new_tokens=12, num_beams=3), beams_ref)
    torch.manual_seed(seed)
    sampled_ref = ref.generate(**inputs, max_new_tokens=12, do_sample=True, top_k=0)
    torch.manual_seed(seed)
    assert torch.equal(ours.generate(**inputs, max_new_tokens=12, do_sample=True), sampled_ref)


def test_an_explicit_end_token_wins(pali2):
    ref, folder = pali2
    ours = gitdemo.load_model(folder, dtype="float32", progress=False)
    inputs = prompts(6)
    want = ref.generate(**inputs, max_new_tokens=12, do_sample=False, eos_token_id=1)
    got = ours.generate(**inputs, max_new_tokens=12, eos_token_id=1)
    assert torch.equal(got, want) and got.shape[1] == 26  # 107 no longer ends a row


def test_git_config_with_a_list_of_end_tokens(tiny_git_dir, tmp_path):
    from gitdemo.models.git import GitConfig

    cfg = GitConfig.from_dict({"model_type": "git", "eos_token_id": [102, 1012]})
    assert cfg.eos_token_id == 102 and cfg.eos_token_ids == [102, 1012]
    assert cfg.to_dict()["eos_token_id"] == [102, 1012]
    assert GitConfig.from_dict({}).to_dict()["eos_token_id"] == 102
    # a tiny GIT whose config lists two end tokens stops at either, like the reference
    for name in ("config.json", "model.safetensors"):
        (tmp_path / name).write_bytes((tiny_git_dir / name).read_bytes())
    ours = gitdemo.load_model(tmp_path, progress=False)
    px = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    free = ours.generate(pixel_values=px, max_new_tokens=6, eos_token_id=-1)
    stop = int(free[0, 2])  # the second token row 0 generates
    _edit_json(tmp_path / "config.json", eos_token_id=[102, stop])
    ref = transformers.GitForCausalLM.from_pretrained(tmp_path).eval()
    ours = gitdemo.load_model(tmp_path, progress=False)
    want = ref.generate(pixel_values=px, max_new_tokens=6, do_sample=False)
    assert torch.equal(ours.generate(pixel_values=px, max_new_tokens=6), want)
    assert want[0, 2] == stop and (want[0, 3:] == 0).all()


# ----------------------------------------------------------------------------- 3. generation_config.json
def test_generation_config_json_is_honoured_and_arguments_win(tiny_git_dir, tmp_path):
    for name in ("config.json", "model.safetensors"):
        (tmp_path / name).write_bytes((tiny_git_dir / name).read_bytes())
    px = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    ours = gitdemo.load_model(tmp_path, progress=False)
    assert ours.generation_config.source == "config.json"
    free = ours.generate(pixel_values=px, max_new_tokens=8, eos_token_id=-1)
    # start from [SEP] instead of [CLS], stop at row 0's third token, pad with 7, at most 4 tokens
    gen = {"bos_token_id": 102, "eos_token_id": int(free[0, 3]), "pad_token_id": 7, "max_length": 5}
    (tmp_path / "generation_config.json").write_text(json.dumps(gen))
    ref = transformers.GitForCausalLM.from_pretrained(tmp_path).eval()
    ours = gitdemo.load_model(tmp_path, progress=False)
    assert ours.generation_config.source == "generation_config.json"
    want = ref.generate(pixel_values=px, do_sample=False)
    got = ours.generate(pixel_values=px)
    assert torch.equal(got, want) and got.shape[1] <= 5 and (got[:, 0] == 102).all()
    steps = list(ours.stream(pixel_values=px))
    assert torch.equal(torch.stack([s.token_ids for s in steps], 1), want[:, 1:])
    # arguments given to generate win over the file
    want = ref.generate(pixel_values=px, do_sample=False, max_new_tokens=6, eos_token_id=102, pad_token_id=0)
    got = ours.generate(pixel_values=px, max_new_tokens=6, eos_token_id=102, pad_token_id=0)
    assert torch.equal(got, want) and got.shape[1] == 7
    # max_new_tokens in the file wins over its max_length (the reference's rule)
    _edit_json(tmp_path / "generation_config.json", max_new_tokens=6)
    ref = transformers.GitForCausalLM.from_pretrained(tmp_path).eval()
    ours = gitdemo.load_model(tmp_path, progress=False)
    assert torch.equal(ours.generate(pixel_values=px, eos_token_id=-1),
                       ref.generate(pixel_values=px, do_sample=False, eos_token_id=-1))


# ----------------------------------------------------------------------------- 1. single images on video checkpoints
# git-base-vatex's preprocessor_config.json: VideoMAE's processor with CLIP's statistics, 224 px, bicubic
VATEX_PREPROCESSOR = {
    "do_resize": True, "size": {"shortest_edge": 224}, "resample": 3, "do_center_crop": True,
    "crop_size": {"height": 224, "width": 224}, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
    "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
    "image_processor_type": "VideoMAEImageProcessor", "processor_class": "GitProcessor"}


@pytest.fixture(scope="module")
def vatex(tmp_path_factory, bert_tokenizer_dir):
    """A tiny GIT with git-base-vatex's video fields (6 temporal embeddings, VideoMAE preprocessing)."""
    folder = tmp_path_factory.mktemp("tiny-vatex")
    torch.manual_seed(0)
    cfg = transformers.GitConfig(
        vision_config=dict(hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                           image_size=224, patch_size=32),
        vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
        max_position_embeddings=64, num_image_with_embedding=6)
    ref = transformers.GitForCausalLM(cfg).eval()
    with torch.no_grad():  # temporal embeddings large enough to move the logits
        for p in ref.git.img_temporal_embedding:
            p.normal_(0, 1.0)
    ref.save_pretrained(folder)
    for name in ("tokenizer.json", "vocab.txt", "tokenizer_config.json"):
        (folder / name).write_bytes((bert_tokenizer_dir / name).read_bytes())
    (folder / "preprocessor_config.json").write_text(json.dumps(VATEX_PREPROCESSOR))
    return ref, folder


def _photo(seed=0):
    import numpy as np
    from PIL import Image

    return Image.fromarray(np.random.default_rng(seed).integers(0, 255, (300, 260, 3), dtype=np.uint8))


def test_video_checkpoint_turns_one_image_into_a_one_frame_clip(vatex):
    from transformers.models.videomae.image_processing_pil_videomae import VideoMAEImageProcessorPil

    ref, folder = vatex
    processor = gitdemo.load_processor(folder)
    ref_proc = VideoMAEImageProcessorPil(**{k: v for k, v in VATEX_PREPROCESSOR.items() if "_class" not in k
                                            and k != "image_processor_type"})
    image = _photo()
    want = ref_proc(image, return_tensors="pt")["pixel_values"]
    assert want.shape == (1, 1, 3, 224, 224)
    got = processor(images=image)["pixel_values"]
    assert got.shape == want.shape and (got - want).abs().max() <= 1e-6
    clip = processor(videos=[image])["pixel_values"]  # a one-frame clip: the same tensor
    assert torch.equal(clip, got)


def test_video_checkpoint_answers_an_image_like_the_reference(vatex):
    from gitdemo.explain.trace import trace
    from gitdemo.pipeline import inputs as pipeline_inputs
    from gitdemo.pipeline.run import run

    ref, folder = vatex
    ours, processor = gitdemo.load_model(folder, progress=False), gitdemo.load_processor(folder)
    image = _photo(1)
    px = processor(images=image)["pixel_values"]  # (1, 1, 3, H, W)
    ids = torch.tensor([[101, 2054, 2003]])
    with torch.no_grad():
        r, o = ref(input_ids=ids, pixel_values=px).logits, ours(input_ids=ids, pixel_values=px).logits
        flat = ref(input_ids=ids, pixel_values=px[:, 0]).logits  # what the old (B, 3, H, W) path gave
    assert (r - o).abs().max() <= 1e-4
    assert (r - flat).abs().max() > 1e-3  # frame 0's temporal embedding matters
    want = ref.generate(pixel_values=px, max_new_tokens=8, do_sample=False)
    assert torch.equal(ours.generate(pixel_values=px, max_new_tokens=8), want)
    # the pipeline (CLI, tabs) and the explorer see the same one-frame clip
    inputs = pipeline_inputs.prepare(ours, processor, image)
    assert inputs.pixel_values.shape == (1, 1, 3, 224, 224) and inputs.layout.num_frames == 1
    result = run(ours, processor, image, max_new_tokens=8)
    answer = [t.id for t in result.tokens]
    assert answer == [i for i in want[0, 1:].tolist() if i != 102][: len(answer)]
    expl = trace(ours, processor, image, None, answer)
    assert expl is not None
