"""Pieces both families' processors use: reading a checkpoint's JSON files, padding rows of ids.

(`read_json` goes to io/checkpoint.py, which owns reading checkpoint files, at the issue-16 merge.)
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from ..errors import CheckpointError, InputError


def read_json(path: Path) -> dict:
    """The file's JSON object, {} when there is no such file; unreadable JSON is a CheckpointError."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path} is not valid JSON ({exc}).") from exc


def check_padding_side(side: str) -> str:
    if side not in ("left", "right"):
        raise InputError(f"padding_side must be 'left' or 'right', not {side!r}.")
    return side


def pad_rows(rows: list[list[int]], fill: int, side: str = "left") -> tuple[torch.Tensor, torch.Tensor]:
    """Rows of ints -> (values, mask), both (B, T) long, T the longest row; padding holds `fill` and mask 0.

    "left" puts every row's last token in the last column, which generation needs."""
    width = max(len(r) for r in rows)
    values = torch.full((len(rows), width), fill, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        cols = slice(width - len(r), width) if side == "left" else slice(0, len(r))
        values[i, cols] = torch.tensor(r, dtype=torch.long)
        mask[i, cols] = 1
    return values, mask
