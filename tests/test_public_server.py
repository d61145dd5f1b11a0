"""A public server's defaults, as a visitor meets them: `python app.py` in a subprocess (see conftest.app_server)
driven by gradio_client. Local model folders are refused unless the person running the app asked for them."""
from __future__ import annotations

from pathlib import Path

import pytest

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SCENE = sorted((ROOT / "assets" / "examples").glob("*.png"))[0]


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, analytics_enabled=False, verbose=False)


def test_a_local_folder_is_refused_by_default(client):
    # a real PaliGemma folder (the embedded one): refused because of where it comes from, not what it holds
    folder = ROOT / "assets" / "models" / "paligemma-shapes"
    with pytest.raises(Exception, match="does not load models from local folders") as exc:
        client.predict(handle_file(str(SCENE)), "caption en", folder=str(folder), api_name="/paligemma")
    assert "--local-models" in str(exc.value)
    text, *_ = client.predict(handle_file(str(SCENE)), "caption en", api_name="/paligemma")  # still serving
    assert isinstance(text, str)


def test_the_folder_box_is_hidden_by_default(client, app_url):
    import json
    import urllib.request

    with urllib.request.urlopen(app_url + "/config", timeout=10) as r:
        cfg = json.load(r)
    box = [c for c in cfg["components"] if c.get("props", {}).get("elem_id") == "paligemma-folder"]
    assert box and box[0]["props"].get("visible") is False


def test_local_models_flag_and_env(monkeypatch):
    from gitdemo.ui import registry

    monkeypatch.delenv("GITDEMO_LOCAL_MODELS", raising=False)
    assert not registry.local_models_allowed()
    for value, allowed in (("1", True), ("yes", True), ("0", False), ("", False), ("off", False)):
        monkeypatch.setenv("GITDEMO_LOCAL_MODELS", value)
        assert registry.local_models_allowed() is allowed


# ----------------------------------------------------------------------------- honest messages
def test_a_photo_on_the_shapes_model_gets_a_notice(client):
    photo = ROOT / "assets" / "examples" / "grace_hopper.jpg"
    text, data = client.predict(handle_file(str(photo)), "embedded", api_name="/caption")
    assert text == data["text"] and "does not look like the Shapes world" in data["notice"]
    assert "microsoft/git-base-coco" in data["notice"]
    _, data = client.predict(handle_file(str(SCENE)), "embedded", api_name="/caption")
    assert "notice" not in data
    *_, data = client.predict(handle_file(str(photo)), "caption en", api_name="/paligemma")
    assert "google/paligemma-3b-mix-224" in data["notice"]


def test_an_empty_answer_gets_a_sentence(client):
    # the embedded PaliGemma writes nothing for `segment red circle` on the first shipped scene
    text, _, _, data = client.predict(handle_file(str(SCENE)), "segment red circle", api_name="/paligemma")
    assert data["text"] == "" and text.startswith("(The model produced no text for this input.")


def test_git_tabs_say_so_too(monkeypatch):
    """The shared GIT streaming handler (caption, vqa, video): an empty last update becomes the sentence; the
    JSON keeps the raw text; a photo on the embedded model carries the notice."""
    from PIL import Image

    from gitdemo.pipeline.decoding import Decoding
    from gitdemo.ui import controls, registry

    def fake_generate(model, processor, images, question, decoding, name, streamer=None):
        yield "", None
        yield "", {"text": "", "tokens": []}

    monkeypatch.setattr(controls, "generate", fake_generate)
    loaded = registry.Loaded(registry.EMBEDDED, None, None, 0, 0.0)
    photo = Image.open(ROOT / "assets" / "examples" / "flower.jpg").convert("RGB")
    updates = list(controls.stream_generation(loaded, [photo], "what is this?", Decoding()))
    text, payload = updates[-1]
    assert text.startswith("(The model produced no text") and "Shapes" in text
    assert payload["text"] == "" and "microsoft/git-base-vqav2" in payload["notice"]
    _, payload = list(controls.stream_generation(loaded, [Image.open(SCENE)], None, Decoding()))[-1]
    assert "notice" not in payload
