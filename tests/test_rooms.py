"""Class rooms without a browser: codes, keys, bounds, expiry, rate limiting, thirty students at once, memory,
the wall's HTML, and the same over the app's HTTP API (thirty clients posting into one room at once)."""
from __future__ import annotations

import gc
import re
import threading
import tracemalloc

import numpy as np
import pytest
from PIL import Image

from gitdemo.serving import rooms as rooms_mod
from gitdemo.serving.rooms import ALPHABET, CODE_LEN, FAILS_PER_MINUTE, RoomError, Rooms, normalise_code, thumbnail
from gitdemo.ui import wall


def result(text: str, grid=(7, 7), seed: int = 0) -> dict:
    """A generation's JSON as /caption returns it: tokens with default grids (each sums to 1) and shares."""
    rng = np.random.default_rng(seed)
    tokens = []
    for w in text.split():
        g = rng.random(grid)
        tokens.append({"text": w, "id": 1, "attention": (g / g.sum()).tolist(),
                       "share": {"image": 0.8, "cls": 0.05, "text": 0.15}})
    return {"text": text, "tokens": tokens, "grid": list(grid), "model": "embedded", "precision": "fp32"}


THUMB = thumbnail(Image.new("RGB", (320, 200), (200, 30, 30)))


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def test_codes_are_long_unambiguous_and_distinct():
    r = Rooms(max_rooms=200)
    codes = [r.open().code for _ in range(200)]
    assert len(set(codes)) == 200
    assert all(len(c) == CODE_LEN and set(c) <= set(ALPHABET) for c in codes)
    assert not set("01OIL") & set(ALPHABET) and len(ALPHABET) ** CODE_LEN > 10**11
    assert normalise_code(" abcd-efgh ") == "ABCDEFGH"


def test_post_wall_withdraw_close_and_wrong_keys():
    r = Rooms()
    a, b = r.open(), r.open()
    p1 = r.post(a.code.lower(), result("a red circle"), THUMB, owner="s1")
    p2 = r.post(a.code, result("a blue square"), THUMB, owner="s2")
    version, posts = r.wall(a.code, a.teacher_key)
    assert [p.text for p in posts] == ["a red circle", "a blue square"] and version == 2
    assert r.wall(b.code, b.teacher_key)[1] == []  # the other room sees none of it
    for bad in (b.teacher_key, "", a.teacher_key + "x"):
        with pytest.raises(RoomError, match="No class with this code"):
            r.wall(a.code, bad)
    with pytest.raises(RoomError, match="No class with this code"):
        r.post("ZZZZZZZZ", result("x"), THUMB)
    with pytest.raises(RoomError, match="No post"):
        r.withdraw(a.code, p1["id"], key=p2["key"])  # another post's key
    with pytest.raises(RoomError, match="No post"):
        r.withdraw(a.code, p1["id"], owner="s2")  # another student's page
    r.withdraw(a.code, p1["id"], key=p1["key"])
    r.withdraw(a.code, p2["id"], owner="s2")
    assert r.wall(a.code, a.teacher_key)[1] == [] and r.mine(a.code, "s1") == []
    r.post(a.code, result("a green star"), THUMB, owner="s1")
    assert r.close(a.code, a.teacher_key) == 1
    with pytest.raises(RoomError):
        r.wall(a.code, a.teacher_key)
    with pytest.raises(RoomError):
        r.join(a.code)


def test_bounds_say_so():
    r = Rooms(max_rooms=2, max_posts=3)
    room = r.open()
    r.open()
    with pytest.raises(RoomError, match=r"as many open classes as it can \(2\)"):
        r.open()
    for i in range(3):
        r.post(room.code, result(f"word{i}"), THUMB)
    with pytest.raises(RoomError, match=r"full \(3 posts\)"):
        r.post(room.code, result("one more"), THUMB)
    small = Rooms(max_bytes=3 * len(THUMB))
    s = small.open()
    small.post(s.code, result("a"), THUMB)
    with pytest.raises(RoomError, match="full"):
        for _ in range(5):
            small.post(s.code, result("a"), THUMB)
    long = {"text": "x", "tokens": [{"text": "t", "attention": [[1.0]]}] * 500}
    assert len(rooms_mod.tokens_from_result(long)) == rooms_mod.MAX_TOKENS


def test_rooms_expire(monkeypatch):
    clock = Clock()
    monkeypatch.setenv("GITDEMO_ROOM_HOURS", "0.5")
    r = Rooms(clock=clock)
    room = r.open()
    r.post(room.code, result("a red circle"), THUMB)
    clock.t += 0.5 * 3600 - 1
    assert len(r.wall(room.code, room.teacher_key)[1]) == 1
    clock.t += 2
    with pytest.raises(RoomError, match="ended"):
        r.wall(room.code, room.teacher_key)
    assert len(r) == 0 and r.nbytes() == 0


def test_wrong_codes_are_rate_limited_per_client():
    clock = Clock()
    r = Rooms(clock=clock)
    room = r.open()
    for i in range(FAILS_PER_MINUTE):
        with pytest.raises(RoomError, match="No class"):
            r.join(f"AAAA{i:04d}", client="guesser")
    with pytest.raises(RoomError, match="Too many wrong"):
        r.join(room.code, client="guesser")  # even the right code, for a minute
    assert r.join(room.code, client="student") == room.code  # others are not held up
    clock.t += 61
    assert r.join(room.code, client="guesser") == room.code


def test_thirty_students_at_once_lose_nothing_and_memory_comes_back():
    r = Rooms()
    made = {(i, j): result(f"student{i} post{j} circle", seed=i * 10 + j) for i in range(30) for j in range(3)}
    warm = r.open()  # one round first, so that what is measured is the room, not imports and first-use caches
    r.post(warm.code, made[0, 0], THUMB)
    r.close(warm.code, warm.teacher_key)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    room = r.open()
    got: list[dict] = []
    lock = threading.Lock()
    start = threading.Barrier(30)

    def student(i):
        start.wait()
        for j in range(3):
            p = r.post(room.code, made[i, j], THUMB, owner=f"s{i}")
            with lock:
                got.append(p)

    threads = [threading.Thread(target=student, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    version, posts = r.wall(room.code, room.teacher_key)
    assert len(got) == 90 and len({p["id"] for p in got}) == 90 and version == 90
    assert sorted(p.id for p in posts) == sorted(p["id"] for p in got)  # none lost, none twice
    assert sorted(p.text for p in posts) == sorted(f"student{i} post{j} circle" for i in range(30) for j in range(3))
    held = r.nbytes()
    assert held == sum(p.nbytes for p in posts) > 90 * len(THUMB)
    during = tracemalloc.get_traced_memory()[0]
    r.close(room.code, room.teacher_key)
    got.clear()
    del posts, threads
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert r.nbytes() == 0
    assert during - before > held  # what the room held was really allocated...
    assert after - before < 0.05 * (during - before), (before, during, after)  # ...and is given back


def test_wall_html_word_maps_and_counts():
    r = Rooms()
    room = r.open()
    r.post(room.code, result("a red circle", seed=1), THUMB)
    r.post(room.code, result("a red square", grid=(16, 16), seed=2), THUMB)
    r.post(room.code, result("<loc0001> a blue star", seed=3), THUMB)
    r.post(room.code, result("a <b>bold</b> & sly"), THUMB)
    posts = r.wall(room.code, room.teacher_key)[1]
    assert wall.word_counts(posts)["red"] == 2 and wall.word_choices(posts)[0] == "red"  # content words first
    assert "<loc0001>" not in wall.word_choices(posts)
    maps, vmax = wall.word_maps(posts, "red")
    assert len(maps) == 2 and vmax == pytest.approx(max(float(m.grid.max()) for m in maps))
    assert [m.grid.shape for m in maps] == [(7, 7), (16, 16)]
    assert all(m.grid.mean() == pytest.approx(1.0) for m in maps)  # relative to an even spread
    html = wall.wall_html(posts, "red")
    assert html.count("<figure") == 2 and "2 of 4 posts" in html and html.count('alt="Post') == 2
    assert re.search(r'alt="Post 1, “a red circle”: the map of “red”; its strongest patch is row \d, column \d of '
                     r'7 x 7, [\d.]+ times an even share', html)
    plain = wall.wall_html(posts)
    assert plain.count("<figure") == 4 and "<b>bold</b>" not in plain and "&lt;b&gt;bold&lt;/b&gt;" in plain
    counts = wall.counts_html(posts, "red")
    assert "4 posts" in counts and "<td>red</td><td>2</td>" in counts and "80% of the attention" in counts
    assert wall.mean_share(posts) == pytest.approx({"image": 0.8, "cls": 0.05, "text": 0.15})


def test_the_walls_timer_does_nothing_while_the_wall_is_not_on_screen(monkeypatch):
    import gradio as gr

    from gitdemo.ui.tabs import classroom

    r = Rooms()
    monkeypatch.setattr(classroom, "ROOMS", r)
    room = r.open()
    state = {"code": room.code, "key": room.teacher_key, "version": 0, "word": ""}
    assert all(x is gr.skip() or x == gr.skip() for x in classroom.tick(state, "", False, None))
    r.post(room.code, result("a red circle"), THUMB)
    shown = classroom.tick(state, "", True, None)  # on screen and changed: redrawn
    assert shown[0]["version"] == 1 and shown[4].count("<figure") == 1
    assert all(x == gr.skip() for x in classroom.tick(shown[0], "", True, None))  # unchanged: nothing sent
    r.close(room.code, room.teacher_key)
    ended = classroom.tick(shown[0], "", True, None)
    assert ended[0] is None and "ended" in ended[4]
