"""What both evaluations share: the seed stream, decoding new tokens, the bars and their table."""
from __future__ import annotations

import math

import torch

EVAL_STREAM = 0xE7A1  # training draws from [seed, 0x7A11] (GIT) / [seed, 0x9A11] (PaliGemma): never the same


def new_texts(new_tokens: torch.Tensor, eos: int, decode) -> list[str]:
    """Each row of generated ids (B, T) cut at its first `eos`, decoded and stripped."""
    texts = []
    for row in new_tokens.tolist():
        if eos in row:
            row = row[: row.index(eos)]
        texts.append(decode(row).strip())
    return texts


def passed(bars: dict, scores: dict) -> dict:
    """{task: score is a number >= its bar}."""
    return {k: (not math.isnan(scores[k]) and scores[k] >= bars[k][2]) for k in bars}


def bar_table(bars: dict, result: dict, extra: dict[str, str]) -> list[str]:
    """The SHAPES_WORLD.md table rows (task | measure | score | bar | pass); `extra[task]` is added
    after a task's score when it has one."""
    s, n = result["scores"], result["n"]
    lines = ["| task | measure | score | bar | pass |", "| --- | --- | --- | --- | --- |"]
    for key, (task, measure, bar) in bars.items():
        shown = "n/a" if math.isnan(s[key]) else f"{100 * s[key]:.1f}% (n={n[key]})" + extra.get(key, "")
        lines.append(f"| {task} | {measure} | {shown} | >= {100 * bar:.0f}% | {'yes' if result['passed'][key] else 'NO'} |")
    return lines


def model_type(folder: str) -> str | None:
    """config.json's model_type of a model folder, None when there is none to read."""
    from ..errors import GitDemoError
    from ..io.checkpoint import read_config_json

    try:
        return read_config_json(folder).get("model_type")
    except (GitDemoError, AttributeError):
        return None
