"""Class rooms over the app's HTTP API (what a browser or gradio_client sends), the app in this process so that
the rooms' own byte count can be read: thirty students captioning into one room at once lose no post and
duplicate none, the wall agrees with what each was told, and the memory goes back when the room closes.
Wrong keys and codes get a clear error and no data."""
from __future__ import annotations

import json
import os
import threading

import numpy as np
import pytest
from PIL import Image

from gitdemo.bench.classroom import Student
from gitdemo.bench.common import free_port


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rooms-app")
    for k, v in dict(HF_HUB_OFFLINE="1", GRADIO_TEMP_DIR=str(tmp / "gradio"),
                     GRADIO_EXAMPLES_CACHE=str(tmp / "examples")).items():
        os.environ.setdefault(k, v)
    from gitdemo.ui import build_demo, launch_options

    demo = build_demo()
    demo.queue(default_concurrency_limit=2, max_size=128)
    port = free_port()
    options = {**launch_options(), "server_name": "127.0.0.1", "server_port": port, "prevent_thread_lock": True,
               "quiet": True, "mcp_server": False}
    demo.launch(**options)
    yield f"http://127.0.0.1:{port}"
    demo.close()


def call(url: str, name: str, *data):
    """One call of a public endpoint over HTTP: (event, data) with event 'complete' or 'error'."""
    import httpx

    with httpx.Client(base_url=url, timeout=120) as http:
        joined = http.post(f"/gradio_api/call/{name}", json={"data": list(data)})
        joined.raise_for_status()
        event = None
        with http.stream("GET", f"/gradio_api/call/{name}/{joined.json()['event_id']}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    return event, json.loads(line[5:])
    raise AssertionError(f"no result from /{name}")


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    from gitdemo import shapes

    d = tmp_path_factory.mktemp("photos")
    out = []
    for i in range(30):
        path = d / f"p{i}.png"
        shapes.draw_scene(np.random.default_rng(100 + i), n_objects=1 + i % 2).image.save(path)
        out.append(str(path))
    return out


def test_thirty_students_post_at_once_over_http(app_url, photos):
    from gitdemo.serving.rooms import ROOMS

    held_before = ROOMS.nbytes()
    event, opened = call(app_url, "room_open")
    assert event == "complete" and len(opened[0]["code"]) == 8 and len(opened[0]["teacher_key"]) >= 20
    code, key = opened[0]["code"], opened[0]["teacher_key"]
    from gitdemo.bench.classroom import _defaults

    defaults = _defaults(app_url, "git", None)
    told: dict[int, dict] = {}
    errors: list[str] = []
    start = threading.Barrier(30)

    def student(i):
        s = Student(app_url, "git", defaults)
        try:
            start.wait()
            text, payload = s.ask(photos[i], room=code.lower())[:2]  # typed in lower case: still the room
            told[i] = {"text": text, **payload["room_post"], "tokens": [t["text"] for t in payload["tokens"]]}
        except Exception as exc:  # noqa: BLE001 - listed below
            errors.append(repr(exc))
        finally:
            s.close()

    threads = [threading.Thread(target=student, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(told) == 30
    event, wall = call(app_url, "room_wall", code, key)
    assert event == "complete"
    posts = wall[0]["posts"]
    assert len(posts) == 30 and len({p["id"] for p in posts}) == 30  # none lost, none twice
    by_id = {p["id"]: p for p in posts}
    assert sorted(by_id) == sorted(t["id"] for t in told.values())
    for t in told.values():  # each post is what that student was shown
        p = by_id[t["id"]]
        assert p["text"] == t["text"] and [x["text"] for x in p["tokens"]] == t["tokens"]
        assert p["model"] == "embedded" and p["precision"] and p["thumbnail"].startswith("data:image/jpeg;base64,")
        grid = np.asarray(p["tokens"][0]["attention"])
        assert grid.shape == (7, 7) and grid.sum() == pytest.approx(1.0, abs=1e-3)
        assert sum(p["tokens"][0]["share"].values()) == pytest.approx(1.0, abs=1e-3)
    assert ROOMS.nbytes() - held_before > 30 * 1000
    event, closed = call(app_url, "room_close", code, key)
    assert event == "complete" and closed[0]["posts_removed"] == 30
    assert ROOMS.nbytes() == held_before  # memory back to its level
    assert call(app_url, "room_wall", code, key)[0] == "error"


def test_wrong_keys_and_codes_get_an_error_and_no_data(app_url, photos):
    (_, [a]), (_, [b]) = call(app_url, "room_open"), call(app_url, "room_open")
    defaults = __import__("gitdemo.bench.classroom", fromlist=["_defaults"])._defaults(app_url, "git", None)
    s = Student(app_url, "git", defaults)
    try:
        _, payload = s.ask(photos[0], room=a["code"])[:2]
        with pytest.raises(RuntimeError, match="No class with this code"):
            s.ask(photos[1], room="ABCDEFGH")  # not open: nothing runs, nothing is posted
        _, plain = s.ask(photos[1])[:2]  # not joined: no post
        assert "room_post" not in plain
    finally:
        s.close()
    for code, key in ((a["code"], b["teacher_key"]), (a["code"], ""), ("ABCDEFGH", a["teacher_key"])):
        event, data = call(app_url, "room_wall", code, key)
        assert event == "error" and "No class with this code" in json.dumps(data) and "posts" not in json.dumps(data)
    event, wall_b = call(app_url, "room_wall", b["code"], b["teacher_key"])
    assert event == "complete" and wall_b[0]["posts"] == []  # the other room sees none of it
    post = payload["room_post"]
    assert call(app_url, "room_withdraw", a["code"], post["id"], "not-the-key")[0] == "error"
    assert call(app_url, "room_close", a["code"], b["teacher_key"])[0] == "error"
    assert len(call(app_url, "room_wall", a["code"], a["teacher_key"])[1][0]["posts"]) == 1
    assert call(app_url, "room_withdraw", a["code"], post["id"], post["key"])[0] == "complete"
    assert call(app_url, "room_wall", a["code"], a["teacher_key"])[1][0]["posts"] == []
    for r in (a, b):
        assert call(app_url, "room_close", r["code"], r["teacher_key"])[0] == "complete"


def test_paligemma_posts_what_it_saw(app_url, photos):
    """PaliGemma's answers post too (its JSON carries room_post), with a thumbnail of the squashed picture."""
    from gitdemo.ui import registry

    if not registry.embedded_folder():
        pytest.skip("no embedded PaliGemma in this build")
    (_, [room]) = call(app_url, "room_open")
    from gitdemo.bench.classroom import _defaults

    s = Student(app_url, "paligemma", _defaults(app_url, "paligemma", None))
    try:
        _, _, _, payload = s.ask(photos[2], room=room["code"])[:4]
    finally:
        s.close()
    posts = call(app_url, "room_wall", room["code"], room["teacher_key"])[1][0]["posts"]
    assert [p["id"] for p in posts] == [payload["room_post"]["id"]] and posts[0]["task"] == "paligemma"
    assert Image.open(__import__("io").BytesIO(__import__("base64").b64decode(posts[0]["thumbnail"].split(",")[1]))
                      ).size == (96, 96)
    call(app_url, "room_close", room["code"], room["teacher_key"])


def test_image_inputs_take_the_camera_and_the_video_tab_records(app_url):
    import httpx

    config = httpx.get(f"{app_url}/config", timeout=60).json()
    props = {c["props"].get("elem_id"): c["props"] for c in config["components"] if c.get("props", {}).get("elem_id")}
    for key in ("caption-image", "vqa-image", "paligemma-image", "compare-image"):
        assert props[key]["sources"] == ["upload", "webcam", "clipboard"], key
    assert props["video-input"]["sources"] == ["upload", "webcam"]
    for key in ("caption-room", "vqa-room", "paligemma-room"):  # the room box: hidden until the page joins
        assert props[key]["visible"] is False and props[key]["interactive"] is False
