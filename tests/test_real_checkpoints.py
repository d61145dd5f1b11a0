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


def write_pali2(folder, seed=0):
    torch.manual_seed(seed)
    cfg = transformers.PaliGemmaConfig(vision_config=dict(SIGLIP), **json.loads(json.dumps(PALI2)))
    ref = transformers.PaliGemmaForConditionalGeneration(cfg).eval()
    with torch.no_grad():
        for p in ref.parameters():
            p.normal_(0, 0.4 if p.ndim == 1 else 1.5 / math.sqrt(p[0].numel()))
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
