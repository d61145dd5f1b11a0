"""Finding a checkpoint: a local folder as is, or a Hugging Face Hub repo id downloaded (or taken from the cache).

`resolve(name_or_path, patterns)` turns either into a local folder holding the wanted files;
`hub_reachable()` answers in seconds whether the Hub can be reached at all, so an offline
machine fails fast with a sentence saying what to do.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Iterable

from ..errors import CheckpointError, HubError
from .checkpoint import WEIGHT_FILES

HUB_TIMEOUT_S = float(os.environ.get("GITDEMO_HUB_TIMEOUT", "4"))


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


__all__ = ["resolve", "hub_reachable", "hub_endpoint", "looks_like_repo_id", "HUB_TIMEOUT_S"]
