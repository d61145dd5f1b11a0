"""'Test this map' (gitdemo.ui.faithful): the counterfactual and curve handlers in process, and the
`/faithfulness` endpoint through gradio_client on the running app (embedded Shapes GIT)."""
from __future__ import annotations

import numpy as np
import pytest

from gitdemo import shapes
from gitdemo.errors import InputError
from gitdemo.explain import faithfulness as fa

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402


@pytest.fixture(scope="module")
def scene_png(tmp_path_factory):
    sc = shapes.draw_scene(np.random.default_rng(11), n_objects=1)
    path = tmp_path_factory.mktemp("faith") / "scene.png"
    sc.image.save(path)
    return sc, str(path)


@pytest.fixture(scope="module")
def explored(scene_png):
    from gitdemo.ui import faithful, registry
    from gitdemo.ui.explorer import exploration

    _, path = scene_png
    loaded = registry.CACHE.get(registry.EMBEDDED)
    inputs = __import__("gitdemo.pipeline.inputs", fromlist=["prepare"]).prepare(
        loaded.model, loaded.processor, [shapes.draw_scene(np.random.default_rng(11), n_objects=1).image])
    ids = fa.greedy_answer(loaded.model, loaded.processor, inputs)
    payload = {"model": registry.EMBEDDED, "tokens": [{"id": i} for i in ids]}
    section = faithful.TestThisMap.__new__(faithful.TestThisMap)
    section.key, section.video = "caption", False
    return section, path, payload, exploration(loaded, path, payload)


def test_counterfactual_hiding_the_object_changes_the_caption(explored, scene_png):
    from gitdemo.evaluate.git import cell_overlaps

    section, path, payload, expl = explored
    sc, _ = scene_png
    colour = expl.tokens.index(sc.objects[0].colour)
    hidden, pic = section._top(path, payload, expl, colour, "attention", 8)
    assert hidden.sum() == 8 and pic.count('aria-selected="true"') == 8  # the hidden cells, marked for readers
    assert pic.count('role="gridcell"') == expl.layout.rows * expl.layout.cols
    lay = expl.layout
    # every patch the object touches hidden: the colour word must lose its probability
    over = np.array([[[cell_overlaps((r, c), sc.objects[0].box, lay.rows, lay.cols) for c in range(lay.cols)]
                      for r in range(lay.rows)]])
    text = section._run(path, payload, expl, colour, over)
    rows = [r for r in text.splitlines() if r.startswith("| ")][2:]
    (old, p_old), (new, p_new) = ((r.split("|")[2].strip(), float(r.split("|")[3].split()[0])) for r in rows)
    assert old == sc.caption and p_old > 0.5 and new != old, text  # the triangle is gone
    # the numbers are the library's: the same occlusion, teacher-forced and re-captioned directly
    from gitdemo.ui import faithful

    loaded, inputs = faithful._inputs(payload, path, False)
    pv = fa.occlude(inputs.pixel_values, [over], lay)
    assert p_new == pytest.approx(fa.answer_probs(loaded.model, inputs, expl.token_ids, pv)[0, colour], abs=1e-3)
    assert new == loaded.processor.decode(fa.greedy_answer(loaded.model, loaded.processor, inputs, pv)).strip()
    # (here the colour word survives: the patches painted in the image's mean colour, tinted by the green
    # object, read as a pale green *square*; docs/faithfulness.md says so)
    with pytest.raises(InputError):
        section._run(path, payload, expl, colour, np.zeros_like(hidden))
    none_hidden, _ = section._clear(expl)
    assert not none_hidden.any()


def test_deletion_curve_figure(explored):
    section, path, payload, expl = explored
    figure = section._curve(path, payload, expl, 1)
    assert "<svg" in figure and "random patches" in figure and figure.count("<polyline") == len(fa.VIEWS) + 1
    assert figure.count("<tr>") == 1 + len(fa.VIEWS) + 1  # the numbers as a table: a header, a row per line


def test_faithfulness_endpoint(app_url, scene_png):
    sc, path = scene_png
    client = Client(app_url, analytics_enabled=False, verbose=False)
    assert "/faithfulness" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    word = sc.objects[0].shape
    out = client.predict(handle_file(path), "", word, api_name="/faithfulness")
    assert out["caption"] == sc.caption and out["token"] == word and out["tokens"][out["index"]].strip() == word
    assert out["default_view"] == fa.DEFAULT_VIEW and set(out["views"]) == set(fa.VIEWS)
    assert out["hidden"] == 5 and 0 <= out["p"] <= 1
    for v in out["views"].values():
        assert set(v) == {"drop_top", "drop_random"}
    by_index = client.predict(handle_file(path), "embedded", "0", api_name="/faithfulness")
    assert by_index["index"] == 0
    with pytest.raises(Exception, match="not a token"):
        client.predict(handle_file(path), "", "zebra", api_name="/faithfulness")
