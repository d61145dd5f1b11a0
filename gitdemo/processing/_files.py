"""The one JSON reader of the processing stage (a checkpoint's config, tokenizer and preprocessor files).

(io/checkpoint.py will own reading checkpoint files; this helper goes there at the issue-16 merge.)
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import CheckpointError


def read_json(path: Path) -> dict:
    """The file's JSON object, {} when there is no such file; unreadable JSON is a CheckpointError."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path} is not valid JSON ({exc}).") from exc
