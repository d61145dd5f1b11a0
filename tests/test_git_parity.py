"""Our GIT against the reference (`transformers.GitForCausalLM`) on the same random weights.

Each checkpoint is written by the reference itself (config.json + model.safetensors) and read
back through `gitdemo.load_model`, so the loading code is under test too.
"""
import json

import pytest
import torch

import gitdemo
from gitdemo.errors import CheckpointError, HubError

transformers = pytest.importorskip("transformers")

TINY = {
    # odd sizes everywhere: 3 heads of 12, 5 x 5 patches, vocab not a power of two
    "odd": dict(vision=dict(hidden_size=36, intermediate_size=50, num_hidden_layers=2, num_attention_heads=3,
                            image_size=30, patch_size=6),
                text=dict(vocab_size=131, hidden_size=36, num_hidden_layers=2, num_attention_heads=3,
                          intermediate_size=44, max_position_embeddings=40)),
    # a video checkpoint: 3 frames, each with its temporal embedding
    "video": dict(vision=dict(hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                              image_size=32, patch_size=8),
                  text=dict(vocab_size=140, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                            intermediate_size=48, max_position_embeddings=48, num_image_with_embedding=3)),
    # like git-base-textvqa: a bigger image than the usual 224 relative to the patch (10 x 10 grid)
    "480px": dict(vision=dict(hidden_size=32, intermediate_size=40, num_hidden_layers=1, num_attention_heads=2,
                              image_size=80, patch_size=8),
                  text=dict(vocab_size=150, hidden_size=40, num_hidden_layers=3, num_attention_heads=5,
                            intermediate_size=60, max_position_embeddings=64)),
}
BOS, EOS = 101, 102


def write_reference(tmp_path, spec, seed=0, sharpen=3.0, **save_kwargs):
    """A random reference model saved in its own layout; logits sharpened so greedy paths are distinct."""
    torch.manual_seed(seed)
    cfg = transformers.GitConfig(vision_config=spec["vision"], bos_token_id=BOS, eos_token_id=EOS, **spec["text"])
    ref = transformers.GitForCausalLM(cfg).eval()
    with torch.no_grad():
        ref.output.weight.mul_(sharpen)
        ref.output.bias[EOS] += 0.5  # make eos come up now and then
    ref.save_pretrained(tmp_path, **save_kwargs)
    return ref


def pixels(spec, batch, seed=1):
    g = torch.Generator().manual_seed(seed)
    v = spec["vision"]
    frames = spec["text"].get("num_image_with_embedding")
    shape = (batch, frames, 3, v["image_size"], v["image_size"]) if frames else (batch, 3, v["image_size"], v["image_size"])
    return torch.randn(shape, generator=g)


@pytest.fixture(scope="module", params=sorted(TINY))
def pair(request, tmp_path_factory):
    spec = TINY[request.param]
    folder = tmp_path_factory.mktemp(request.param)
    ref = write_reference(folder, spec)
    return spec, ref, gitdemo.load_model(folder)


def test_forward_logits_loss_attentions(pair):
    spec, ref, ours = pair
    px = pixels(spec, 2)
    ids = torch.randint(0, spec["text"]["vocab_size"], (2, 9), generator=torch.Generator().manual_seed(3))
    ids[:, 0] = BOS
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0  # right padding on the second row
    labels = ids.masked_fill(mask == 0, -100)
    with torch.no_grad():
        r = ref(input_ids=ids, pixel_values=px, attention_mask=mask, labels=labels, output_attentions=True)
        o = ours(input_ids=ids, pixel_values=px, attention_mask=mask, labels=labels, output_attentions=True)
    assert o.logits.shape == r.logits.shape  # image and text positions, as the reference
    n_img = r.logits.shape[1] - ids.shape[1]
    assert (o.logits[:, n_img:] - r.logits[:, n_img:]).abs().max() <= 1e-4
    assert (o.logits[0] - r.logits[0]).abs().max() <= 1e-4
    assert abs(o.loss.item() - r.loss.item()) <= 1e-4
    assert len(o.attentions) == len(r.attentions)
    for a, b in zip(o.attentions, r.attentions):
        assert a.shape == b.shape
        assert (a - b).abs().max() <= 1e-5


def test_greedy_beam_and_vqa_generation_match(pair):
    spec, ref, ours = pair
    px = pixels(spec, 3, seed=5)
    with torch.no_grad():
        for kwargs in (dict(max_new_tokens=10), dict(max_new_tokens=10, num_beams=3)):
            expected = ref.generate(pixel_values=px, **kwargs)
            got = ours.generate(pixel_values=px, **kwargs)
            assert torch.equal(got, expected), kwargs
        prompt = torch.tensor([[BOS, 7, 11, 13, 17]] * 3)  # [CLS] + question, no [SEP]
        expected = ref.generate(pixel_values=px, input_ids=prompt, max_new_tokens=6)
        got = ours.generate(pixel_values=px, input_ids=prompt, max_new_tokens=6)
        assert torch.equal(got, expected)
        assert torch.equal(got[:, :5], prompt)


def test_batched_prompts_with_padding_equal_one_by_one(pair):
    spec, _, ours = pair
    px = pixels(spec, 3, seed=7)
    prompts = [[BOS, 5], [BOS, 9, 12, 30, 4], [BOS]]
    width = max(map(len, prompts))
    ids = torch.zeros(3, width, dtype=torch.long)
    mask = torch.zeros(3, width, dtype=torch.long)
    for i, p in enumerate(prompts):  # left padding
        ids[i, width - len(p):] = torch.tensor(p)
        mask[i, width - len(p):] = 1
    batch = ours.generate(pixel_values=px, input_ids=ids, attention_mask=mask, max_new_tokens=8, eos_token_id=-1)
    for i, p in enumerate(prompts):
        alone = ours.generate(pixel_values=px[i:i + 1], input_ids=torch.tensor([p]), max_new_tokens=8,
                              eos_token_id=-1)
        assert torch.equal(batch[i, width:], alone[0, len(p):]), i


def test_prefill_then_steps_equal_full_forward(pair):
    spec, _, ours = pair
    px = pixels(spec, 2, seed=9)
    ids = torch.randint(0, spec["text"]["vocab_size"], (2, 8), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        full = ours(input_ids=ids, pixel_values=px).logits[:, -ids.shape[1]:]
        cache = ours.new_cache()
        pos = torch.arange(3).expand(2, 3)
        step, _, _ = ours.prefill(px, ids[:, :3], None, pos, cache)
        logits = [step.logits[:, -3:]]
        for t in range(3, ids.shape[1]):
            logits.append(ours.step(ids[:, t:t + 1], cache).logits)
    assert (torch.cat(logits, 1) - full).abs().max() <= 1e-4


def test_streaming_yields_the_generated_tokens_with_attention(pair):
    spec, _, ours = pair
    px = pixels(spec, 1, seed=11)
    tokens = ours.generate(pixel_values=px, max_new_tokens=6)[0, 1:]
    steps = list(ours.stream(pixel_values=px, max_new_tokens=6, output_attentions=True))
    assert torch.equal(torch.stack([s.token_ids[0] for s in steps]), tokens)
    n_img = ours.config.num_image_tokens
    for i, s in enumerate(steps):
        assert len(s.attentions) == ours.config.num_hidden_layers
        assert s.attentions[0].shape == (1, ours.config.num_attention_heads, n_img + 1 + i)
        torch.testing.assert_close(s.attentions[0].sum(-1), torch.ones(1, ours.config.num_attention_heads))


def test_last_row_record_is_the_last_row_of_the_full_record(pair):
    """AttentionRecord.LAST_ROW (what generation asks for) keeps exactly the newest decoder row of FULL
    and, in the CLIP tower, its CLS row; NONE keeps nothing; a public bool converts to FULL / NONE."""
    from gitdemo.models.layers import AttentionRecord

    spec, _, ours = pair
    px = pixels(spec, 2, seed=13)
    ids = torch.randint(0, spec["text"]["vocab_size"], (2, 5), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        full, _, full_vision = ours.prefill(px, ids, output_attentions=AttentionRecord.FULL)
        last, _, last_vision = ours.prefill(px, ids, output_attentions=AttentionRecord.LAST_ROW)
        none, _, none_vision = ours.prefill(px, ids, output_attentions=AttentionRecord.NONE)
    assert none.attentions is None and none_vision is None
    for a, b in zip(full.attentions, last.attentions, strict=True):
        assert b.shape == a[:, :, -1:].shape
        torch.testing.assert_close(b, a[:, :, -1:], atol=1e-5, rtol=1e-4)
    for a, b in zip(full_vision, last_vision, strict=True):
        torch.testing.assert_close(b, a[:, :, :1], atol=1e-5, rtol=1e-4)
    assert AttentionRecord.of(True) is AttentionRecord.FULL and AttentionRecord.of(False) is AttentionRecord.NONE
    with pytest.raises(TypeError):
        AttentionRecord.of("last")


def test_attention_records_are_per_call(pair):
    """Recording in one call leaves no trace in another: records are returned, never stored."""
    spec, _, ours = pair
    a = ours.generate(pixel_values=pixels(spec, 1, seed=1), max_new_tokens=3, output_attentions=True,
                      return_dict=True)
    b = ours.generate(pixel_values=pixels(spec, 1, seed=2), max_new_tokens=3, return_dict=True)
    assert a.attentions is not None and b.attentions is None
    assert not any(isinstance(v, torch.Tensor) for v in vars(ours).values())


def test_git_base_sized_parity(tmp_path):
    """One real-sized case: git-base shapes (ViT-B/16 at 224, 6 x 768 decoder), random weights."""
    spec = dict(vision=dict(), text=dict())
    ref = write_reference(tmp_path, spec, sharpen=1.0)
    ours = gitdemo.load_model(tmp_path)
    px = pixels(dict(vision=dict(image_size=224), text={}), 1)
    ids = torch.tensor([[BOS, 1037, 2158, 2006, 1037]])
    with torch.no_grad():
        r = ref(input_ids=ids, pixel_values=px, labels=ids)
        o = ours(input_ids=ids, pixel_values=px, labels=ids)
        assert (o.logits - r.logits).abs().max() <= 1e-4
        assert abs(o.loss.item() - r.loss.item()) <= 1e-4
        assert torch.equal(ours.generate(pixel_values=px, max_new_tokens=5, num_beams=3),
                           ref.generate(pixel_values=px, max_new_tokens=5, num_beams=3))


# ----------------------------------------------------------------------------- checkpoint formats
def test_sharded_bin_and_half_precision_checkpoints(tmp_path):
    spec = TINY["odd"]
    ref = write_reference(tmp_path / "sharded", spec, max_shard_size="20KB")
    assert (tmp_path / "sharded" / "model.safetensors.index.json").exists()
    px = pixels(spec, 1)
    with torch.no_grad():
        expected = ref(pixel_values=px, input_ids=torch.tensor([[BOS]])).logits
        got = gitdemo.load_model(tmp_path / "sharded")(pixel_values=px, input_ids=torch.tensor([[BOS]])).logits
    assert (got - expected).abs().max() <= 1e-4
    # a pytorch_model.bin (read with weights_only=True)
    torch.save(ref.state_dict(), tmp_path / "pytorch_model.bin")
    (tmp_path / "config.json").write_text((tmp_path / "sharded" / "config.json").read_text())
    with torch.no_grad():
        got = gitdemo.load_model(tmp_path)(pixel_values=px, input_ids=torch.tensor([[BOS]])).logits
    assert (got - expected).abs().max() <= 1e-4
    for dtype in ("bfloat16", torch.float16):
        m = gitdemo.load_model(tmp_path / "sharded", dtype=dtype)
        assert m.dtype == (torch.bfloat16 if dtype == "bfloat16" else torch.float16)
        assert m.generate(pixel_values=px, max_new_tokens=3).shape[0] == 1


def test_legacy_temperal_key_spelling_loads(tmp_path):
    """The public video checkpoints spell it `img_temperal_embedding`; both spellings must load."""
    from safetensors.torch import load_file, save_file

    spec = TINY["video"]
    ref = write_reference(tmp_path, spec)
    state = load_file(tmp_path / "model.safetensors")
    legacy = {k.replace("img_temporal_embedding", "img_temperal_embedding"): v for k, v in state.items()}
    assert legacy.keys() != state.keys()
    save_file(legacy, tmp_path / "model.safetensors", metadata={"format": "pt"})
    px = pixels(spec, 1)
    with torch.no_grad():
        expected = ref(pixel_values=px, input_ids=torch.tensor([[BOS]])).logits
        got = gitdemo.load_model(tmp_path)(pixel_values=px, input_ids=torch.tensor([[BOS]])).logits
    assert (got - expected).abs().max() <= 1e-4


# ----------------------------------------------------------------------------- bad checkpoints and inputs
@pytest.fixture()
def good_folder(tmp_path):
    write_reference(tmp_path, TINY["odd"])
    return tmp_path


def test_missing_weights_are_named(good_folder):
    from safetensors.torch import load_file, save_file

    state = load_file(good_folder / "model.safetensors")
    del state["output.bias"]
    state["extra.weight"] = torch.zeros(1)
    save_file(state, good_folder / "model.safetensors")
    with pytest.raises(CheckpointError, match=r"missing 1 weight\(s\): output.bias.*unexpected 1 weight\(s\): extra.weight"):
        gitdemo.load_model(good_folder)


def test_wrong_shapes_are_named(good_folder):
    cfg = json.loads((good_folder / "config.json").read_text())
    cfg["intermediate_size"] = 48
    (good_folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match=r"wrong shape.*intermediate.dense.weight"):
        gitdemo.load_model(good_folder)


def test_corrupt_safetensors(good_folder):
    data = (good_folder / "model.safetensors").read_bytes()
    (good_folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        gitdemo.load_model(good_folder)


def test_non_git_config_and_empty_folder(good_folder, tmp_path_factory):
    cfg = json.loads((good_folder / "config.json").read_text())
    cfg["model_type"] = "bert"
    (good_folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="Unsupported model_type 'bert'"):
        gitdemo.load_model(good_folder)
    with pytest.raises(CheckpointError, match="No config.json"):
        gitdemo.load_model(tmp_path_factory.mktemp("empty"))
    with pytest.raises(CheckpointError, match="neither a model folder nor a Hub repo id"):
        gitdemo.load_model("/no/such/folder")


def test_bad_tensor_inputs(pair):
    spec, _, ours = pair
    from gitdemo.errors import InputError

    with pytest.raises(InputError, match="expects"):
        ours(pixel_values=torch.zeros(1, 3, 7, 7), input_ids=torch.tensor([[BOS]]))
    with pytest.raises(InputError, match="Token ids"):
        ours(pixel_values=pixels(spec, 1), input_ids=torch.tensor([[10 ** 6]]))
    with pytest.raises(InputError, match="too long"):
        ours(pixel_values=pixels(spec, 1), input_ids=torch.ones(1, 500, dtype=torch.long))
    with pytest.raises(InputError, match="max_new_tokens"):
        ours.generate(pixel_values=pixels(spec, 1), max_new_tokens=0)


def test_offline_hub_fails_fast(monkeypatch):
    import time

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", "/nonexistent-gitdemo-cache")
    t0 = time.perf_counter()
    with pytest.raises(HubError, match="Cannot reach the Hugging Face Hub"):
        gitdemo.load_model("microsoft/git-base-coco")
    assert time.perf_counter() - t0 < 10


def test_unreachable_hub_fails_fast(monkeypatch):
    """No offline flag, but the endpoint does not answer: a clear error within seconds."""
    import time

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HOME", "/nonexistent-gitdemo-cache")
    monkeypatch.setenv("HF_ENDPOINT", "http://10.255.255.1:9")  # unroutable: connects hang until timeout
    t0 = time.perf_counter()
    with pytest.raises(HubError):
        gitdemo.load_model("microsoft/git-base")
    assert time.perf_counter() - t0 < 15


def test_beam_search_attention_records_match_greedy_records_when_beams_agree(pair):
    """Beam search records come from one teacher-forced pass; row i must be what step i saw."""
    spec, _, ours = pair
    px = pixels(spec, 1, seed=13)
    beam = ours.generate(pixel_values=px, max_new_tokens=5, num_beams=2, output_attentions=True, return_dict=True)
    n_img = ours.config.num_image_tokens
    assert len(beam.attentions) == beam.sequences.shape[1] - 1
    # replay the winning sequence step by step with a cache: the same attention rows
    seq = beam.sequences
    steps = list(ours.stream(pixel_values=px, input_ids=seq[:, :1], max_new_tokens=1, output_attentions=True))
    torch.testing.assert_close(steps[0].attentions[0], beam.attentions[0][0], atol=1e-5, rtol=1e-4)
    for i, layers in enumerate(beam.attentions):
        assert layers[0].shape == (1, ours.config.num_attention_heads, n_img + 1 + i)
