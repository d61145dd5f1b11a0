"""Where the shipped files live: the example media and the two embedded Shapes models (HF layout)."""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import CheckpointError

ASSETS = Path(__file__).resolve().parents[2] / "assets"
EMBEDDED_GIT = ASSETS / "models" / "git-shapes"
EXAMPLES = ASSETS / "examples"


def default_model_path() -> Path:
    """The embedded Shapes GIT: the model used when no name is given (it needs no network)."""
    if not (EMBEDDED_GIT / "config.json").exists():
        raise CheckpointError(f"The embedded Shapes model is not in {EMBEDDED_GIT} yet; pass a model folder "
                              f"or a Hub id (e.g. microsoft/git-base-coco).")
    return EMBEDDED_GIT


def embedded_paligemma() -> Path | None:
    """The embedded PaliGemma's folder (GITDEMO_EMBEDDED_PALIGEMMA overrides), None when it is absent."""
    folder = Path(os.environ.get("GITDEMO_EMBEDDED_PALIGEMMA") or ASSETS / "models" / "paligemma-shapes")
    return folder if (folder / "config.json").is_file() else None
