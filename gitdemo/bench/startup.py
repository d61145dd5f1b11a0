"""Start-up time of the app: `python app.py` in a subprocess, timed until its page answers, with and without
gradio's MCP server (GITDEMO_MCP=1 / 0; MCP needs the `mcp` package importable by that Python).

    python -m gitdemo.bench.startup [--runs 3] [--python PATH]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import urllib.request

from .common import ROOT, free_port, wait_serving


def start_seconds(python: str, mcp: bool, timeout: float = 180) -> tuple[float, bool]:
    """Seconds from launch until `/` answers 200, and whether the MCP endpoint answered."""
    port = free_port()
    env = dict(os.environ, PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1", HF_HUB_OFFLINE="1",
               GRADIO_ANALYTICS_ENABLED="False", GITDEMO_MCP="1" if mcp else "0")
    t0 = time.perf_counter()
    proc = subprocess.Popen([python, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_serving(url, proc, timeout, poll=0.05):
            raise RuntimeError("app.py did not start")
        seconds = time.perf_counter() - t0
        try:
            with urllib.request.urlopen(url + "/gradio_api/mcp/schema", timeout=10) as r:
                served = r.status == 200
        except OSError:
            served = False
        return seconds, served
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gitdemo.bench.startup", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--python", default=sys.executable, help="the interpreter that runs app.py")
    args = parser.parse_args(argv)
    times, served = {False: [], True: []}, {False: set(), True: set()}
    for _ in range(args.runs):  # interleaved, so that a busy machine slows both alike
        for mcp in (False, True):
            s, ok = start_seconds(args.python, mcp)
            times[mcp].append(s)
            served[mcp].add(ok)
    for mcp in (False, True):
        t = times[mcp]
        print(f"mcp={'on ' if mcp else 'off'} runs={args.runs} median={statistics.median(t):.2f}s min={min(t):.2f}s "
              f"max={max(t):.2f}s mcp_schema_served={sorted(served[mcp])}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
