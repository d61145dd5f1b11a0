"""Tests for gitdemo.shapes against /work/shared/SHAPES_WORLD.md."""
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

from gitdemo import shapes as S  # noqa: E402

N_SCENES = 300


@pytest.fixture(scope="module")
def scenes():
    rng = np.random.default_rng(2024)
    return [S.draw_scene(rng) for _ in range(N_SCENES)]


def _arr(img):
    return np.asarray(img, dtype=np.int16)


def _gap(a, b):
    gx = max(b.box[0] - a.box[2], a.box[0] - b.box[2])
    gy = max(b.box[1] - a.box[3], a.box[1] - b.box[3])
    return max(gx, gy)


def _inside(box):
    x0, y0, x1, y1 = box
    return 0 <= x0 < x1 <= S.IMAGE_SIZE and 0 <= y0 < y1 <= S.IMAGE_SIZE


def test_constants():
    assert S.COLOURS == {"red": (220, 40, 40), "green": (40, 170, 60),
                         "blue": (40, 80, 220), "yellow": (235, 200, 30)}
    assert S.SHAPES == ("circle", "square", "triangle")
    assert S.DIRECTIONS == ("left", "right", "up", "down")
    assert S.IMAGE_SIZE == 224


def test_reproducible():
    a, b = np.random.default_rng(7), np.random.default_rng(7)
    for _ in range(10):
        sa, sb = S.draw_scene(a), S.draw_scene(b)
        assert sa.caption == sb.caption and sa.questions == sb.questions
        assert [o.to_dict() for o in sa.objects] == [o.to_dict() for o in sb.objects]
        assert np.array_equal(_arr(sa.image), _arr(sb.image))
    va, vb = S.draw_video(a, frame_indices=[0, 23]), S.draw_video(b, frame_indices=[0, 23])
    assert va.boxes == vb.boxes and va.caption == vb.caption
    assert all(np.array_equal(_arr(x), _arr(y)) for x, y in zip(va.frames, vb.frames))
    assert S.draw_scene(np.random.default_rng(8)).image.tobytes() != S.draw_scene(np.random.default_rng(9)).image.tobytes()


def test_scene_constraints(scenes):
    counts = Counter(len(s.objects) for s in scenes)
    assert set(counts) == {1, 2} and min(counts.values()) > N_SCENES * 0.35
    layouts = Counter(s.layout for s in scenes if len(s.objects) == 2)
    assert min(layouts["horizontal"], layouts["vertical"]) > counts[2] * 0.3
    for s in scenes:
        assert s.image.size == (224, 224) and s.image.mode == "RGB"
        img = _arr(s.image)
        for o in s.objects:
            assert o.shape in S.SHAPES and o.colour in S.COLOURS
            assert 44 <= o.size <= 88
            assert o.box[2] - o.box[0] == o.size == o.box[3] - o.box[1]
            assert _inside(o.box)
            assert np.all(np.abs(np.subtract(o.rgb, S.COLOURS[o.colour])) <= 15)
            # The object's colour around its box centre: rgb plus noise (sigma 6).
            cx, cy = (int(v) for v in o.center)
            patch = img[cy - 2:cy + 3, cx - 2:cx + 3].reshape(-1, 3)
            med = np.median(patch, axis=0)
            assert np.all(np.abs(med - o.rgb) <= 6), (s.caption, med, o.rgb)
            assert np.all(np.abs(med - S.COLOURS[o.colour]) <= 21)
        # Background: everything outside the boxes is one colour in [200, 255] plus noise.
        bg = np.ones((224, 224), bool)
        for o in s.objects:
            bg[o.box[1]:o.box[3], o.box[0]:o.box[2]] = False
        pix = img[bg]
        med = np.median(pix, axis=0)
        assert np.all(med >= 198) and np.all(med <= 255)
        for ch in range(3):
            if med[ch] < 235:  # away from the clip at 255 the noise has sigma 6
                assert 5.0 < pix[:, ch].std() < 7.0
        if len(s.objects) == 1:
            assert s.layout == "single"
            assert s.caption == f"a {s.objects[0].colour} {s.objects[0].shape}"
            continue
        a, b = s.objects
        assert _gap(a, b) >= 8
        assert (a.colour, a.shape) != (b.colour, b.shape)
        dx, dy = b.center[0] - a.center[0], b.center[1] - a.center[1]
        if s.layout == "horizontal":
            assert abs(dx) >= 2 * abs(dy)
            assert dx > 0  # caption order: left one first
            assert s.caption == f"a {a.colour} {a.shape} left of a {b.colour} {b.shape}"
        else:
            assert s.layout == "vertical" and abs(dy) >= 2 * abs(dx)
            assert dy > 0  # upper one first
            assert s.caption == f"a {a.colour} {a.shape} above a {b.colour} {b.shape}"


def _expected(scene, q):
    """Answer a question from the object geometry alone (None if it must not be asked)."""
    objs = scene.objects
    if q.startswith("what color is the "):
        shape = q[len("what color is the "):-1]
        hits = [o for o in objs if o.shape == shape]
        return hits[0].colour if len(hits) == 1 else None
    if q.startswith("what shape is the "):
        colour = q[len("what shape is the "):-len(" object?")]
        hits = [o for o in objs if o.colour == colour]
        return hits[0].shape if len(hits) == 1 else None
    if q == "how many objects are there?":
        return {1: "one", 2: "two"}[len(objs)]
    if q.startswith("is there a "):
        colour, shape = q[len("is there a "):-1].split()
        return "yes" if any((o.colour, o.shape) == (colour, shape) for o in objs) else "no"
    if q.startswith("where is the ") and len(objs) == 2:
        colour, shape = q[len("where is the "):-1].split()
        me = [o for o in objs if (o.colour, o.shape) == (colour, shape)][0]
        other = [o for o in objs if o is not me][0]
        if scene.layout == "horizontal":
            return "left" if me.center[0] < other.center[0] else "right"
        return "top" if me.center[1] < other.center[1] else "bottom"
    return None


def test_questions(scenes):
    for s in scenes:
        qs = dict(s.questions)
        assert len(qs) == len(s.questions)  # no duplicate question
        for q, a in s.questions:
            assert _expected(s, q) == a, (s.caption, q, a)
        shapes = [o.shape for o in s.objects]
        colours = [o.colour for o in s.objects]
        for o in s.objects:  # every question the spec allows is there
            assert (f"what color is the {o.shape}?" in qs) == (shapes.count(o.shape) == 1)
            assert (f"what shape is the {o.colour} object?" in qs) == (colours.count(o.colour) == 1)
            assert qs[f"is there a {o.colour} {o.shape}?"] == "yes"
            if len(s.objects) == 2:
                assert f"where is the {o.colour} {o.shape}?" in qs
        assert "how many objects are there?" in qs
        answers = Counter(a for q, a in s.questions if q.startswith("is there"))
        assert 1 <= answers["no"] <= 2 and answers["yes"] == len(s.objects)


def test_sample_question(scenes):
    rng = np.random.default_rng(0)
    kinds, yesno = Counter(), Counter()
    for i in range(3000):
        s = scenes[i % len(scenes)]
        q, a = S.sample_question(rng, s)
        assert (q, a) in s.questions
        kinds[S.question_kind(q)] += 1
        if a in ("yes", "no"):
            yesno[a] += 1
    assert set(kinds) == set(S.QUESTION_KINDS)
    # 'where' only exists in two-object scenes; the other kinds are near-uniform.
    for k in ("color", "shape", "count", "exists"):
        assert 0.15 < kinds[k] / 3000 < 0.3, kinds
    assert abs(yesno["yes"] - yesno["no"]) < 0.1 * sum(yesno.values())


def test_video_constraints():
    rng = np.random.default_rng(11)
    dirs = Counter()
    for i in range(60):
        v = S.draw_video(rng, frame_indices=[0, 23] if i < 10 else [])
        dirs[v.direction] += 1
        o = v.object
        assert len(v.boxes) == 24 and v.boxes[0] == o.box and 44 <= o.size <= 88
        assert all(_inside(b) and b[2] - b[0] == o.size == b[3] - b[1] for b in v.boxes)
        c = np.array([[(b[0] + b[2]) / 2, (b[1] + b[3]) / 2] for b in v.boxes])
        travel = c[-1] - c[0]
        assert 60 <= np.abs(travel).sum() <= 120
        axis, sign = {"left": (0, -1), "right": (0, 1), "up": (1, -1), "down": (1, 1)}[v.direction]
        assert np.all(c[:, 1 - axis] == c[0, 1 - axis])  # straight line
        steps = np.diff(c[:, axis]) * sign
        assert np.all(steps >= 0)
        assert np.all(np.abs(steps - steps.mean()) <= 1)  # constant speed up to rounding
        assert v.caption == f"a {o.colour} {o.shape} moving {v.direction}"
        assert v.questions == [(f"which way is the {o.shape} moving?", v.direction),
                               ("what color is the moving object?", o.colour)]
        for k, f in zip(v.frame_indices, v.frames):
            assert f.size == (224, 224)
            b = v.boxes[k]
            cx, cy = (b[0] + b[2]) // 2, (b[1] + b[3]) // 2
            med = np.median(_arr(f)[cy - 2:cy + 3, cx - 2:cx + 3].reshape(-1, 3), axis=0)
            assert np.all(np.abs(med - o.rgb) <= 6)
    assert set(dirs) == set(S.DIRECTIONS)


def test_video_same_background():
    v = S.draw_video(np.random.default_rng(3), frame_indices=[0, 23])
    masks = []
    for k in (0, 23):
        m = np.ones((224, 224), bool)
        b = v.boxes[k]
        m[b[1]:b[3], b[0]:b[2]] = False
        masks.append(m)
    both = masks[0] & masks[1]
    m0 = np.median(_arr(v.frames[0])[both], axis=0)
    m1 = np.median(_arr(v.frames[1])[both], axis=0)
    assert np.all(np.abs(m0 - m1) <= 1)
    assert not np.array_equal(_arr(v.frames[0])[both], _arr(v.frames[1])[both])  # fresh noise


def test_frame_indices_same_geometry():
    full = S.draw_video(r1 := np.random.default_rng(5))
    part = S.draw_video(r2 := np.random.default_rng(5), frame_indices=[0, 7, 23])
    assert len(full.frames) == 24 and len(part.frames) == 3 and part.frame_indices == [0, 7, 23]
    assert full.boxes == part.boxes and full.caption == part.caption and full.object == part.object
    for f, k in zip(part.frames, part.frame_indices):
        assert np.array_equal(_arr(f), _arr(full.frames[k]))
    assert r1.integers(1 << 30) == r2.integers(1 << 30)  # rng left in the same state


def _decode(path):
    import av
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def test_write_dataset(tmp_path):
    truth = S.write_dataset(tmp_path, n_scenes=3, n_videos=2, seed=1)
    on_disk = json.loads((tmp_path / "truth.json").read_text())
    assert on_disk == json.loads(json.dumps(truth))
    files = on_disk["files"]
    assert sorted(files) == ["scene_00000.png", "scene_00001.png", "scene_00002.png",
                             "video_00000.mp4", "video_00001.mp4"]
    from PIL import Image
    for name, t in files.items():
        assert (tmp_path / name).exists()
        assert t["caption"] and t["questions"] and t["objects"]
        for o in t["objects"]:
            assert {"shape", "colour", "box"} <= set(o)
        if t["kind"] == "image":
            assert t["layout"] in ("single", "horizontal", "vertical")
            assert Image.open(tmp_path / name).size == (224, 224)
        else:
            assert t["direction"] in S.DIRECTIONS and len(t["boxes"]) == 24
            frames = _decode(tmp_path / name)
            assert len(frames) == 24 and frames[0].shape == (224, 224, 3)
            o = t["objects"][0]
            for k in (0, 23):  # the object is where truth.json says, in its colour
                x0, y0, x1, y1 = t["boxes"][k]
                cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
                med = np.median(frames[k][cy - 2:cy + 3, cx - 2:cx + 3].reshape(-1, 3), axis=0)
                assert np.all(np.abs(med - o["rgb"]) <= 20)
    # Same seed, same data.
    again = S.write_dataset(tmp_path / "again", n_scenes=3, n_videos=0, seed=1)
    assert [again["files"][f"scene_0000{i}.png"] for i in range(3)] == [truth["files"][f"scene_0000{i}.png"] for i in range(3)]


def test_write_webm(tmp_path):
    import av
    if "libvpx-vp9" not in av.codecs_available:
        with pytest.raises(RuntimeError):
            S.write_dataset(tmp_path, 0, 1, seed=0, video_format="webm")
        return
    S.write_dataset(tmp_path, 0, 1, seed=0, video_format="webm")
    assert len(_decode(tmp_path / "video_00000.webm")) == 24
