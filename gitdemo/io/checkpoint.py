"""Reading a checkpoint folder: config.json, safetensors (memory-mapped, sharded), strict key checks.

`read_config_json(folder)` gives the raw config dict (the typed configs pick their fields with
`known_fields`); `load_state_dict(folder)` reads the weights; `load_into(model, sd)` copies them
in with a strict key check whose error names the missing and unexpected keys. Any checkpoint key
that our modules spell differently is renamed by the one table `RENAMES`. Finding the folder
(a Hub download) is `io.hub`'s job.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import CheckpointError

# Checkpoint key -> our key. The public GIT video checkpoints were saved with the original
# spelling "temperal"; the reference now calls it "temporal".
RENAMES: list[tuple[str, str]] = [
    (r"\.img_temperal_embedding\.", ".img_temporal_embedding."),
]
# PaliGemma: the public checkpoints and `save_pretrained` files use the old top-level names
# (`language_model.model.*`, `vision_tower[.vision_model].*`, ...); our modules mirror transformers 5.x.
PALIGEMMA_RENAMES: list[tuple[str, str]] = [
    (r"^language_model\.lm_head\.", "lm_head."),
    (r"^language_model\.model\.", "model.language_model."),
    (r"^vision_tower\.vision_model\.", "model.vision_tower."),
    (r"^vision_tower\.", "model.vision_tower."),
    (r"^multi_modal_projector\.", "model.multi_modal_projector."),
]
RENAMES += PALIGEMMA_RENAMES  # anchored at names GIT never uses, so one table serves both
# Buffers some writers include that our modules compute instead.
IGNORED_KEYS = re.compile(r"(^|\.)position_ids$")

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")


# ----------------------------------------------------------------------------- config.json
def _read_json(path: Path, what: str = "") -> Any:
    """The JSON in `path`; a missing or malformed file is a CheckpointError naming it."""
    if not path.is_file():
        raise CheckpointError(f"No {path.name} in {path.parent}" + (f": {what}" if what else "."))
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path} is not valid JSON ({exc}).") from exc


def read_config_json(folder: str | os.PathLike) -> dict[str, Any]:
    return _read_json(Path(folder) / "config.json", "is this a model folder?")


def known_fields(cls, data: dict[str, Any]) -> dict[str, Any]:
    """The keys of `data` that dataclass `cls` has fields for (config.json carries many others)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def square_size(value, what: str) -> int:
    """`image_size` / `patch_size` may be an int or an [h, w] pair (square in every supported checkpoint)."""
    if isinstance(value, (list, tuple)):
        if len(set(value)) != 1:
            raise CheckpointError(f"Only square {what}s are supported, got {value}.")
        value = value[0]
    return int(value)


def end_tokens(value) -> list[int]:
    """An eos_token_id field (None, one id, or a list of ids) as a list of ids."""
    if value is None:
        return []
    return [int(v) for v in value] if isinstance(value, (list, tuple)) else [int(value)]


# ----------------------------------------------------------------------------- reading weights
def _open_safetensors(file: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    try:
        return load_file(str(file))  # memory-mapped: tensors are views of the file until copied
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types for a bad file
        raise CheckpointError(f"{file.name} is not a readable safetensors file ({exc}); "
                              f"delete it and download again.") from exc


def _open_bin(file: Path) -> dict[str, torch.Tensor]:
    try:
        return torch.load(str(file), map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # noqa: BLE001
        raise CheckpointError(f"{file.name} could not be read safely ({exc}).") from exc


def load_state_dict(folder: str | os.PathLike) -> dict[str, torch.Tensor]:
    """All tensors of a checkpoint folder: safetensors preferred; shards through the index file."""
    folder = Path(folder)
    for name, opener in (("model.safetensors", _open_safetensors), ("pytorch_model.bin", _open_bin)):
        single, index = folder / name, folder / f"{name}.index.json"
        if single.is_file():
            return opener(single)
        if index.is_file():
            try:
                weight_map = _read_json(index)["weight_map"]
            except (KeyError, TypeError) as exc:
                raise CheckpointError(f"{index.name} is not a valid index file (no weight_map).") from exc
            state: dict[str, torch.Tensor] = {}
            for shard in sorted(set(weight_map.values())):
                if not (folder / shard).is_file():
                    raise CheckpointError(f"Shard {shard} listed in {index.name} is missing from {folder}.")
                state.update(opener(folder / shard))
            return state
    raise CheckpointError(f"No weights in {folder}: expected model.safetensors (or a sharded index, "
                          f"or pytorch_model.bin).")


def rename_keys(state: dict[str, torch.Tensor], renames=RENAMES) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in state.items():
        if IGNORED_KEYS.search(key):
            continue
        for pattern, repl in renames:
            key = re.sub(pattern, repl, key)
        out[key] = value
    return out


def _short_list(keys: list[str], n: int = 8) -> str:
    more = f" and {len(keys) - n} more" if len(keys) > n else ""
    return ", ".join(keys[:n]) + more


def load_into(model: nn.Module, state: dict[str, torch.Tensor], dtype: torch.dtype | None = None,
              tied: dict[str, str] | None = None) -> None:
    """Put `state` into `model` (built on the meta device) with strict names and shapes.

    Tensors are assigned, not copied, when they already have the wanted dtype, so a float32
    checkpoint costs its size once. Errors name the missing, unexpected and misshapen keys.
    `tied` maps a parameter that may be absent from the file to the key it shares weights with.
    """
    own = model.state_dict()
    state = rename_keys(state)
    for dst, src in (tied or {}).items():
        if dst not in state and src in state:
            state[dst] = state[src]
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} weight(s): {_short_list(missing)}")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} weight(s): {_short_list(unexpected)}")
        raise CheckpointError("The checkpoint does not match the model config: " + "; ".join(parts) + ".")
    wrong = [f"{k} {tuple(state[k].shape)} (model wants {tuple(own[k].shape)})"
             for k in own if tuple(state[k].shape) != tuple(own[k].shape)]
    if wrong:
        raise CheckpointError("Weights of the wrong shape: " + _short_list(wrong, 5) + ".")
    converted: dict[int, torch.Tensor] = {}  # tied keys share one tensor: convert it once
    for key in own:
        t = state[key]
        if t.is_floating_point() and dtype is not None and t.dtype != dtype:
            if id(t) not in converted:
                converted[id(t)] = t.to(dtype)
            state[key] = converted[id(t)]
    model.load_state_dict({k: state[k] for k in own}, strict=True, assign=True)


__all__ = ["read_config_json", "known_fields", "end_tokens", "square_size", "load_state_dict", "load_into", "rename_keys",
           "RENAMES", "PALIGEMMA_RENAMES", "WEIGHT_FILES"]
