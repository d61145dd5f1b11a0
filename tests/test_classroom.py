"""The classroom bench's students speak the app's plain HTTP API (what a browser sends): a few of them
at once against the running app, on distinct photos and on one shared photo with a question each."""
from __future__ import annotations

import pytest

from gitdemo.bench import classroom, students


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return classroom._images(3, tmp_path_factory.mktemp("class"))


@pytest.mark.parametrize("shared", [False, True], ids=["distinct", "shared"])
def test_a_small_class_is_served(app_server, photos, shared):
    url, _, proc = app_server
    r = classroom.classroom(url, "git", photos, proc.pid, shared=shared)
    assert r["failed"] == 0, r["errors"]
    assert r["n"] == 3 and 0 < r["lone_s"] and 0 < r["p50_s"] <= r["p95_s"] <= r["all_done_s"]
    assert r["server_cpu_s"] > 0  # read from /proc for the app's process


def test_a_student_hears_the_apps_error(app_server, photos, tmp_path):
    """An error event from the app (here: a text file as the picture) is raised, not counted as served."""
    url = app_server[0]
    bad = tmp_path / "not-a-picture.png"
    bad.write_text("hello")
    student = classroom.Student(url, "git", classroom._defaults(url, "git", None))
    with pytest.raises(RuntimeError, match="error"):
        student.ask(str(bad))
    student.ask(photos[0])  # and the app goes on serving


def test_questions_differ_and_speak_of_the_shapes_world():
    asked = classroom.questions(30)
    assert len(set(asked)) >= 20 and all(q.endswith("?") for q in asked)


# ----------------------------------------------------------------------------- flow "browser": what the page does
def _outputs(student, name: str) -> dict:
    """The explorer build's outputs by component type (lists, in the page's order)."""
    by_type: dict[str, list] = {}
    for i, value in zip(student.page.event(name)["outputs"], student.explored):
        by_type.setdefault(student.page.types[i], []).append(value)
    return by_type


def test_a_page_student_builds_the_explorer_of_its_own_caption(app_server, photos):
    """The answer over plain HTTP, then the explorer's build in the same session: the token chips are the
    caption's tokens, a figure comes back, and a later explorer event of that session finds the exploration."""
    url = app_server[0]
    page = students.Page(url)
    student = students.student("browser", url, "git", classroom._defaults(url, "git", None), page=page)
    text, payload = student.ask(photos[1])[:2]
    out = _outputs(student, "caption_explore")
    chips = out["radio"][0]
    assert [label for label, _ in chips["choices"]] == [t["text"] for t in payload["tokens"]] and text
    figures = [v for v in out.get("html", []) if isinstance(v, str) and v.startswith("<figure")]
    assert len(figures) >= 3, out.keys()  # the heatmap, top-k and shares, drawn by the browser
    assert any('role="grid"' in f for f in figures)
    # the page's next click (the 2nd token) in the same session reads the exploration the build kept in gr.State
    values = dict(page.values)
    chips_id = next(i for i in page.event("caption_explore")["outputs"] if page.types[i] == "radio")
    values[chips_id] = 1  # the chips' value (the build's first radio output)
    data = page.inputs("caption_token", values)
    step = student.call("caption_token", data)
    said = f"2 of {len(payload['tokens'])}"
    assert any(isinstance(v, str) and said in v for v in step), step
    other = students.student("browser", url, "git", [], page=page)  # another tab: its session holds nothing
    try:
        elsewhere = other.call("caption_token", data)
    except RuntimeError:
        elsewhere = []
    assert not any(isinstance(v, str) and said in v for v in elsewhere), elsewhere
    student.close(), other.close()


def test_the_browser_flow_is_measured_beside_the_api_flow(app_server, photos):
    url, _, proc = app_server
    rows = [("embedded", "on", classroom.classroom(url, "git", photos[:2], proc.pid, flow=flow))
            for flow in ("api", "browser")]
    for _, _, r in rows:
        assert r["failed"] == 0, r["errors"]
        assert r["lone_cpu_per_student_s"] > 0 and r["cpu_per_student_s"] > 0 and r["n"] == 2
    api, browser = rows[0][2], rows[1][2]
    assert (api["flow"], api["explored"], browser["flow"], browser["explored"]) == ("api", 0, "browser", 2)
    ratio = classroom.ratios(rows)
    assert len(ratio) == 3 and ratio[2].startswith("| embedded | on | browser |"), ratio


def test_flows_and_explore_sources_are_checked():
    with pytest.raises(SystemExit, match="--flow: page"):
        classroom.main(["--flow", "page"])
    with pytest.raises(SystemExit, match="--explore-from: both"):
        classroom.main(["--explore-from", "both"])
    with pytest.raises(ValueError, match="flow 'page'"):
        students.student("page", "http://127.0.0.1:1", "git", [])
