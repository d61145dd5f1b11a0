"""Click a patch, see which tokens read it: explain.reverse, viz.readers, and `/patch_readers` over the API."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gitdemo import explain
from gitdemo.errors import InputError
from gitdemo.explain.views import Exploration

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "assets" / "examples"


def _synthetic(frames=2, rows=3, cols=4, layers=3, heads=2, tokens=4, has_cls=True, text_keys=5, seed=0):
    """An Exploration with random attention rows (each sums to 1) over [image tokens; text]."""
    layout = explain.ImageLayout(frames, rows, cols, has_cls)
    g = torch.Generator().manual_seed(seed)
    k = layout.num_image_tokens + text_keys
    steps = [torch.rand(layers, heads, k, generator=g).softmax(-1) for _ in range(tokens)]
    pics = [Image.new("RGB", (32, 32), (40 * i, 90, 160)) for i in range(frames)]
    names = [f"w{i}" for i in range(tokens)]
    return Exploration("synthetic", " ".join(names), layout, pics, [], names, list(range(tokens)), steps,
                       [[(n, 1.0)] for n in names], [], None, np.ones((k, k), bool))


def _by_hand(att: torch.Tensor, layout, frame, row, col, layer=None) -> float:
    """Independent of maps.split_image: index the key, divide by the patch keys' total (CLS left out)."""
    a = att.double().mean(1)  # heads
    a = a.mean(0) if layer is None else a[layer]
    starts = [f * layout.per_frame + int(layout.has_cls) for f in range(layout.num_frames)]
    patches = torch.cat([a[s:s + layout.rows * layout.cols] for s in starts])
    return float(a[starts[frame] + row * layout.cols + col] / patches.sum())


@pytest.mark.parametrize("has_cls", [True, False])
def test_values_match_a_hand_computation(has_cls):
    expl = _synthetic(has_cls=has_cls)
    r = explain.patch_readers(expl, frame=1, row=2, col=3)
    assert r.mean.shape == (4,) and r.per_layer.shape == (4, 3)
    for t, att in enumerate(expl.steps):
        assert r.mean[t] == pytest.approx(_by_hand(att, expl.layout, 1, 2, 3), rel=1e-6)
        for l in range(3):
            assert r.per_layer[t, l] == pytest.approx(_by_hand(att, expl.layout, 1, 2, 3, l), rel=1e-6)
    assert r.uniform == pytest.approx(1 / 24)
    data = r.to_json()
    assert (data["frame"], data["row"], data["col"]) == (2, 3, 4) and len(data["tokens"]) == 4
    json.dumps(data)


def test_every_patch_together_is_each_tokens_whole_image_attention():
    expl = _synthetic(frames=1, rows=2, cols=2)
    total = sum(explain.patch_readers(expl, 0, r, c).mean for r in range(2) for c in range(2))
    np.testing.assert_allclose(total, np.ones(4), rtol=1e-9)
    # and it is the default heatmap's square, token by token
    for t, att in enumerate(expl.steps):
        assert explain.patch_readers(expl, 0, 1, 0).mean[t] == pytest.approx(
            explain.default_view(att, expl.layout)[0, 1, 0])


def test_out_of_range_and_pixels_to_patches():
    expl = _synthetic()
    with pytest.raises(InputError, match="row must be between 1 and 3"):
        explain.patch_readers(expl, 0, 3, 0)
    with pytest.raises(InputError, match="frame"):
        explain.patch_readers(expl, 2, 0, 0)
    lay = expl.layout  # 3 rows x 4 cols drawn on 336 x 336
    assert explain.patch_at(lay, 0, 0, 336, 336) == (0, 0)
    assert explain.patch_at(lay, 335, 335, 336, 336) == (2, 3)
    assert explain.patch_at(lay, 84, 111, 336, 336) == (0, 1)  # x = 84 starts column 2; y = 111 is row 1
    assert explain.patch_at(lay, 83.9, 112, 336, 336) == (1, 0)
    assert explain.patch_at(lay, 9999, -5, 336, 336) == (0, 3)  # clamped


def test_figures_draw_and_say_which_token():
    expl = _synthetic()
    from gitdemo.ui.patches import figures

    picker, bars, layers, readers = figures(expl, 1, 0, 2)
    assert picker.size == (336, 336) and bars.image.width > 100 and layers.image.height > 100
    best = expl.tokens[readers.top_token]
    assert f"'{best}' read this patch most" in bars.caption and "frame 2, row 1, column 3" in bars.caption
    # the outline is drawn in the selected square (column 3 of 4: x from 168 to 252), not elsewhere
    px = np.asarray(picker)
    orange = np.all(np.abs(px.astype(int) - [0xD5, 0x5E, 0x00]) < 3, axis=-1)
    ys, xs = np.nonzero(orange)
    assert xs.min() >= 166 and xs.max() <= 253 and ys.max() <= 113


def test_real_trace_git(tmp_path):
    """On a real traced answer the per-patch values are the heatmap's squares (tiny GIT)."""
    from test_viz import build_tiny_git

    model, processor = build_tiny_git(tmp_path)
    img = Image.new("RGB", (64, 64), (200, 30, 30))
    from gitdemo import pipeline

    res = pipeline.run(model, processor, [img], max_new_tokens=3)
    expl = explain.trace(model, processor, [img], None, [t.id for t in res.tokens])
    lay = expl.layout
    r = explain.patch_readers(expl, 0, lay.rows - 1, 0)
    grid = np.asarray(res.to_json()["tokens"][0]["attention"])  # what /caption's JSON says for token 1
    assert r.mean[0] == pytest.approx(grid[lay.rows - 1, 0], abs=1e-5)


# ----------------------------------------------------------------------------- over the API
gradio_client = pytest.importorskip("gradio_client")


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, analytics_enabled=False, verbose=False)


def test_patch_readers_endpoint_image(client):
    from gradio_client import handle_file

    path = str(EXAMPLES / "scene_00000.png")
    text, data = client.predict(handle_file(path), api_name="/caption")
    out = client.predict(handle_file(path), data, 4, 3, 1, api_name="/patch_readers")
    assert [t["text"] for t in out["tokens"]] == [t["text"] for t in data["tokens"]]
    for got, tok in zip(out["tokens"], data["tokens"]):  # the same square of each token's heatmap
        assert got["mean"] == pytest.approx(tok["attention"][3][2], abs=1e-5)
        assert len(got["per_layer"]) >= 1
    assert out["uniform"] == pytest.approx(1 / 49) and out["model"] == "embedded"
    with pytest.raises(Exception, match="row must be between 1 and 7"):
        client.predict(handle_file(path), data, 8, 1, 1, api_name="/patch_readers")


def test_patch_readers_endpoint_video(client):
    from gradio_client import handle_file

    truth = json.loads((EXAMPLES / "truth.json").read_text())["files"]
    clip = str(EXAMPLES / sorted(n for n, f in truth.items() if f["kind"] == "video")[0])
    text, data = client.predict(handle_file(clip), api_name="/video")
    assert data["frames"] > 1
    out = client.predict(handle_file(clip), data, 2, 5, data["frames"], api_name="/patch_readers")
    assert out["frame"] == data["frames"]
    for got, tok in zip(out["tokens"], data["tokens"]):
        assert got["mean"] == pytest.approx(tok["attention"][-1][1][4], abs=1e-5)
