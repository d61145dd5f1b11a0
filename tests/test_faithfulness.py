"""Relevancy maps and the deletion test (gitdemo.explain.relevancy / faithfulness) and `python -m gitdemo
faithfulness`: tiny random models for the mechanics, the embedded Shapes GIT for the bar."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from gitdemo import shapes
from gitdemo.explain import faithfulness as fa
from gitdemo.explain.maps import ImageLayout
from gitdemo.explain.relevancy import relevancy, relevancy_matrix
from gitdemo.pipeline import inputs as pipeline_inputs
from test_paligemma_app import loaded, picture, tiny  # noqa: F401 - PaliGemma fixtures
from test_viz import build_tiny_git


@pytest.fixture(scope="module")
def git_tiny(tmp_path_factory):
    return build_tiny_git(tmp_path_factory.mktemp("tiny-git"))


@pytest.fixture(scope="module")
def git_case(git_tiny):
    model, processor = git_tiny
    scene = shapes.draw_scene(np.random.default_rng(5), n_objects=2)
    inputs = pipeline_inputs.prepare(model, processor, [scene.image])
    ids = fa.greedy_answer(model, processor, inputs, max_new_tokens=5)
    assert len(ids) >= 2
    return model, processor, inputs, ids


def test_relevancy_matrix_follows_chefers_rule_by_hand():
    # one layer, one head, two positions: R = I + clamp(g * a, 0) @ I
    a = torch.tensor([[[[0.75, 0.25], [0.5, 0.5]]]])
    g = torch.tensor([[[[2.0, -4.0], [1.0, 0.0]]]])
    r = relevancy_matrix([a], [g])
    assert torch.allclose(r, torch.tensor([[2.5, 0.0], [0.5, 1.0]]))
    # a second layer multiplies through: R2 = R1 + cam2 @ R1
    r2 = relevancy_matrix([a, a], [g, g])
    cam = torch.tensor([[1.5, 0.0], [0.5, 0.0]])
    assert torch.allclose(r2, r + cam @ r)


def test_relevancy_on_a_tiny_git(git_case):
    model, _, inputs, ids = git_case
    maps = relevancy(model, inputs, ids)
    lay = inputs.layout
    assert len(maps) == len(ids)
    for m in maps:
        assert m.shape == (1, lay.rows, lay.cols)
        assert (m >= 0).all() and m.sum() == pytest.approx(1.0)
    assert not np.allclose(maps[0], maps[1]), "the map must depend on the token"
    # the normal path is untouched: no gradient left behind, weights still frozen
    assert all(p.grad is None for p in model.parameters())


def test_view_maps_on_a_tiny_paligemma(loaded, picture):  # noqa: F811
    model, processor = loaded
    inputs = pipeline_inputs.prepare(model, processor, picture[0], "caption en")
    maps = fa.view_maps(model, inputs, [5, 6, 7])
    lay = inputs.layout
    for v in fa.VIEWS:
        assert len(maps[v]) == 3
        for m in maps[v]:
            assert m.shape == (1, lay.rows, lay.cols) and (m >= 0).all() and m.sum() == pytest.approx(1.0)
    assert not np.allclose(maps["relevancy"][0], maps["relevancy"][2])


def test_occlude_paints_exactly_the_hidden_patches_in_the_mean_colour():
    lay = ImageLayout(1, 2, 2, has_cls=True)
    pv = torch.arange(3 * 4 * 4, dtype=torch.float32).reshape(1, 3, 4, 4) % 7
    hide = np.array([[[False, True], [False, False]]])
    out = fa.occlude(pv, [hide, ~hide], lay)
    assert out.shape == (2, 3, 4, 4)
    mean = pv[0].mean(dim=(1, 2))
    assert torch.allclose(out[0, :, 0:2, 2:4], mean[:, None, None].expand(3, 2, 2))
    assert torch.equal(out[0, :, 2:, :], pv[0, :, 2:, :]) and torch.equal(out[0, :, :2, :2], pv[0, :, :2, :2])
    assert torch.equal(out[1, :, 0:2, 2:4], pv[0, :, 0:2, 2:4])


def test_deletion_test_on_a_known_toy_case():
    """A 'model' whose token 0 needs patch (0, 0) and token 1 needs patch (1, 1): a map that ranks the right
    patch first costs the whole probability, one that ranks it last costs nothing, chance costs k / P."""
    lay = ImageLayout(1, 4, 4, has_cls=False)
    base = np.array([0.9, 0.8])

    def probs(hides):
        return np.array([[0.9 * (1 - h[0, 0, 0]), 0.8 * (1 - h[0, 1, 1])] for h in hides], dtype=float)

    good = [np.zeros((1, 4, 4)) for _ in range(2)]
    good[0][0, 0, 0], good[1][0, 1, 1] = 1.0, 1.0
    bad = [1.0 - g for g in good]
    d = fa.deletion_test(probs, base, {"good": good, "bad": bad}, [0, 1], lay, fractions=(0.1, 0.25), draws=32,
                         seed=0)
    assert d.k == [2, 4]
    assert d.drop["good"][0] == pytest.approx([0.9, 0.8]) and d.drop["bad"][0] == pytest.approx([0.0, 0.0])
    assert d.mean("good") == pytest.approx(0.85) and d.mean("bad") == 0.0
    # random: each patch is hidden with probability k / 16; 32 draws keep the mean near it
    assert 0.0 < d.mean("random") < 0.4
    assert d.mean("random", 1) > d.mean("random", 0) * 0.8
    assert d.base == [0.9, 0.8] and d.draws == 32


def test_deletion_batches_occluded_copies_through_the_model(git_case):
    model, _, inputs, ids = git_case
    d = fa.deletion(model, inputs, ids, [0, 1], fractions=(0.1, 0.3), draws=3, seed=1)
    assert d.k == [5, 15] and len(d.random) == 2 and set(d.drop) == set(fa.VIEWS)
    # the same copies one by one give the same probabilities as the batched pass
    hides = [fa.top_patches(m, 5) for m in fa.view_maps(model, inputs, ids, [0])["attention"]]
    one = fa.answer_probs(model, inputs, ids, fa.occlude(inputs.pixel_values, hides, inputs.layout))[0]
    assert d.base[0] - one[0] == pytest.approx(d.drop["attention"][0][0], abs=1e-5)


def test_the_command_json_and_the_bar(capsys):
    """The --json schema, and the bar on the embedded GIT. The bar is set for 50 scenes (see
    docs/faithfulness.md); this test checks it on 4 scenes to stay fast."""
    from gitdemo.__main__ import main

    assert main(["faithfulness", "--scenes", "4", "--seed", "7", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(out) == {"default_view", "views"} and set(out["views"]) == set(fa.VIEWS)
    for s in out["views"].values():
        assert set(s) == {"drop_top", "drop_random", "tokens"} and isinstance(s["tokens"], int) and s["tokens"] > 0
    best = out["views"][out["default_view"]]
    assert best["drop_top"] >= 0.2 and best["drop_top"] >= 2 * best["drop_random"]
