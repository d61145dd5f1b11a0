"""What the GPU check's tests share: the device they run on, the reduced CPU rehearsal, where results go.

GITDEMO_GPU_CHECK_DEVICE (default "cuda") is the device; every test here is skipped, with the reason, when it is
"cuda" and torch sees no CUDA device (the normal suite on a CPU machine). GITDEMO_GPU_CHECK_DEVICE=cpu rehearses the
check on the CPU, reduced (fewer scenes, tiny checkpoints only), to prove the check itself works end to end.
Numbers the summary table shows (agreement rates, largest differences) are written as JSON into
GITDEMO_GPU_CHECK_OUT (default tests/_artifacts/gpu-check), one file per measurement.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

DEVICE = os.environ.get("GITDEMO_GPU_CHECK_DEVICE", "cuda")
REDUCED = DEVICE != "cuda"  # the CPU rehearsal: the same steps, smaller
OUT = Path(os.environ.get("GITDEMO_GPU_CHECK_OUT") or Path(__file__).resolve().parents[1] / "_artifacts" / "gpu-check")
SCENES = int(os.environ.get("GITDEMO_GPU_CHECK_SCENES", "5" if REDUCED else "100"))


def available() -> bool:
    return DEVICE != "cuda" or torch.cuda.is_available()


needs_device = pytest.mark.skipif(not available(), reason="needs a CUDA GPU: run `bash tests/gpu/run.sh` on one "
                                                          "(GITDEMO_GPU_CHECK_DEVICE=cpu rehearses it on the CPU)")


def exact_matmuls() -> None:
    """fp32 means fp32 on the GPU too: no TF32 in matmuls or convolutions (cuDNN allows it by default)."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def record(name: str, values: dict) -> None:
    """One measurement for the summary table (tests/gpu/check.py reads every file in OUT)."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "").split("::")[-1].split(" ")[0]  # the test that measured it
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps({"name": name, "test": test, "device": DEVICE, **values}, indent=1))


__all__ = ["DEVICE", "OUT", "REDUCED", "SCENES", "available", "exact_matmuls", "needs_device", "record"]
