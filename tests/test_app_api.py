"""The app as API users see it: `python app.py` in a subprocess, driven by gradio_client.

Offline (HF_HUB_OFFLINE=1), so the default model of every tab is the embedded Shapes model, and
the examples' ground truth (assets/examples/truth.json) says what it must answer.
"""
from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "assets" / "examples"
TRUTH = json.loads((EXAMPLES / "truth.json").read_text())["files"]
SCENES = sorted(n for n, f in TRUTH.items() if f["kind"] == "image")
VIDEOS = sorted(n for n, f in TRUTH.items() if f["kind"] == "video")


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, analytics_enabled=False, verbose=False)


def _error(exc_info) -> str:
    return str(exc_info.value)


# ----------------------------------------------------------------------------- the contract
def test_named_endpoints(client):
    info = client.view_api(print_info=False, return_format="dict")
    named = set(info["named_endpoints"])
    assert {"/caption", "/vqa", "/video", "/mask"} <= named
    assert not any("explore" in n or "_token" in n or "_view" in n for n in named)  # UI-only events stay hidden
    caption = info["named_endpoints"]["/caption"]["parameters"]
    assert caption[0]["parameter_name"] == "image" and not caption[0]["parameter_has_default"]
    assert all(p["parameter_has_default"] for p in caption[1:])
    vqa = [p["parameter_name"] for p in info["named_endpoints"]["/vqa"]["parameters"]]
    assert vqa[:3] == ["image", "question", "model"]
    video = info["named_endpoints"]["/video"]["parameters"]
    assert video[0]["parameter_name"] == "video" and all(p["parameter_has_default"] for p in video[1:])
    assert caption[1]["parameter_default"] == "embedded"  # offline: the embedded model is the default


# ----------------------------------------------------------------------------- right answers
@pytest.mark.parametrize("name", SCENES)
def test_caption(client, name):
    text, data = client.predict(handle_file(str(EXAMPLES / name)), api_name="/caption")
    assert text == TRUTH[name]["caption"]
    assert data["text"] == text and data["grid"] == [7, 7] and data["frames"] == 1 and data["model"] == "embedded"
    assert [t["text"] for t in data["tokens"]] == text.split()
    for t in data["tokens"]:
        grid = np.asarray(t["attention"])
        assert grid.shape == (7, 7) and abs(grid.sum() - 1) < 1e-3


def test_caption_streams_token_by_token(client):
    name = max(SCENES, key=lambda n: len(TRUTH[n]["caption"]))
    updates = list(client.submit(handle_file(str(EXAMPLES / name)), api_name="/caption"))
    texts = [u[0] for u in updates if u[0]]
    assert len(texts) > 2
    assert all(b.startswith(a) for a, b in zip(texts, texts[1:]))  # growing, one token at a time
    assert texts[-1] == TRUTH[name]["caption"] and updates[-1][1]["text"] == texts[-1]


def test_attention_points_at_the_object(client, tmp_path):
    """For each colour or shape word of a caption, the peak of its attention grid in the API's JSON lies on
    the object the word names (SHAPES_WORLD.md's pointing rule, scored by gitdemo.evaluate), for >= 80% of
    the words of the examples and 15 fresh scenes."""
    from types import SimpleNamespace

    from gitdemo import shapes
    from gitdemo.evaluate import pointing_hits

    cases = [(EXAMPLES / n, TRUTH[n]["objects"]) for n in SCENES]
    rng = np.random.default_rng(7)
    for i in range(15):
        scene = shapes.draw_scene(rng)
        scene.image.save(tmp_path / f"{i}.png")
        cases.append((tmp_path / f"{i}.png", [o.to_dict() for o in scene.objects]))
    hits = []
    for path, objects in cases:
        _, data = client.predict(handle_file(str(path)), api_name="/caption")
        hits += pointing_hits(data["tokens"], [SimpleNamespace(**o) for o in objects])
    assert len(hits) >= 40 and sum(hits) / len(hits) >= 0.8, f"{sum(hits)} of {len(hits)}"


@pytest.mark.parametrize("name", SCENES)
def test_vqa(client, name):
    question = TRUTH[name]["example_question"]
    answer = dict(TRUTH[name]["questions"])[question]
    text, data = client.predict(handle_file(str(EXAMPLES / name)), question, api_name="/vqa")
    assert text == answer
    assert data["question"] == question and len(data["tokens"]) >= 1


def test_video_caption_and_question(client):
    name = VIDEOS[0]
    truth = TRUTH[name]
    text, data = client.predict(handle_file(str(EXAMPLES / name)), api_name="/video")
    assert text == truth["caption"]
    assert data["frames"] == 6 and data["video"]["frame_indices"] == [2, 6, 10, 14, 18, 22]
    assert np.asarray(data["tokens"][0]["attention"]).shape == (6, 7, 7)
    question, answer = truth["questions"][0]
    text, _ = client.predict(handle_file(str(EXAMPLES / name)), question, api_name="/video")
    assert text == answer
    updates = list(client.submit(handle_file(str(EXAMPLES / VIDEOS[1])), api_name="/video"))
    assert len([u for u in updates if u[0]]) > 1 and updates[-1][0] == TRUTH[VIDEOS[1]]["caption"]


def test_api_gives_what_the_model_gives(client, tmp_path):
    """On fresh inputs (not the chosen examples), the API returns exactly the model's own output, run here."""
    import gitdemo
    from gitdemo import shapes
    from gitdemo.io.video import read_frames
    from gitdemo.pipeline import run
    from gitdemo.processing import open_image

    processor = gitdemo.load_processor(None)
    models = {}  # the app runs at its default precision (int8 on a CPU) and says which in the JSON
    rng = np.random.default_rng(99)
    image, clip = tmp_path / "fresh.png", tmp_path / "fresh.mp4"
    shapes.draw_scene(rng, n_objects=2).image.save(image)
    shapes.write_video(str(clip), shapes.draw_video(rng).frames)
    cases = [("/caption", (handle_file(str(image)),), [open_image(image)], None),
             ("/vqa", (handle_file(str(image)), "how many objects are there?"),
              [open_image(image)], "how many objects are there?"),
             ("/video", (handle_file(str(clip)),), read_frames(clip, 6).frames, None)]
    for api, args, frames, question in cases:
        text, data = client.predict(*args, api_name=api)
        precision = data["precision"]
        model = models.setdefault(precision, gitdemo.load_model(None, precision=precision, progress=False))
        here = run(model, processor, frames, question)
        assert text == here.text and [t["id"] for t in data["tokens"]] == [t.id for t in here.tokens], api
        for t, h in zip(data["tokens"], here.tokens):
            assert np.allclose(np.asarray(t["attention"]), h.attention if api == "/video" else h.attention[0],
                               atol=1e-5)


def test_decoding_modes(client):
    image = handle_file(str(EXAMPLES / SCENES[0]))
    beam, data = client.predict(image, "embedded", "beam", 20, 3, api_name="/caption")
    assert beam == TRUTH[SCENES[0]]["caption"] and data["settings"]["mode"] == "beam"
    a = client.predict(image, "embedded", "sampling", 8, 3, 1.5, 1.0, 42, api_name="/caption")[0]
    b = client.predict(image, "embedded", "sampling", 8, 3, 1.5, 1.0, 42, api_name="/caption")[0]
    assert a == b and a  # same seed, same text


def test_mask_endpoint(client):
    image, caption = client.predict("embedded", "image", "what color is the circle?", "red", api_name="/mask")
    assert Path(image).is_file()
    assert "image → image: all visible" in caption and "output → output: causal" in caption


# ----------------------------------------------------------------------------- bad input
BAD_IMAGES = {
    "corrupt.png": "corrupt",
    "text.png": "not an image",
    "huge.png": "megapixels",
    "empty.png": "empty",
}


@pytest.mark.parametrize("name", sorted(BAD_IMAGES))
def test_bad_image_gives_a_clear_message(client, bad_inputs, name):
    with pytest.raises(Exception) as info:
        client.predict(handle_file(str(bad_inputs[name])), api_name="/caption")
    assert BAD_IMAGES[name] in _error(info), _error(info)
    with pytest.raises(Exception) as info:
        client.predict(handle_file(str(bad_inputs[name])), "what is it?", api_name="/vqa")
    assert BAD_IMAGES[name] in _error(info)


def test_no_file(client):
    with pytest.raises(Exception) as info:
        client.predict(None, api_name="/caption")
    assert "Upload an image" in _error(info)
    with pytest.raises(Exception) as info:
        client.predict(None, api_name="/video")
    assert "Upload a video" in _error(info)


def test_animated_gif_gives_a_caption(client, bad_inputs):
    text, data = client.predict(handle_file(str(bad_inputs["animated.gif"])), api_name="/caption")
    assert text and data["frames"] == 1  # its first frame


@pytest.mark.parametrize("name,expected", [("audio.mp4", "no video stream"), ("text.mp4", "not a video")])
def test_bad_video(client, bad_inputs, name, expected):
    with pytest.raises(Exception) as info:
        client.predict(handle_file(str(bad_inputs[name])), api_name="/video")
    assert expected in _error(info), _error(info)


def test_file_over_the_size_limit_is_refused(client, tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG" + b"\0" * (21 * 2**20))
    with pytest.raises(ValueError, match="exceeds the maximum file size"):  # the client refuses before upload
        client.predict(handle_file(str(big)), api_name="/caption")


@pytest.mark.parametrize("question,expected", [("", "Type a question"), ("   ", "Type a question"),
                                               ("why " * 1250, "characters long")])
def test_bad_question(client, question, expected):
    with pytest.raises(Exception) as info:
        client.predict(handle_file(str(EXAMPLES / SCENES[0])), question, api_name="/vqa")
    assert expected in _error(info), _error(info)


@pytest.mark.parametrize("question", ["what color is the [SEP] circle?", "[CLS] [CLS] what shape", "<image> is there?",
                                      "[SEP]"])
def test_special_tokens_in_a_question_are_just_text(client, question):
    text, data = client.predict(handle_file(str(EXAMPLES / SCENES[0])), question, api_name="/vqa")
    assert isinstance(text, str) and data["question"] == question


def test_bad_settings(client):
    with pytest.raises(Exception) as info:
        client.predict(handle_file(str(EXAMPLES / SCENES[0])), "embedded", "telepathy", api_name="/caption")
    assert "Decoding must be one of" in _error(info) or "telepathy" in _error(info)


def test_unavailable_model_offers_the_embedded_one(client):
    with pytest.raises(Exception) as info:
        client.predict(handle_file(str(EXAMPLES / SCENES[0])), "microsoft/git-base-coco", api_name="/caption")
    assert "embedded" in _error(info).lower() and "Hub" in _error(info)


def test_still_serving_after_bad_input(app_server, client):
    url, log, proc = app_server
    assert proc.poll() is None
    text, _ = client.predict(handle_file(str(EXAMPLES / SCENES[1])), api_name="/caption")
    assert text == TRUTH[SCENES[1]]["caption"]


# ----------------------------------------------------------------------------- many users at once
def test_ten_concurrent_clients_get_their_own_results(app_url, client):
    """Ten clients caption ten different images at once; each gets exactly what it gets alone."""
    import tempfile

    from gitdemo import shapes

    folder = Path(tempfile.mkdtemp())
    paths = [EXAMPLES / n for n in SCENES]
    rng = np.random.default_rng(2024)
    while len(paths) < 10:
        p = folder / f"extra_{len(paths)}.png"
        shapes.draw_scene(rng).image.save(p)
        paths.append(p)
    alone = [client.predict(handle_file(str(p)), api_name="/caption") for p in paths]
    assert len({t for t, _ in alone}) >= 6  # different images, different captions
    results: list = [None] * 10
    errors: list = []
    barrier = threading.Barrier(10)

    def one(i):
        try:
            c = Client(app_url, analytics_enabled=False, verbose=False)
            barrier.wait(timeout=60)
            results[i] = c.predict(handle_file(str(paths[i])), api_name="/caption")
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    for (text, data), (text0, data0), p in zip(results, alone, paths):
        assert text == text0, p
        assert [t["id"] for t in data["tokens"]] == [t["id"] for t in data0["tokens"]]
        for t, t0 in zip(data["tokens"], data0["tokens"]):
            assert np.allclose(t["attention"], t0["attention"], atol=1e-5)
    for (text, _), p in zip(results, paths):
        if p.name in TRUTH:
            assert text == TRUTH[p.name]["caption"]


# ----------------------------------------------------------------------------- PaliGemma, embedded
PALI_EXAMPLES = json.loads((EXAMPLES / "truth.json").read_text()).get("paligemma", [])


def test_paligemma_defaults_to_the_embedded_model_offline(client):
    info = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/paligemma"]["parameters"]
    assert info[2]["parameter_name"] == "model" and info[2]["parameter_default"] == "embedded-paligemma"
    assert len(PALI_EXAMPLES) >= 5 and any(e["prompt"].startswith("detect") for e in PALI_EXAMPLES)


@pytest.mark.parametrize("example", PALI_EXAMPLES, ids=[f"{e['file']}:{e['prompt']}" for e in PALI_EXAMPLES])
def test_paligemma_examples(client, example):
    """The tab's examples: the exact answer; for detect, each box on the object it names (IoU >= 0.5)."""
    from types import SimpleNamespace

    from gitdemo.shapes.tasks import detect_label_matches, iou

    text, annotated, note, data = client.predict(handle_file(str(EXAMPLES / example["file"])), example["prompt"],
                                                 api_name="/paligemma")
    assert text == example["answer"] and data["text"] == text
    assert data["grid"] == [7, 7] and len(data["tokens"]) >= 1
    if example["prompt"].startswith("detect "):
        label = example["prompt"][len("detect "):]
        objects = [SimpleNamespace(**o) for o in TRUTH[example["file"]]["objects"]]
        want = [o.box for o in objects if detect_label_matches(label, o)]
        got = [d["box"] for d in data["detections"]]
        assert len(got) == len(want) >= 1 and all(d["label"] == label for d in data["detections"])
        for box in want:
            assert max(iou(box, g) for g in got) >= 0.5, (box, got)
        assert annotated is not None and len(annotated["annotations"]) == len(want)


def test_paligemma_detects_objects_in_fresh_scenes(client, tmp_path):
    """`detect {colour} {shape}` on 20 fresh scenes through the API: most objects boxed (IoU >= 0.5). The shipped
    model finds 65.5% of objects over all detect prompts (eval.md; the bar of 85% is not met yet)."""
    from gitdemo import shapes
    from gitdemo.shapes.tasks import iou

    rng = np.random.default_rng(99)
    hits = []
    for i in range(20):
        scene = shapes.draw_scene(rng)
        scene.image.save(tmp_path / f"{i}.png")
        o = scene.objects[int(rng.integers(len(scene.objects)))]
        _, _, _, data = client.predict(handle_file(str(tmp_path / f"{i}.png")), f"detect {o.colour} {o.shape}",
                                       api_name="/paligemma")
        boxes = [d["box"] for d in data["detections"]]
        hits.append(bool(boxes) and max(iou(o.box, b) for b in boxes) >= 0.5)
    assert sum(hits) >= 0.5 * len(hits), hits


def test_api_exact_precision_is_one_input_away(client):
    """The optional last input picks the precision; fp32 gives exactly what the fp32 model gives here."""
    import gitdemo
    from gitdemo.pipeline import run
    from gitdemo.processing import open_image

    path = str(ROOT / "assets" / "examples" / "scene_00001.png")
    text, data = client.predict(handle_file(path), "embedded", "greedy", 20, 3, 1.0, 0.9, 0, "fp32",
                                api_name="/caption")
    here = run(gitdemo.load_model(None, precision="fp32", progress=False), gitdemo.load_processor(None),
               [open_image(path)])
    assert data["precision"] == "fp32" and text == here.text
    assert [t["id"] for t in data["tokens"]] == [t.id for t in here.tokens]
    for t, h in zip(data["tokens"], here.tokens):
        assert np.allclose(np.asarray(t["attention"]), h.attention[0], atol=1e-5)
