"""Our PaliGemma / PaliGemma 2 against the reference (`transformers.PaliGemmaForConditionalGeneration`).

Each checkpoint is written by the reference itself (`save_pretrained`: config.json + safetensors in
its own key layout) and read back through `gitdemo.load_model`, so loading is under test too.
Weights are re-drawn larger than the reference's initialisation so that every quirk (the
1 + weight norms, soft-capping, the sliding window, the prefix block) moves the logits.
"""
import json
import math

import pytest
import torch

import gitdemo
from gitdemo.errors import CheckpointError, InputError
from gitdemo.models.paligemma import PaliGemmaConfig

transformers = pytest.importorskip("transformers")

VISION = dict(model_type="siglip_vision_model", hidden_size=32, intermediate_size=40, num_hidden_layers=2,
              num_attention_heads=4, image_size=24, patch_size=8, vision_use_head=False)  # 3 x 3 patches
TINY = {
    # PaliGemma: Gemma, multi-query attention, head_dim != hidden / heads, <image> id outside the vocab
    "gemma": dict(text_config=dict(model_type="gemma", vocab_size=160, hidden_size=32, intermediate_size=48,
                                   num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1, head_dim=16),
                  image_token_index=160, projection_dim=32),
    # PaliGemma 2: Gemma 2, grouped-query attention, a 5-token window (prompts are ~15 tokens),
    # soft caps low enough to bite, an attention scale that is not head_dim ** -0.5
    "gemma2": dict(text_config=dict(model_type="gemma2", vocab_size=170, hidden_size=24, intermediate_size=40,
                                    num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=8,
                                    sliding_window=5, query_pre_attn_scalar=10, attn_logit_softcapping=3.0,
                                    final_logit_softcapping=4.0),
                   image_token_index=169, projection_dim=24),
}
N_IMG, BOS, EOS, PAD = 9, 2, 1, 0


def write_reference(folder, spec, seed=0):
    torch.manual_seed(seed)
    cfg = transformers.PaliGemmaConfig(vision_config=dict(VISION), **json.loads(json.dumps(spec)))
    ref = transformers.PaliGemmaForConditionalGeneration(cfg).eval()
    with torch.no_grad():
        for p in ref.parameters():  # larger than the reference's init; norms far from 1 + 0
            p.normal_(0, 0.4 if p.ndim == 1 else 1.5 / math.sqrt(p[0].numel()))
        # small (tied) embeddings and a strong final norm: the residual stream is not just the last
        # token's embedding, so greedy paths wander instead of repeating one token
        lm = ref.model.language_model
        lm.embed_tokens.weight.normal_(0, 0.2 / math.sqrt(lm.embed_tokens.weight.shape[1]))
        lm.norm.weight.normal_(5.0, 1.0)
    ref.save_pretrained(folder)
    return ref


@pytest.fixture(scope="module", params=sorted(TINY))
def pair(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param)
    ref = write_reference(folder, TINY[request.param])
    return request.param, ref, gitdemo.load_model(folder, dtype="float32"), folder


def batch(spec, prompts, suffixes=None, seed=1):
    """Rows laid out as the processor does: [pad] <image> x N <bos> prompt (+ suffix), left-padded."""
    g = torch.Generator().manual_seed(seed)
    vocab, img = spec["text_config"]["vocab_size"], spec["image_token_index"]
    rows, types = [], []
    for i, n in enumerate(prompts):
        prefix = [img] * N_IMG + [BOS] + torch.randint(3, vocab - 1, (n,), generator=g).tolist()
        suffix = torch.randint(3, vocab - 1, (suffixes[i],), generator=g).tolist() + [EOS] if suffixes else []
        rows.append(prefix + suffix)
        types.append([0] * len(prefix) + [1] * len(suffix))
    length = max(map(len, rows))
    ids = torch.full((len(rows), length), PAD)
    mask, tt = torch.zeros_like(ids), torch.zeros_like(ids)
    for i, (r, t) in enumerate(zip(rows, types)):
        span = slice(length - len(r), length)
        ids[i, span], mask[i, span], tt[i, span] = torch.tensor(r), 1, torch.tensor(t)
    labels = ids.masked_fill(tt == 0, -100)
    pixels = torch.randn(len(rows), 3, VISION["image_size"], VISION["image_size"], generator=g)
    return dict(input_ids=ids, attention_mask=mask, token_type_ids=tt, pixel_values=pixels), labels


@pytest.mark.parametrize("case", ["suffix", "prefix_only", "no_token_types"])
def test_forward_logits_loss_attentions(pair, case):
    name, ref, ours, _ = pair
    inputs, labels = batch(TINY[name], [4, 7], suffixes=[3, 5] if case == "suffix" else None)
    if case == "no_token_types":  # the reference is then causal everywhere; so must we be
        inputs.pop("token_type_ids")
    kw = dict(labels=labels) if case == "suffix" else {}
    with torch.no_grad():
        r = ref(**inputs, **kw)  # the reference's default path (SDPA for Gemma, eager for Gemma 2)
        o = ours(**inputs, **kw)  # ours: fused SDPA unless soft-capping
        ref.set_attn_implementation("eager")  # the reference records attention only when eager
        try:
            r_att = ref(**inputs, **kw, output_attentions=True).attentions
        finally:
            ref.set_attn_implementation("sdpa" if name == "gemma" else "eager")
        o_att = ours(**inputs, **kw, output_attentions=True).attentions
    real = inputs["attention_mask"].bool()  # padded positions' outputs are never used (nor compared)
    assert o.logits.shape == r.logits.shape
    assert (o.logits - r.logits)[real].abs().max() <= 1e-4
    assert r.logits[real].std() > 0.5  # the test weights make logits that differ
    if case == "suffix":
        assert abs(o.loss.item() - r.loss.item()) <= 1e-4
    assert len(o_att) == len(r_att) == len(ours.model.language_model.layers)
    for a, b in zip(o_att, r_att):
        assert (a - b).transpose(1, 2)[real].abs().max() <= 1e-4  # rows of real queries


def test_masks_are_the_prefix_lm_rule(pair):
    """Hand-written: [pad, img, img, bos, p | s1, s2]; prefix one block, suffix causal, pad never seen."""
    _, _, ours, _ = pair
    img = ours.config.image_token_index
    ids = torch.tensor([[PAD, img, img, BOS, 7, 8, 9]])
    mask = ours.mask_for(ids, torch.tensor([[0, 1, 1, 1, 1, 1, 1]]), torch.tensor([[0, 0, 0, 0, 0, 1, 1]]))
    expected = torch.tensor([[0, 1, 1, 1, 1, 0, 0]] * 5 + [[0, 1, 1, 1, 1, 1, 0], [0, 1, 1, 1, 1, 1, 1]]).bool()
    assert torch.equal(mask[0, 0], expected)


def test_greedy_matches_reference(pair):
    name, ref, ours, _ = pair
    inputs, _ = batch(TINY[name], [3, 6], seed=5)
    want = ref.generate(**inputs, max_new_tokens=10, do_sample=False)
    got = ours.generate(**inputs, max_new_tokens=10)
    assert torch.equal(got, want)


def test_batched_prompts_equal_one_by_one(pair):
    name, _, ours, _ = pair
    inputs, _ = batch(TINY[name], [2, 8, 5], seed=7)
    together = ours.generate(**inputs, max_new_tokens=8)
    length = inputs["input_ids"].shape[1]
    for i in range(3):
        real = inputs["attention_mask"][i].bool()
        alone = ours.generate(**{k: v[i:i + 1, real] if k != "pixel_values" else v[i:i + 1] for k, v in inputs.items()},
                              max_new_tokens=8)
        assert torch.equal(alone[0, real.sum():], together[i, length:])


def test_generation_protocol_records_attention(pair):
    """Through the lead's generation: one record per step, per layer, over every key so far."""
    name, _, ours, _ = pair
    inputs, _ = batch(TINY[name], [4], seed=9)
    inputs.pop("token_type_ids")
    out = ours.generate(**inputs, max_new_tokens=3, output_attentions=True, return_dict=True)
    length = inputs["input_ids"].shape[1]
    assert len(out.attentions) == 3 and len(out.attentions[0]) == ours.config.text_config.num_hidden_layers
    assert [step[0].shape[-1] for step in out.attentions] == [length, length + 1, length + 2]
    assert torch.allclose(out.attentions[1][0].sum(-1), torch.ones(1, 4), atol=1e-5)


def test_generation_records_only_the_newest_row(pair):
    """Generation asks for AttentionRecord.LAST_ROW: each step's record equals that row of a full forward."""
    name, _, ours, _ = pair
    inputs, _ = batch(TINY[name], [4], seed=9)
    inputs.pop("token_type_ids")
    out = ours.generate(**inputs, max_new_tokens=3, output_attentions=True, return_dict=True)
    assert out.vision_attentions is None  # SigLIP has no CLS row to stand for the newest one
    seq = out.sequences[:, :-1]
    types = torch.cat([torch.zeros_like(inputs["input_ids"]), torch.ones_like(seq[:, inputs["input_ids"].shape[1]:])], 1)
    full = ours(input_ids=seq, pixel_values=inputs["pixel_values"], token_type_ids=types, output_attentions=True)
    length = inputs["input_ids"].shape[1]
    for i, layers in enumerate(out.attentions):
        for a, b in zip(layers, full.attentions, strict=True):
            torch.testing.assert_close(a, b[:, :, length - 1 + i, : length + i].float(), atol=1e-5, rtol=1e-4)


def test_prompt_without_image_tokens_gets_them(pair):
    name, _, ours, _ = pair
    inputs, _ = batch(TINY[name], [3], seed=11)
    ids = inputs["input_ids"]
    text_only = ids[:, N_IMG:]
    with_placeholders = ours.generate(pixel_values=inputs["pixel_values"], input_ids=ids, max_new_tokens=4)
    without = ours.generate(pixel_values=inputs["pixel_values"], input_ids=text_only, max_new_tokens=4)
    assert torch.equal(with_placeholders[:, ids.shape[1]:], without[:, text_only.shape[1]:])


def test_public_checkpoint_names_and_shards(pair, tmp_path):
    """The released checkpoints' names (vision_tower.vision_model.*, language_model.model.*, an explicit
    language_model.lm_head) in two shards behind an index file load to the same logits."""
    name, ref, _, folder = pair
    state = {}
    for k, v in ref.state_dict().items():
        k = k.replace("model.vision_tower.", "vision_tower.vision_model.").replace("model.language_model.",
                                                                                 "language_model.model.")
        k = k.replace("model.multi_modal_projector.", "multi_modal_projector.").replace("lm_head.",
                                                                                       "language_model.lm_head.")
        state[k] = v.clone().contiguous()
    from safetensors.torch import save_file

    keys = sorted(state)
    shards = {"model-00001-of-00002.safetensors": keys[::2], "model-00002-of-00002.safetensors": keys[1::2]}
    for file, ks in shards.items():
        save_file({k: state[k] for k in ks}, str(tmp_path / file))
    index = {"metadata": {}, "weight_map": {k: f for f, ks in shards.items() for k in ks}}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    (tmp_path / "config.json").write_text((folder / "config.json").read_text())
    ours = gitdemo.load_model(tmp_path, dtype="float32")
    inputs, _ = batch(TINY[name], [5])
    with torch.no_grad():
        assert (ours(**inputs).logits - ref(**inputs).logits).abs().max() <= 1e-4


def test_bfloat16_by_default_with_one_tied_embedding(pair):
    """The demo's default: bfloat16 on the CPU. Same roundings as the reference in bfloat16."""
    name, _, _, folder = pair
    ours = gitdemo.load_model(folder)
    assert ours.dtype == torch.bfloat16
    assert ours.lm_head.weight is ours.model.language_model.embed_tokens.weight
    ref = transformers.PaliGemmaForConditionalGeneration.from_pretrained(folder, dtype=torch.bfloat16).eval()
    inputs, _ = batch(TINY[name], [3, 6], seed=5)
    with torch.no_grad():
        o, r = ours(**inputs).logits.float(), ref(**inputs).logits.float()
    real = inputs["attention_mask"].bool()
    assert (o - r)[real].abs().max() <= 0.02 * r[real].abs().max()
    assert torch.equal(ours.generate(**inputs, max_new_tokens=10),
                       ref.generate(**inputs, max_new_tokens=10, do_sample=False))


def test_missing_weight_is_named(pair, tmp_path):
    _, ref, _, folder = pair
    from safetensors.torch import save_file

    state = {k: v.contiguous() for k, v in ref.state_dict().items() if "post_layernorm.weight" not in k
             and k != "lm_head.weight"}
    save_file(state, str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text((folder / "config.json").read_text())
    with pytest.raises(CheckpointError, match="post_layernorm.weight"):
        gitdemo.load_model(tmp_path)


def test_bad_inputs_raise_clear_errors(pair):
    name, _, ours, _ = pair
    inputs, _ = batch(TINY[name], [3])
    short = dict(inputs, input_ids=inputs["input_ids"][:, 2:], attention_mask=inputs["attention_mask"][:, 2:],
                 token_type_ids=inputs["token_type_ids"][:, 2:])
    with pytest.raises(InputError, match="<image> tokens"):
        ours(**short)
    with pytest.raises(InputError, match="24x24"):
        ours(**dict(inputs, pixel_values=torch.zeros(1, 3, 32, 32)))
    with pytest.raises(InputError, match="Token ids"):
        ours(**dict(inputs, input_ids=inputs["input_ids"].masked_fill(inputs["input_ids"] == BOS, 10_000)))
    with pytest.raises(InputError):
        ours(**dict(inputs, pixel_values=torch.zeros(1, 2, 3, 24, 24)))


# ----------------------------------------------------------------------------- released configs
GEMMA_3B_TEXT = dict(hidden_size=2048, intermediate_size=16384, model_type="gemma", num_attention_heads=8,
                     num_hidden_layers=18, num_image_tokens=256, num_key_value_heads=1, torch_dtype="float32",
                     vocab_size=257216)
SIGLIP_SO400M = dict(hidden_size=1152, intermediate_size=4304, model_type="siglip_vision_model",
                     num_attention_heads=16, num_hidden_layers=27, num_image_tokens=256, patch_size=14,
                     projection_dim=2048, projector_hidden_act="gelu_fast", vision_use_head=False)


def released(kind: str, size: int) -> dict:
    """config.json of google/paligemma-3b-*-{size} and google/paligemma2-{3b,10b}-*-{size} (as published)."""
    tokens = (size // 14) ** 2
    vision = dict(SIGLIP_SO400M, num_image_tokens=tokens, **({"image_size": size} if size != 224 else {}))
    top = dict(architectures=["PaliGemmaForConditionalGeneration"], bos_token_id=2, eos_token_id=1, pad_token_id=0,
               hidden_size=2048, ignore_index=-100, image_token_index=257152, model_type="paligemma",
               transformers_version="4.41.0.dev0")
    if kind == "paligemma-3b":
        return dict(top, projection_dim=2048, text_config=dict(GEMMA_3B_TEXT, num_image_tokens=tokens),
                    vision_config=vision)
    hidden, inter, layers, heads, kv = {"paligemma2-3b": (2304, 9216, 26, 8, 4),
                                        "paligemma2-10b": (3584, 14336, 42, 16, 8)}[kind]
    text = dict(hidden_activation="gelu_pytorch_tanh", hidden_size=hidden, intermediate_size=inter,
                model_type="gemma2", num_attention_heads=heads, num_hidden_layers=layers, num_image_tokens=tokens,
                num_key_value_heads=kv, query_pre_attn_scalar=256, sliding_window=4096, torch_dtype="bfloat16",
                vocab_size=257216)
    return dict(top, projection_dim=hidden, text_config=text, torch_dtype="bfloat16",
                vision_config=dict(vision, projection_dim=hidden, num_positions=tokens, torch_dtype="bfloat16"),
                transformers_version="4.47.0.dev0")


@pytest.mark.parametrize("kind,size", [("paligemma-3b", 224), ("paligemma-3b", 448), ("paligemma-3b", 896),
                                       ("paligemma2-3b", 224), ("paligemma2-3b", 448), ("paligemma2-10b", 224),
                                       ("paligemma2-10b", 448)])
def test_released_configs_read_like_the_reference(kind, size):
    raw = released(kind, size)
    ours, ref = PaliGemmaConfig.from_dict(raw), transformers.PaliGemmaConfig(**json.loads(json.dumps(raw)))
    t, rt = ours.text_config, ref.text_config
    for f in ("model_type", "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
              "num_attention_heads", "num_key_value_heads", "head_dim", "rms_norm_eps"):
        assert getattr(t, f) == getattr(rt, f), f
    assert t.rope_theta == rt.rope_parameters["rope_theta"]
    if t.is_gemma2:
        assert t.activation == rt.hidden_activation
        for f in ("query_pre_attn_scalar", "sliding_window", "layer_types", "final_logit_softcapping",
                  "attn_logit_softcapping"):
            assert getattr(t, f) == getattr(rt, f), f
    else:
        assert t.activation == rt.hidden_act
    v, rv = ours.vision_config, ref.vision_config
    for f in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "image_size",
              "patch_size", "layer_norm_eps", "hidden_act", "vision_use_head"):
        assert getattr(v, f) == getattr(rv, f), f
    assert ours.num_image_tokens == (size // 14) ** 2 == rt.num_image_tokens
    assert ours.image_token_index == ref.image_token_index and ours.projection_dim == ref.projection_dim
    assert (ours.bos_token_id, ours.eos_token_id, ours.pad_token_id) == (2, 1, 0)


def test_config_defaults_and_errors():
    cfg = PaliGemmaConfig.from_dict({"model_type": "paligemma"})  # no sub-configs: PaliGemma's own defaults
    assert (cfg.text_config.hidden_size, cfg.text_config.num_key_value_heads, cfg.vision_config.num_hidden_layers,
            cfg.num_image_tokens) == (2048, 1, 27, 256)
    with pytest.raises(CheckpointError, match="not a PaliGemma"):
        PaliGemmaConfig.from_dict({"model_type": "git"})
    with pytest.raises(CheckpointError, match="gemma3"):
        PaliGemmaConfig.from_dict({"model_type": "paligemma", "text_config": {"model_type": "gemma3"}})
    with pytest.raises(CheckpointError, match="square"):
        PaliGemmaConfig.from_dict({"model_type": "paligemma", "vision_config": {"image_size": [224, 448]}})
