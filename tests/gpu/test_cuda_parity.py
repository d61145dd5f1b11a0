"""Parity on the GPU: our GIT and PaliGemma on the device against the reference (`transformers`, fp32 on the CPU,
the ground truth) on the same random weights, written by the reference itself: fp32 logits to 1e-4 and identical
greedy ids. Sizes: the tiny checkpoints of the CPU parity tests and git-base-sized ones (the CPU rehearsal,
GITDEMO_GPU_CHECK_DEVICE=cpu, runs the tiny ones only).
"""
from __future__ import annotations

import json
import math
import os

import pytest
import torch

import gitdemo
from gpucheck import DEVICE, REDUCED, exact_matmuls, needs_device, record

transformers = pytest.importorskip("transformers")
pytestmark = needs_device

TOL = 1e-4  # the CPU parity tests' bound; for large logits, relative to their scale (fp32 sums in another order)
GIT_SIZES = {
    "tiny": dict(vision=dict(hidden_size=36, intermediate_size=50, num_hidden_layers=2, num_attention_heads=3,
                             image_size=30, patch_size=6),
                 text=dict(vocab_size=131, hidden_size=36, num_hidden_layers=2, num_attention_heads=3,
                           intermediate_size=44, max_position_embeddings=40)),
    # git-base: CLIP ViT-B/16 at 224 px, a 6-layer 768-wide BERT decoder, BERT's vocabulary
    "base": dict(vision=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                             image_size=224, patch_size=16),
                 text=dict(vocab_size=30522, hidden_size=768, num_hidden_layers=6, num_attention_heads=12,
                           intermediate_size=3072, max_position_embeddings=1024)),
}
PALI_SIZES = {
    "tiny": dict(vision=dict(hidden_size=32, intermediate_size=40, num_hidden_layers=2, num_attention_heads=4,
                             image_size=24, patch_size=8),
                 text=dict(model_type="gemma", vocab_size=160, hidden_size=32, intermediate_size=48,
                           num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1, head_dim=16)),
    # git-base-sized: a SigLIP-B/16 at 224 px (196 patches) and a 6-layer 768-wide Gemma, multi-query attention
    "base": dict(vision=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                             image_size=224, patch_size=16),
                 text=dict(model_type="gemma", vocab_size=32000, hidden_size=768, intermediate_size=3072,
                           num_hidden_layers=6, num_attention_heads=12, num_key_value_heads=1, head_dim=64)),
}
SIZES = os.environ.get("GITDEMO_GPU_CHECK_SIZES", "tiny" if REDUCED else "tiny,base").split(",")
BOS, EOS = 101, 102  # GIT (BERT's [CLS] / [SEP])
PALI_BOS, PALI_EOS, PALI_PAD = 2, 1, 0


def _close(name: str, ours: torch.Tensor, ref: torch.Tensor, greedy_same: bool) -> None:
    diff, scale = float((ours.float().cpu() - ref).abs().max()), float(ref.abs().max())
    record(f"parity-{name}", {"max_abs_diff": diff, "logit_scale": scale, "greedy_identical": greedy_same})
    assert diff <= TOL * max(1.0, scale), (name, diff, scale)
    assert greedy_same, name


# ----------------------------------------------------------------------------- GIT
def _git_reference(folder, spec):
    torch.manual_seed(0)
    cfg = transformers.GitConfig(vision_config=spec["vision"], bos_token_id=BOS, eos_token_id=EOS, **spec["text"])
    ref = transformers.GitForCausalLM(cfg).eval()
    with torch.no_grad():  # sharper logits, so greedy paths are distinct
        ref.output.weight.mul_(3.0)
    ref.save_pretrained(folder)
    return ref


@pytest.mark.parametrize("size", SIZES)
def test_git_fp32_on_the_device_matches_the_reference(size, tmp_path):
    exact_matmuls()
    spec = GIT_SIZES[size]
    ref = _git_reference(tmp_path, spec)
    ours = gitdemo.load_model(tmp_path, device=DEVICE, progress=False)
    assert next(ours.parameters()).device.type == torch.device(DEVICE).type
    side = spec["vision"]["image_size"]
    px = torch.randn(2, 3, side, side, generator=torch.Generator().manual_seed(1))
    ids = torch.randint(0, spec["text"]["vocab_size"], (2, 9), generator=torch.Generator().manual_seed(3))
    ids[:, 0] = BOS
    with torch.no_grad():
        r = ref(input_ids=ids, pixel_values=px).logits
        o = ours(input_ids=ids.to(DEVICE), pixel_values=px.to(DEVICE)).logits
        want = ref.generate(pixel_values=px, max_new_tokens=10, do_sample=False)
        got = ours.generate(pixel_values=px.to(DEVICE), max_new_tokens=10)
    assert o.shape == r.shape
    _close(f"git-{size}", o, r, torch.equal(got.cpu(), want))


# ----------------------------------------------------------------------------- PaliGemma
def _pali_reference(folder, spec):
    """Weights re-drawn larger than the reference's init, as in tests/test_paligemma.py, so every quirk (the
    1 + weight norms, the prefix block) moves the logits."""
    torch.manual_seed(0)
    vocab = spec["text"]["vocab_size"]
    cfg = transformers.PaliGemmaConfig(vision_config=dict(model_type="siglip_vision_model", vision_use_head=False,
                                                          **spec["vision"]),
                                       text_config=json.loads(json.dumps(spec["text"])), image_token_index=vocab - 1,
                                       projection_dim=spec["text"]["hidden_size"])
    ref = transformers.PaliGemmaForConditionalGeneration(cfg).eval()
    with torch.no_grad():
        for p in ref.parameters():
            p.normal_(0, 0.4 if p.ndim == 1 else 1.5 / math.sqrt(p[0].numel()))
        lm = ref.model.language_model
        lm.embed_tokens.weight.normal_(0, 0.2 / math.sqrt(lm.embed_tokens.weight.shape[1]))
        lm.norm.weight.normal_(5.0, 1.0)
    ref.save_pretrained(folder)
    return ref


def _pali_inputs(spec, prompt_len: int = 6, seed: int = 1) -> dict:
    """One row as the processor lays it out: <image> x N, <bos>, the prompt; all prefix."""
    g = torch.Generator().manual_seed(seed)
    v, vocab = spec["vision"], spec["text"]["vocab_size"]
    n_img = (v["image_size"] // v["patch_size"]) ** 2
    ids = torch.tensor([[vocab - 1] * n_img + [PALI_BOS] + torch.randint(3, vocab - 2, (prompt_len,),
                                                                          generator=g).tolist()])
    return dict(input_ids=ids, attention_mask=torch.ones_like(ids), token_type_ids=torch.zeros_like(ids),
                pixel_values=torch.randn(1, 3, v["image_size"], v["image_size"], generator=g))


@pytest.mark.parametrize("size", SIZES)
def test_paligemma_fp32_on_the_device_matches_the_reference(size, tmp_path):
    exact_matmuls()
    spec = PALI_SIZES[size]
    ref = _pali_reference(tmp_path, spec)
    ours = gitdemo.load_model(tmp_path, dtype="float32", device=DEVICE, progress=False)
    inputs = _pali_inputs(spec)
    on_device = {k: v.to(DEVICE) for k, v in inputs.items()}
    with torch.no_grad():
        r = ref(**inputs).logits
        o = ours(**on_device).logits
        want = ref.generate(**inputs, max_new_tokens=10, do_sample=False)
        got = ours.generate(**on_device, max_new_tokens=10)
    assert o.shape == r.shape and r.std() > 0.5  # logits that differ from token to token
    _close(f"paligemma-{size}", o, r, torch.equal(got.cpu(), want))
