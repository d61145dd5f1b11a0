"""The classroom bench's students speak the app's plain HTTP API (what a browser sends): a few of them
at once against the running app, on distinct photos and on one shared photo with a question each."""
from __future__ import annotations

import pytest

from gitdemo.bench import classroom


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
