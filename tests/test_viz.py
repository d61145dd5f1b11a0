"""Figures (gitdemo.viz) and the app's Gradio-free logic (gitdemo.explain, gitdemo.pipeline, gitdemo.ui.registry).

No browser and no server: a tiny random GIT (images and 3-frame videos) written with the training
code's own checkpoint writer, so the processor, tokenizer and model are the real classes.
"""
from __future__ import annotations

import io
import threading
import time

import numpy as np
import pytest
import torch
from PIL import Image

from gitdemo import explain, pipeline, viz
from gitdemo.errors import HubError, InputError


# ----------------------------------------------------------------------------- a tiny checkpoint
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_git(tmp_path_factory.mktemp("tiny-shapes"))


def build_tiny_git(folder):
    """A tiny random GIT written by the training code's checkpoint writer -> (model, processor)."""
    import gitdemo
    from gitdemo import train
    from gitdemo.models.git import GitForCausalLM

    args = train.parse_args(["--out", str(folder), "--vision-dim", "64", "--vision-layers", "2", "--dim", "48",
                             "--layers", "2"])
    vocab = train.build_vocab()
    cfg = train.make_config(args, len(vocab), {w: i for i, w in enumerate(vocab)})
    torch.manual_seed(0)
    model = GitForCausalLM(cfg)
    train.init_weights(model, 0)
    with torch.no_grad():  # sharper logits, so greedy paths are distinct and eos comes late
        model.output.weight.mul_(30)
        model.output.bias[cfg.eos_token_id] = -50
    train.save_checkpoint(model, cfg, vocab, folder)
    return gitdemo.load_model(folder), gitdemo.load_processor(folder)


@pytest.fixture(scope="module")
def scene():
    from gitdemo import shapes

    return shapes.draw_scene(np.random.default_rng(3), n_objects=2)


@pytest.fixture(scope="module")
def clip():
    from gitdemo import shapes

    return shapes.draw_video(np.random.default_rng(4), frame_indices=[2, 6, 10, 14, 18, 22])


def _png_roundtrip(fig: viz.Figure) -> Image.Image:
    im = Image.open(io.BytesIO(fig.png_bytes()))
    assert im.format == "PNG"
    return im


# ----------------------------------------------------------------------------- viz
def test_blend_colours_the_hot_cell_brightest():
    image = Image.new("RGB", (70, 70), (128, 128, 128))
    grid = np.zeros((7, 7))
    grid[2, 5] = 1.0
    out = np.asarray(viz.blend(image, grid, opacity=1.0, cmap="viridis"))
    hot = out[25, 55]  # inside cell (row 2, col 5)
    cold = out[5, 5]
    assert np.allclose(hot, [253, 231, 37], atol=2)  # the top of viridis (yellow)
    assert np.allclose(cold, [68, 1, 84], atol=2)  # the bottom (purple)
    assert np.array_equal(np.asarray(viz.blend(image, grid, opacity=0.0)), np.asarray(image))


def test_heatmap_figure_and_caption():
    image = Image.new("RGB", (224, 224), "white")
    grid = np.random.default_rng(0).random((7, 7))
    grid[4, 1] = 5
    fig = viz.heatmap(image, grid, "circle", opacity=0.6, cmap="cividis")
    assert "'circle'" in fig.caption and "row 5, column 2" in fig.caption and fig.caption.count("\n") == 0
    assert _png_roundtrip(fig).size == fig.image.size
    with pytest.raises(ValueError):
        viz.heatmap(image, grid, "x", cmap="jet")  # not colour-blind safe: refused


def test_small_multiples_scales_and_layout():
    image = Image.new("RGB", (224, 224), "white")
    maps = [np.full((7, 7), i, float) + np.eye(7) for i in range(8)]
    shared = viz.small_multiples(image, maps, [f"layer {i}" for i in range(8)], "all 8 layers", shared_scale=True,
                                 ncols=4)
    own = viz.small_multiples(image, maps, [f"layer {i}" for i in range(8)], "all 8 layers", shared_scale=False,
                              ncols=4, highlight=2)
    assert "one colour scale" in shared.caption and "its own range" in own.caption
    assert shared.caption.startswith("All 8 layers")
    assert shared.image.size == own.image.size
    wide = viz.small_multiples(image, maps, ["x"] * 8, "w", ncols=8)
    assert wide.image.width > shared.image.width and wide.image.height < shared.image.height
    # with a shared scale, the panel of the smallest map is darker than that of the largest
    a = np.asarray(shared.image).astype(float)
    first, last = a[30:60, 20:60].mean(), a[200:230, 3 * 158 + 20:3 * 158 + 60].mean()
    assert first != last


def test_frame_strip_names_the_frame_with_most_attention():
    frames = [Image.new("RGB", (224, 224), (i * 30, 100, 100)) for i in range(6)]
    maps = np.random.default_rng(1).random((6, 7, 7))
    split = [0.1, 0.1, 0.4, 0.2, 0.1, 0.1]
    fig = viz.frame_strip(frames, maps, split, "moving")
    assert "frame 3 (40%)" in fig.caption
    assert fig.image.width > 6 * 140


def test_bars():
    fig = viz.topk_bar([("circle", 0.8), ("square", 0.15), ("triangle", 0.05)], "circle", 2)
    assert "Step 3" in fig.caption and "'circle' (p = 0.80)" in fig.caption
    sampled = viz.topk_bar([("circle", 0.8)], "square", 0)
    assert "not among them" in sampled.caption
    share = viz.share_bar({"image": 0.7, "cls": 0.2, "text": 0.1}, "red")
    assert "70% of its attention on image patches" in share.caption and "20%" in share.caption
    _png_roundtrip(share)


def test_block_kind():
    assert viz.block_kind(np.ones((3, 4), bool)) == "all"
    assert viz.block_kind(np.zeros((3, 4), bool)) == "none"
    assert viz.block_kind(np.tril(np.ones((4, 4), bool)), same=True) == "causal"
    assert viz.block_kind(np.ones((1, 1), bool), same=True) == "causal"  # one token sees itself
    assert viz.block_kind(np.eye(3, dtype=bool)) == "partial"


# ----------------------------------------------------------------------------- the mask
def test_mask_for_is_gits_rule_by_hand():
    from gitdemo.explain import mask_for

    m = mask_for(3, [1, 1, 1]).numpy()  # 3 image tokens, 3 text tokens
    expected = np.array([
        [1, 1, 1, 0, 0, 0],
        [1, 1, 1, 0, 0, 0],
        [1, 1, 1, 0, 0, 0],
        [1, 1, 1, 1, 0, 0],
        [1, 1, 1, 1, 1, 0],
        [1, 1, 1, 1, 1, 1],
    ], bool)
    assert np.array_equal(m, expected)
    padded = mask_for(2, [0, 1, 1]).numpy()  # left padding: nobody sees the pad key
    assert not padded[:, 2].any() and padded[4, 3] and padded[4, 4]


@pytest.mark.parametrize("padding", [False, True])
def test_mask_for_equals_the_mask_inside_the_model(tiny, padding):
    """Where mask_for says False, the model's own attention weights are exactly 0; where True, they are > 0."""
    from gitdemo.explain import mask_for

    model, _ = tiny
    n = model.config.vision_config.num_tokens
    ids = torch.tensor([[2, 15, 16, 17, 18]])
    attention_mask = torch.tensor([[0, 1, 1, 1, 1]]) if padding else torch.ones_like(ids)
    pixel_values = torch.randn(1, 3, 224, 224)
    with torch.inference_mode():
        step, _, _ = model.prefill(pixel_values, ids, attention_mask, None, None, output_attentions=True)
    mask = mask_for(n, attention_mask[0])
    rows = torch.ones(mask.shape[0], dtype=torch.bool)
    if padding:
        rows[n] = False  # a padded query's row is all masked: its softmax is uniform and never used
    for probs in step.attentions:  # (1, H, S, S) per layer
        p = probs[0][:, rows]
        assert torch.all(p[:, ~mask[rows]] == 0)
        assert torch.all(p[:, mask[rows]] > 0)


def test_mask_diagram_sentences_come_from_the_mask():
    from gitdemo.explain import mask_for

    n = 50
    mask = mask_for(n, torch.ones(6)).numpy()
    segs = [viz.Segment("image", 0, n), viz.Segment("prompt", n, n + 2, ["[CLS]", "what"]),
            viz.Segment("output", n + 2, n + 6, ["a", "red", "circle", "."])]
    fig, sentences = viz.mask_diagram(mask, segs)
    text = "\n".join(sentences)
    assert "image → image: all visible" in text
    assert "image → prompt: all masked" in text and "cached" in text
    assert "output → output: causal" in text and "prompt → prompt: causal" in text
    assert "output → prompt: all visible" in text and "prompt → output: all masked" in text
    assert "56 positions" in fig.caption
    broken = mask.copy()
    broken[0, n + 3] = True  # an image token that peeks at the text: the sentence changes with the mask
    _, other = viz.mask_diagram(broken, segs)
    assert "image → output: partly visible" in "\n".join(other)
    with pytest.raises(ValueError):
        viz.mask_diagram(mask[:-1, :-1], segs)


# ----------------------------------------------------------------------------- the exploration
def test_exploration_reproduces_the_generation_record(tiny, scene):
    from gitdemo.pipeline import run

    model, processor = tiny
    result = run(model, processor, [scene.image], None, max_new_tokens=6)
    assert len(result.tokens) == 6
    expl = explain.trace(model, processor, [scene.image], None, [t.id for t in result.tokens], "tiny")
    assert expl.tokens == [t.text for t in result.tokens] and expl.text == result.text
    for i, tok in enumerate(result.tokens):
        assert torch.allclose(expl.steps[i], result.steps[i], atol=1e-5)
        assert np.allclose(explain.default_view(expl.steps[i], expl.layout), tok.attention, atol=1e-5)
        assert expl.top[i][0][0] == tok.top[0][0] and abs(expl.top[i][0][1] - tok.top[0][1]) < 1e-4
        assert abs(expl.rollout[i].sum() - 1) < 1e-6
    assert expl.mask.shape == (expl.layout.num_image_tokens + 1 + 6,) * 2
    assert expl.frames[0].size == (224, 224)


def test_render_every_view(tiny, scene):
    from gitdemo.pipeline import run

    model, processor = tiny
    ids = [t.id for t in run(model, processor, [scene.image], None, max_new_tokens=4).tokens]
    expl = explain.trace(model, processor, [scene.image], None, ids, "tiny")
    figs = explain.render(expl, explain.View())
    assert figs["frames"] is None
    for name in ("layers", "heads", "rollout", "vision"):  # drawn on the server (their accordions)
        assert figs[name].image.width > 100 and figs[name].caption, name
    for name in ("heatmap", "share", "topk"):  # drawn by the browser
        assert figs[name].image is None and figs[name].html.startswith("<figure"), name
    assert "not explanation" in figs["rollout"].caption
    rows, cols = expl.layout.rows, expl.layout.cols
    assert figs["heatmap"].html.count('role="gridcell"') == rows * cols  # one focusable cell per patch
    assert figs["heatmap"].html.count('tabindex="0"') == 1  # one cell in the tab order (roving tabindex)
    assert "of this map on" in figs["heatmap"].caption and "the peak is row" in figs["heatmap"].caption
    other = explain.render(expl, explain.View(token=3, layer="2", head="1", drop_sink=False, shared_scale=False,
                                              opacity=0.2, cmap="magma"))
    assert "layer 2, head 1" in other["heatmap"].html and "CLS sink kept" in other["heatmap"].html
    assert other["heatmap"].html != figs["heatmap"].html
    # nonsense from the API is clamped, not a crash
    odd = explain.View(token=99, layer="77", head="banana", opacity=5, cmap="jet", frame=-3).normalised(expl)
    assert (odd.token, odd.layer, odd.head, odd.opacity, odd.cmap, odd.frame) == (3, "2", "mean", 1.0, "viridis", 1)
    fig, sentences = explain.mask_figure(expl)
    assert len(sentences) == 9 and fig.image.width > 300


def test_video_exploration(tiny, clip):
    from gitdemo.pipeline import run

    model, processor = tiny
    q = "which way is the circle moving?"
    result = run(model, processor, clip.frames, q, max_new_tokens=3)
    expl = explain.trace(model, processor, clip.frames, q, [t.id for t in result.tokens], "tiny")
    assert expl.is_video and len(expl.frames) == 6
    for i, tok in enumerate(result.tokens):
        assert np.allclose(explain.default_view(expl.steps[i], expl.layout), tok.attention, atol=1e-5)
    figs = explain.render(expl, explain.View(token=1, frame=4))
    assert "frame 6" in figs["frames"].html and "(frame 4)" in figs["heatmap"].html
    _, sentences = explain.mask_figure(expl)
    assert sentences[0].startswith("video → video: all visible")


def test_build_exploration_needs_tokens(tiny, scene):

    with pytest.raises(InputError):
        explain.trace(*tiny, [scene.image], None, [])


# ----------------------------------------------------------------------------- decoding settings and generation
def test_decoding_settings():
    from gitdemo.pipeline import Decoding

    d = Decoding.from_inputs("Beam", 12.0, 4.0, 0.7, 0.8, 3.0)
    assert (d.mode, d.max_new_tokens, d.num_beams, d.seed) == ("beam", 12, 4, 3)
    assert Decoding.from_inputs(None, None, None, None, None, None) == Decoding()
    with pytest.raises(InputError):
        Decoding.from_inputs("telepathy", 5, 2, 1, 1, 0)
    with pytest.raises(InputError):
        Decoding.from_inputs("greedy", "many", 2, 1, 1, 0)
    for bad in (Decoding(max_new_tokens=0), Decoding(mode="beam", num_beams=40),
                Decoding(mode="sampling", temperature=0)):
        with pytest.raises(InputError):
            bad.check()


def test_generate_streams_then_gives_the_payload(tiny, scene):

    model, processor = tiny
    updates = list(pipeline.generate(model, processor, [scene.image], None, pipeline.Decoding(max_new_tokens=5), "m"))
    assert len(updates) == 6 and all(p is None for _, p in updates[:-1])
    assert updates[-1][1].record.tokens[0].id == updates[-1][1]["tokens"][0]["id"]  # the record rides along
    texts = [t for t, _ in updates]
    assert texts[-1] == texts[-2]
    payload = updates[-1][1]
    assert payload["model"] == "m" and payload["grid"] == [7, 7] and len(payload["tokens"]) == 5
    assert np.asarray(payload["tokens"][0]["attention"]).shape == (7, 7)
    beam = list(pipeline.generate(model, processor, [scene.image], None, pipeline.Decoding(mode="beam", num_beams=2,
                                                                                       max_new_tokens=4), "m"))
    assert len(beam) == 1 and beam[0][1]["settings"]["mode"] == "beam"
    s1 = list(pipeline.generate(model, processor, [scene.image], None,
                               pipeline.Decoding(mode="sampling", seed=7, max_new_tokens=4), "m"))[-1][0]
    s2 = list(pipeline.generate(model, processor, [scene.image], None,
                               pipeline.Decoding(mode="sampling", seed=7, max_new_tokens=4), "m"))[-1][0]
    assert s1 == s2


# ----------------------------------------------------------------------------- the model cache
def _fake(nbytes_by_name, delays=None, calls=None):
    class M:
        def __init__(self, n):
            self.n = n

        def parameters(self):
            return [torch.empty(self.n // 4, dtype=torch.float32)]

    def load(name):
        if calls is not None:
            calls.append(name)
        time.sleep((delays or {}).get(name, 0))
        return M(nbytes_by_name[name]), object()
    return load


def test_cache_evicts_least_recently_used():
    from gitdemo.ui.registry import ModelCache

    sizes = {"embedded": 400, "microsoft/git-base": 400, "microsoft/git-base-coco": 400}
    calls = []
    cache = ModelCache(budget_bytes=900, loader=_fake(sizes, calls=calls))
    cache.get("embedded")
    cache.get("microsoft/git-base")
    cache.get("embedded")  # now the most recent
    cache.get("microsoft/git-base-coco")  # over budget: git-base goes
    assert cache.names() == ["embedded", "microsoft/git-base-coco"]
    assert calls == ["embedded", "microsoft/git-base", "microsoft/git-base-coco"]
    with pytest.raises(Exception, match="Unknown model"):
        cache.get("/etc")  # never a path from the user


def test_cache_slow_load_blocks_only_its_own_model():
    from gitdemo.ui.registry import ModelCache

    sizes = {"embedded": 4, "microsoft/git-large-coco": 4}
    cache = ModelCache(budget_bytes=100, loader=_fake(sizes, delays={"microsoft/git-large-coco": 1.5}))
    slow = threading.Thread(target=cache.get, args=("microsoft/git-large-coco",))
    slow.start()
    time.sleep(0.1)
    t0 = time.perf_counter()
    cache.get("embedded")
    assert time.perf_counter() - t0 < 0.5  # not stuck behind the 1.5 s "download"
    got = []
    waiters = [threading.Thread(target=lambda: got.append(cache.get("microsoft/git-large-coco"))) for _ in range(3)]
    for w in waiters:
        w.start()
    slow.join()
    for w in waiters:
        w.join()
    assert len({id(g.model) for g in got}) == 1  # loaded once, shared


def test_offline_hub_message_offers_the_embedded_model(monkeypatch):
    from gitdemo.ui import registry as models

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_TOKEN", "hf_secret_value_123")
    monkeypatch.setenv("HF_HOME", "/nonexistent-gitdemo-test")
    with pytest.raises(HubError) as info:
        models._load("microsoft/git-base-coco")
    message = str(info.value)
    assert "embedded" in message.lower() and "hf_secret_value_123" not in message
    assert models.scrub("token hf_secret_value_123 leaked") == "token *** leaked"
