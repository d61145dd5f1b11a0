"""The GPU check (`bash tests/gpu/run.sh`) on a machine without CUDA: it says so and exits 0, before installing
anything. Its full run is rehearsed on the CPU by `GITDEMO_GPU_CHECK_DEVICE=cpu bash tests/gpu/run.sh` (about
2 minutes here; docs/results.md), not in this suite."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(torch.cuda.is_available() or shutil.which("nvidia-smi") is not None,
                    reason="this machine has a GPU: the check would run for real")
def test_without_cuda_the_check_says_so_and_exits_0():
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITDEMO_GPU_CHECK")}
    out = subprocess.run(["bash", "tests/gpu/run.sh"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("GPU check skipped: there is no CUDA GPU") and "pip" not in out.stdout + out.stderr


def test_the_summary_counts_failures():
    sys.path.insert(0, str(ROOT / "tests" / "gpu"))
    import check

    rows = [{"part": "parity", "check": "a", "result": "passed", "numbers": "max_abs_diff 1e-06", "seconds": 1.0},
            {"part": "app", "check": "b", "result": "FAILED", "numbers": "1/2 | known", "seconds": 2.0},
            {"part": "precision", "check": "c", "result": "skipped", "numbers": "", "seconds": 0.0}]
    text = check.summary(rows, "machine", 3.0)
    assert text.startswith("# GPU check: 1 FAILED in 3 s") and "| app | b | FAILED | 1/2 / known | 2.0 |" in text
    assert check.summary(rows[::2], "machine", 1.0).startswith("# GPU check: PASSED")
