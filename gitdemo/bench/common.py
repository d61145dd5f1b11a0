"""What both benchmarks share: timers, memory readings, running one side in a fresh subprocess,
and the side-by-side table."""
from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent  # the folder holding the gitdemo package


class FirstTokenTimer:
    """A reference streamer that notes when the first generated token arrives."""

    def __init__(self):
        self.calls, self.first = 0, None

    def put(self, value):
        self.calls += 1
        if self.calls == 2 and self.first is None:  # call 1 is the prompt
            self.first = time.perf_counter()

    def end(self):
        pass


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_serving(url: str, proc: subprocess.Popen, timeout: float, poll: float = 0.5) -> bool:
    """Poll `url`/ until it answers 200 (True), or until `proc` exits or `timeout` seconds pass (False)."""
    deadline = time.perf_counter() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "/", timeout=5) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        if proc.poll() is not None or time.perf_counter() > deadline:
            return False
        time.sleep(poll)


def time_call(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def time_stream(stream) -> tuple[float, float]:
    """(total seconds, seconds to the first item) of consuming our `model.stream(...)` iterator."""
    t0 = time.perf_counter()
    first = None
    for i, _ in enumerate(stream):
        if i == 0:
            first = time.perf_counter()
    return time.perf_counter() - t0, first - t0


def status_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process. (ru_maxrss would not do: Linux carries it over
    from the parent across fork + exec, so a child started by a big parent reports the parent's peak.)"""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def timings(runs: list[tuple[float, float]], new_tokens: int) -> dict:
    """Medians of (total, first-token) runs: first token, per-token decode after it, total."""
    total, first = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
    return {"first_token_s": first, "per_token_ms": 1000 * (total - first) / max(new_tokens - 1, 1), "total_s": total}


def run_side(args: list[str]) -> dict:
    """Run `python -m gitdemo ARGS` in a fresh process and return the JSON of its last line
    (raises with its stderr when it fails)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "gitdemo", *args], capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare_table(rows: list[tuple[str, str, str]], ref: dict, ours: dict) -> list[str]:
    """| measure | reference | gitdemo | reference / gitdemo | for (label, key, format) rows."""
    lines = ["| measure | reference | gitdemo | reference / gitdemo |", "| --- | ---: | ---: | ---: |"]
    for label, key, fmt in rows:
        lines.append(f"| {label} | {fmt.format(ref[key])} | {fmt.format(ours[key])} | {ref[key] / ours[key]:.2f}x |")
    return lines
