"""Nothing kept (issue 24): a visitor's files are deleted after GITDEMO_UPLOAD_RETENTION_S, their addresses close,
share-link states and emptied folders go too, and the server's log names no file and quotes no question.

The app test starts `python app.py` as a user would, with a retention of a few seconds, uploads and captions
a picture over the API, and watches the temporary folder empty itself.
"""
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

from conftest import launch_app, stop_app  # noqa: E402
from gitdemo.ui import retention  # noqa: E402

RETENTION_S = 6  # long enough to see the file before it goes; the sweeps then run every second


# ----------------------------------------------------------------------------- the rules, without a server
def test_retention_setting(monkeypatch):
    monkeypatch.delenv(retention.ENV, raising=False)
    assert retention.retention_s() == 3600 and retention.delete_cache() == (60, 3600)
    for raw, expected in (("3", 3), ("0", 1), ("90.5", 90), ("soon", 3600)):
        monkeypatch.setenv(retention.ENV, raw)
        assert retention.retention_s() == expected, raw
    monkeypatch.setenv(retention.ENV, "3")
    assert retention.delete_cache() == (1, 3)
    monkeypatch.setenv("GRADIO_TEMP_DIR", "/tmp/somewhere-else")
    assert retention.temp_dir() == Path("/tmp/somewhere-else").resolve()


def test_sweep_removes_old_share_links_and_empty_folders_only(tmp_path):
    link = tmp_path / "deep_links" / "a1b2c3"
    link.mkdir(parents=True)
    (link / "state.json").write_text('{"question": "what is in my photo?"}')
    (tmp_path / "0f0f" / "nested").mkdir(parents=True)  # what delete_cache leaves: a folder per upload, emptied
    kept = tmp_path / "beef"
    kept.mkdir()
    (kept / "example.png").write_bytes(b"an example Gradio keeps")
    now = time.time()
    assert retention.sweep(tmp_path, age=30, now=now + 10) == 0  # younger than the retention: all stays
    assert retention.sweep(tmp_path, age=30, now=now + 60) == 3  # the link, and 0f0f/nested then 0f0f
    assert not (tmp_path / "deep_links" / "a1b2c3").exists() and not (tmp_path / "0f0f").exists()
    assert (kept / "example.png").is_file() and (tmp_path / "deep_links").is_dir()


# ----------------------------------------------------------------------------- the app, as a class uses it
def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture(scope="module")
def short_retention_app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("retention-app")
    started = time.time()
    server = launch_app(tmp, GITDEMO_UPLOAD_RETENTION_S=str(RETENTION_S))
    yield (*server, tmp / "gradio_tmp", started)
    stop_app(server[2])


def test_uploads_and_outputs_are_gone_after_the_retention(short_retention_app, tmp_path):
    from gradio_client import Client, handle_file

    url, log_path, proc, temp, _ = short_retention_app
    rng = np.random.default_rng(24)
    photo = tmp_path / "pupil-photo-q7x.png"
    Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)).save(photo)
    notes = tmp_path / "homework-notes-q7x.png"
    notes.write_text("my homework, not a picture\n" * 20)
    question = "is the quokka-q7x circle red?"

    client = Client(url, analytics_enabled=False, verbose=False)
    from gitdemo.io.assets import ASSETS

    warm_up = sorted((ASSETS / "examples").glob("*.png"))[0]
    client.predict(handle_file(str(warm_up)), api_name="/caption")  # the model loaded: the timed part is short
    before = _files(temp)

    start = time.time()
    text, _ = client.predict(handle_file(str(photo)), api_name="/caption")
    answer, _ = client.predict(handle_file(str(photo)), question, api_name="/vqa")
    with pytest.raises(Exception) as refused:
        client.predict(handle_file(str(notes)), api_name="/caption")
    assert "not an image" in str(refused.value)
    copies = [p for p in _files(temp) if p.read_bytes() == photo.read_bytes()]
    assert copies, "the upload should be on disk while it is used"
    address = f"{url}/gradio_api/file={copies[0]}"
    assert time.time() - start < RETENTION_S and _status(address) == 200
    link = temp / "deep_links" / "q7xlink"  # a share-link state, as gr.DeepLinkButton writes it
    link.mkdir(parents=True)
    (link / "state.json").write_text('{"question": "%s"}' % question)

    deadline = time.time() + RETENTION_S + 2 * retention.sweep_every(RETENTION_S) + 20
    while time.time() < deadline:
        left = _files(temp) - before
        if not left and not link.exists():
            break
        time.sleep(0.5)
    assert not _files(temp) - before, f"still on disk after the retention: {sorted(_files(temp) - before)}"
    assert not link.exists()
    assert not any(p.read_bytes() == photo.read_bytes() for p in _files(temp))
    assert _status(address) in (403, 404)
    assert time.time() - start >= RETENTION_S  # not deleted before its time either

    assert proc.poll() is None
    log = log_path.read_text()
    for private in ("q7x", "quokka", text, answer):
        assert not private or private not in log, f"the server log holds {private!r}"


def test_nothing_per_visitor_is_written_outside_the_temp_folder(short_retention_app):
    """After the visits above, the working tree (where `.gradio/` would go) has gained no file."""
    url, log_path, proc, temp, started = short_retention_app
    root = Path(__file__).resolve().parents[1]
    skip = {".git", "__pycache__", ".pytest_cache", ".ruff_cache"}
    written = [p for p in root.rglob("*") if p.is_file() and not skip & set(p.relative_to(root).parts)
               and p.stat().st_mtime > started]
    assert not written, written
    assert proc.poll() is None and temp.is_dir()
