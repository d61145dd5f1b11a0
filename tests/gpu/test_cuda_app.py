"""The app's endpoints with its models on the GPU (GITDEMO_DEVICE), through the API as its users call them:
`python app.py` in a subprocess (offline: the embedded Shapes models), driven by gradio_client, and the explorer's
build in the caption's session (what the page asks for next). The embedded models run at exact fp32 on any device,
so GIT must give the examples' known answers, and PaliGemma the answer the same model gives on the CPU.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from gitdemo.bench.classroom import App
from gitdemo.bench.students import PageStudent, api_defaults
from gpucheck import DEVICE, needs_device, record

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

pytestmark = needs_device

EXAMPLES = Path(__file__).resolve().parents[2] / "assets" / "examples"
TRUTH = json.loads((EXAMPLES / "truth.json").read_text())["files"]
SCENES = sorted(n for n, f in TRUTH.items() if f["kind"] == "image")
VIDEOS = sorted(n for n, f in TRUTH.items() if f["kind"] == "video")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    served = App({"GITDEMO_DEVICE": DEVICE}, tmp_path_factory.mktemp("gpu-app"))
    yield served
    served.close()


@pytest.fixture(scope="module")
def client(app):
    return Client(app.url, analytics_enabled=False, verbose=False)


def _gpu_processes() -> list[int] | None:
    """PIDs nvidia-smi lists as using the GPU (None: no nvidia-smi, or it cannot say)."""
    if not shutil.which("nvidia-smi"):
        return None
    out = subprocess.run(["nvidia-smi", "--query-compute-apps=pid", "--format=csv,noheader"], capture_output=True,
                         text=True, timeout=30)
    return [int(p) for p in out.stdout.split() if p.strip().isdigit()] if out.returncode == 0 else None


def test_caption_vqa_and_video_give_the_known_answers(app, client):
    right = total = 0
    for name in SCENES:
        text, data = client.predict(handle_file(str(EXAMPLES / name)), api_name="/caption")
        right, total = right + (text == TRUTH[name]["caption"]), total + 1
        grid = np.asarray(data["tokens"][0]["attention"])
        assert grid.shape == tuple(data["grid"]) and abs(grid.sum() - 1) < 1e-3
        question = TRUTH[name]["example_question"]  # the questions tests/test_app_api.py asks on the CPU
        said, _ = client.predict(handle_file(str(EXAMPLES / name)), question, api_name="/vqa")
        right, total = right + (said == dict(TRUTH[name]["questions"])[question]), total + 1
    video = TRUTH[VIDEOS[0]]
    text, data = client.predict(handle_file(str(EXAMPLES / VIDEOS[0])), api_name="/video")
    assert data["frames"] == 6 and np.asarray(data["tokens"][0]["attention"]).shape == (6, 7, 7)
    question, answer = video["questions"][0]
    said, _ = client.predict(handle_file(str(EXAMPLES / VIDEOS[0])), question, api_name="/video")
    right, total = right + (text == video["caption"]) + (said == answer), total + 2
    pids = _gpu_processes()
    on_gpu = None if pids is None or DEVICE == "cpu" else app.proc.pid in pids
    record("app-git", {"known_answers": f"{right}/{total}", "app_listed_by_nvidia_smi": on_gpu})
    assert right == total, f"{right}/{total} known answers on {DEVICE}"


def test_paligemma_answers_as_on_the_cpu(client):
    from PIL import Image

    import gitdemo
    from gitdemo.io.assets import embedded_paligemma
    from gitdemo.pipeline import run

    folder = embedded_paligemma()
    if folder is None:
        pytest.skip("the embedded PaliGemma is not in assets/models")
    cpu = gitdemo.load_model(folder, dtype="float32", progress=False)
    processor = gitdemo.load_processor(folder)
    same = 0
    for name in SCENES:
        text, _, _, data = client.predict(handle_file(str(EXAMPLES / name)), "caption en",
                                          model="embedded-paligemma", api_name="/paligemma")
        want = run(cpu, processor, Image.open(EXAMPLES / name).convert("RGB"), "caption en", record=False).text
        same += text == want
        assert data["text"] == text and all(np.isclose(np.asarray(t["attention"]).sum(), 1, atol=1e-3)
                                            for t in data["tokens"])
    record("app-paligemma", {"same_as_cpu": f"{same}/{len(SCENES)}"})
    assert same >= len(SCENES) - 1, f"{same}/{len(SCENES)} PaliGemma answers as on the CPU"


def test_compare_draws_both_models(client):
    out = client.predict(handle_file(str(EXAMPLES / SCENES[0])), "embedded", "embedded-paligemma", "", "",
                         api_name="/compare")
    text_a, text_b, heat_a, heat_b, _, result = out
    assert text_a == TRUTH[SCENES[0]]["caption"] and text_b
    assert Path(heat_a).is_file() and Path(heat_b).is_file() and result["a"]["token"] == result["word"]


def test_the_explorer_builds_in_the_captions_session(app):
    student = PageStudent(app.url, "git", api_defaults(app.url, "git", None))
    try:
        text, payload = student.ask(str(EXAMPLES / SCENES[1]))[:2]
        chips = next(v for i, v in zip(student.page.event("caption_explore")["outputs"], student.explored)
                     if student.page.types[i] == "radio")
    finally:
        student.close()
    assert text == TRUTH[SCENES[1]]["caption"]
    assert [label for label, _ in chips["choices"]] == [t["text"] for t in payload["tokens"]]
    record("app-explorer", {"tokens": len(payload["tokens"])})
