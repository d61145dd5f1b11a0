"""Finding and reading checkpoints: Hub download, safetensors (memory-mapped, sharded), strict keys.

`resolve(name_or_path, patterns)` turns a local folder or a Hub repo id into a local folder that
holds the wanted files; `load_state_dict(folder)` reads the weights; `load_into(model, sd)`
copies them in with a strict key check whose error names the missing and unexpected keys.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Iterable

import torch
from torch import nn

from .errors import CheckpointError, HubError

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
HUB_TIMEOUT_S = float(os.environ.get("GITDEMO_HUB_TIMEOUT", "4"))


# ----------------------------------------------------------------------------- the Hub
def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def hub_reachable(timeout: float = HUB_TIMEOUT_S) -> bool:
    """A quick yes/no (one small HTTP request) so an offline machine fails in seconds, not minutes.

    Reachable means the Hub's API answered a public listing with JSON; DNS failures, refused or
    silent connections, and proxies that answer every request with an error page all mean no.
    """
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
        return False
    import urllib.request

    try:
        with urllib.request.urlopen(f"{hub_endpoint()}/api/models?limit=1", timeout=timeout) as reply:
            return reply.status == 200 and isinstance(json.loads(reply.read(1 << 16)), list)
    except Exception:  # noqa: BLE001 - URLError, HTTPError, timeouts, resets, not JSON: not reachable now
        return False


def looks_like_repo_id(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", name)) and not Path(name).exists()


def resolve(name_or_path: str | os.PathLike, patterns: Iterable[str] = ("*.json", "*.safetensors", "*.txt", "*.model"),
            progress: bool = True) -> Path:
    """A local folder holding the checkpoint's files: `name_or_path` itself, or a Hub snapshot.

    Only files matching `patterns` are downloaded (with a progress bar, and the user's token
    from HF_TOKEN / `huggingface-cli login` if set). Weights in `pytorch_model.bin` are fetched
    only when the repo has no safetensors.
    """
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    name = str(name_or_path)
    if path.exists() or not looks_like_repo_id(name):
        raise CheckpointError(f"'{name}' is neither a model folder nor a Hub repo id like 'microsoft/git-base'.")
    local = _cached_snapshot(name, patterns)
    if local is not None:
        return local
    if not hub_reachable():
        raise HubError(f"Cannot reach the Hugging Face Hub to download '{name}' (offline?). "
                       f"Use the embedded model, or a local folder with the checkpoint.")
    from huggingface_hub import list_repo_files, snapshot_download
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

    os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", str(int(HUB_TIMEOUT_S) + 6))
    token = os.environ.get("HF_TOKEN") or None
    try:
        files = list_repo_files(name, token=token)  # endpoint: HF_ENDPOINT, read by huggingface_hub
        patterns = list(patterns)
        if not any(f.endswith(".safetensors") for f in files):
            patterns.append("*.bin")
        return Path(snapshot_download(name, allow_patterns=patterns, token=token,
                                      tqdm_class=None if progress else _Silent))
    except GatedRepoError as exc:
        raise HubError(f"'{name}' is gated: accept its licence on huggingface.co/{name} and set HF_TOKEN "
                       f"to a token of an account with access.") from exc
    except RepositoryNotFoundError as exc:
        hint = "" if token else " (if it is private, set HF_TOKEN)"
        raise HubError(f"No model '{name}' on the Hugging Face Hub{hint}.") from exc
    except HfHubHTTPError as exc:
        raise HubError(f"The Hub refused '{name}': {str(exc).splitlines()[0]}") from exc
    except OSError as exc:
        raise HubError(f"Downloading '{name}' failed: {exc}") from exc


class _Silent:  # a tqdm stand-in that shows nothing
    def __init__(self, *a, **k):
        pass

    def __getattr__(self, _):
        return lambda *a, **k: None


def _cached_snapshot(repo_id: str, patterns) -> Path | None:
    """A complete local snapshot from an earlier download, used without touching the network."""
    try:
        from huggingface_hub import snapshot_download

        local = Path(snapshot_download(repo_id, allow_patterns=list(patterns) + ["*.bin"], local_files_only=True))
    except Exception:  # noqa: BLE001 - not cached (or cache unusable): fall through to the network
        return None
    return local if (local / "config.json").exists() and any((local / f).exists() for f in WEIGHT_FILES) else None


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
                weight_map = json.loads(index.read_text())["weight_map"]
            except (ValueError, KeyError) as exc:
                raise CheckpointError(f"{index.name} is not a valid index file ({exc}).") from exc
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


__all__ = ["resolve", "hub_reachable", "load_state_dict", "load_into", "rename_keys", "RENAMES"]
