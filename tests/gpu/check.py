"""The GPU check's driver (tests/gpu/run.sh calls it once the machine is ready): runs each part in a subprocess
with a share of a 10-minute budget, then prints ONE summary table and saves it (summary.md, summary.json) in
GITDEMO_GPU_CHECK_OUT (default tests/_artifacts/gpu-check).

  parity     tests/gpu/test_cuda_parity.py: fp32 logits (1e-4) and greedy ids against the reference, GIT and PaliGemma
  precision  tests/gpu/test_cuda_precision.py: bf16 / fp16 greedy ids against fp32 on Shapes scenes
  app        tests/gpu/test_cuda_app.py: the app's endpoints with its models on the device, through the API
  classroom  `python -m gitdemo bench --classroom N --flow api,browser --device D`: both flows, side by side

GITDEMO_GPU_CHECK_DEVICE=cpu runs the same parts reduced (a rehearsal that proves the check works end to end).
Exit status: 0 when every part passed, 1 otherwise.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
from gpucheck import DEVICE, OUT, REDUCED  # noqa: E402

BUDGET_S = float(os.environ.get("GITDEMO_GPU_CHECK_BUDGET_S", "570"))  # under 10 minutes, all parts together
TESTS = [("parity", "test_cuda_parity.py", 0.25), ("precision", "test_cuda_precision.py", 0.30),
         ("app", "test_cuda_app.py", 0.15)]  # (part, file, share of the budget); the bench gets what is left
STUDENTS = int(os.environ.get("GITDEMO_GPU_CHECK_STUDENTS", "3" if REDUCED else "30"))
BENCH_MODELS = os.environ.get("GITDEMO_GPU_CHECK_MODELS", "embedded,paligemma" if REDUCED else
                              "embedded,git-base,paligemma")
EXPLORE_FROM = os.environ.get("GITDEMO_GPU_CHECK_EXPLORE_FROM", "")  # e.g. trace,record: the bench's --explore-from


def _env() -> dict:
    return dict(os.environ, GITDEMO_GPU_CHECK_DEVICE=DEVICE, GITDEMO_GPU_CHECK_OUT=str(OUT), PYTHONPATH=str(ROOT),
                GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1",
                TOKENIZERS_PARALLELISM="false")


def machine() -> str:
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA device"
    return (f"device {DEVICE}{' (reduced CPU rehearsal)' if REDUCED else ''}; GPU: {gpu}; torch {torch.__version__} "
            f"(CUDA {torch.version.cuda or 'none'}); Python {platform.python_version()}; {os.cpu_count()} CPU cores")


def run_tests(part: str, name: str, timeout: float) -> list[dict]:
    """One test file through pytest; a row per test case, with the numbers its test recorded."""
    xml = OUT / f"junit-{part}.xml"
    cmd = [sys.executable, "-m", "pytest", str(HERE / name), "-q", "-rfEs", "-p", "no:cacheprovider",
           f"--junitxml={xml}", f"--rootdir={ROOT}"]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=max(timeout, 30))
        log = proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        log = f"timed out after {timeout:.0f} s\n{exc.stdout or ''}"
    (OUT / f"{part}.log").write_text(log)
    print(log.strip().splitlines()[-1] if log.strip() else f"{part}: no output", flush=True)
    if not xml.is_file():
        return [{"part": part, "check": name, "result": "FAILED (no report)", "numbers": log[-300:].strip(),
                 "seconds": time.perf_counter() - t0}]
    records = {}
    for path in OUT.glob("*.json"):
        if path.name != "summary.json":
            data = json.loads(path.read_text())
            records.setdefault(data.get("test", ""), []).append(data)
    rows = []
    for case in ET.parse(xml).getroot().iter("testcase"):
        failed = case.find("failure") if case.find("failure") is not None else case.find("error")
        skipped = case.find("skipped")
        result = "passed" if failed is None and skipped is None else "skipped" if failed is None else "FAILED"
        numbers = "; ".join(_numbers(r) for r in records.get(case.get("name"), []))
        if failed is not None:
            numbers = (numbers + " | " if numbers else "") + (failed.get("message") or "")[:200]
        elif skipped is not None:
            numbers = (skipped.get("message") or "")[:200]
        rows.append({"part": part, "check": case.get("name"), "result": result, "numbers": numbers,
                     "seconds": float(case.get("time") or 0)})
    return rows


def _numbers(record: dict) -> str:
    skip = {"name", "test", "device", "examples_differing"}
    out = []
    for k, v in record.items():
        if k not in skip:
            out.append(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}")
    return ", ".join(out)


def run_bench(timeout: float) -> list[dict]:
    """The classroom bench, both flows, on the device: a row per model and flow."""
    cmd = [sys.executable, "-m", "gitdemo", "bench", "--classroom", str(STUDENTS), "--models", BENCH_MODELS,
           "--engine", "on", "--flow", "api,browser", "--device", DEVICE, "--json"]
    cmd += ["--explore-from", EXPLORE_FROM] if EXPLORE_FROM else []
    t0 = time.perf_counter()
    if timeout < 60:
        return [{"part": "classroom", "check": "bench", "result": "not run", "seconds": 0.0,
                 "numbers": f"only {timeout:.0f} s of the budget left"}]
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=timeout)
        out, err, code = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        out, err, code = exc.stdout or "", f"timed out after {timeout:.0f} s", -1
    (OUT / "classroom.log").write_text(f"{' '.join(cmd)}\n{out}\n{err}")
    seconds = time.perf_counter() - t0
    rows_json = next((line for line in out.splitlines() if line.startswith("[")), None)
    if code or rows_json is None:
        return [{"part": "classroom", "check": "bench", "result": "FAILED", "seconds": seconds,
                 "numbers": (err.strip().splitlines() or ["no output"])[-1][:300]}]
    (OUT / "classroom.md").write_text(out[out.index("\n", out.index(rows_json)) + 1:])
    measured = json.loads(rows_json)
    api = {r["model"]: r for r in measured if r["flow"] == "api"}
    rows = []
    for r in measured:
        base = api.get(r["model"])
        ratio = ""
        if r["flow"] == "browser" and base:
            ratio = (f", browser/api CPU-s lone {r['lone_cpu_per_student_s'] / base['lone_cpu_per_student_s']:.2f}x"
                     f" burst {r['cpu_per_student_s'] / base['cpu_per_student_s']:.2f}x")
        rows.append({"part": "classroom", "check": f"{r['model']} {r['label']}", "seconds": seconds / len(measured),
                     "result": "passed" if not r["failed"] else f"FAILED ({r['failed']} of {r['n']})",
                     "numbers": f"{r['n']} students: lone {r['lone_s']:.2f} s, p50 {r['p50_s']:.2f} s, "
                                f"p95 {r['p95_s']:.2f} s, all done {r['all_done_s']:.2f} s; server CPU-s per student "
                                f"lone {r['lone_cpu_per_student_s']:.2f}, burst {r['cpu_per_student_s']:.2f}{ratio}"})
    return rows


def summary(rows: list[dict], header: str, total_s: float) -> str:
    failed = [r for r in rows if r["result"] not in ("passed", "skipped")]
    lines = [f"# GPU check: {'PASSED' if not failed else f'{len(failed)} FAILED'} in {total_s:.0f} s", "",
             header, "", "| part | check | result | numbers | s |", "| --- | --- | --- | --- | ---: |"]
    for r in rows:
        numbers = str(r["numbers"]).replace("|", "/").replace("\n", " ")
        lines.append(f"| {r['part']} | {r['check']} | {r['result']} | {numbers} | {r['seconds']:.1f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*"):
        if old.is_file():
            old.unlink()
    t0 = time.perf_counter()
    header = machine()
    print(header, flush=True)
    rows = []
    for part, name, share in TESTS:
        left = BUDGET_S - (time.perf_counter() - t0)
        print(f"-- {part} ({name}), up to {min(share * BUDGET_S, left):.0f} s", flush=True)
        rows += run_tests(part, name, min(share * BUDGET_S, left))
    left = BUDGET_S - (time.perf_counter() - t0)
    print(f"-- classroom bench ({STUDENTS} students, {BENCH_MODELS}), up to {left:.0f} s", flush=True)
    rows += run_bench(left)
    text = summary(rows, header, time.perf_counter() - t0)
    (OUT / "summary.md").write_text(text)
    (OUT / "summary.json").write_text(json.dumps({"machine": header, "rows": rows}, indent=1))
    print("\n" + text + f"\n(saved in {OUT / 'summary.md'})", flush=True)
    return 1 if any(r["result"] not in ("passed", "skipped") for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
