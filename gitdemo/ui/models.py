"""Which checkpoints each tab offers, and a shared cache that loads them lazily.

* `CHOICES[task]`: the models suited to a tab ("embedded" = the Shapes model shipped in
  `assets/models/git-shapes/`, always there and offline).
* `default_model(task)`: the embedded model when the Hub cannot be reached (decided once, at
  start, by a quick TCP check), else a real checkpoint for everyday photos: git-base-coco for
  captions, git-base-vqav2 for questions, git-base-vatex for video. `GITDEMO_DEFAULT_MODEL`
  (e.g. "embedded") overrides it for every tab.
* `ModelCache`: models load on first use (with a progress callback), are kept while they fit
  a memory budget (`GITDEMO_MODEL_MEMORY_GB`, default 6) and evicted least recently used.
  Each model has its own lock, so a slow download blocks only the users waiting for that
  model; everyone else keeps working. `HF_TOKEN` is read by `gitdemo.weights` and never
  appears in a message.

The cache is the one process-wide object of the app (models are read-only and shared by all
users, like the weights of any server); everything per user lives in `gr.State`.
"""
from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

from ..errors import GitDemoError, HubError

EMBEDDED = "embedded"
EMBEDDED_LABEL = "Shapes (embedded, works offline)"

CAPTION_MODELS = ["microsoft/git-base-coco", "microsoft/git-large-coco", "microsoft/git-base-textcaps",
                  "microsoft/git-base"]
VQA_MODELS = ["microsoft/git-base-textvqa", "microsoft/git-base-vqav2"]
VIDEO_MODELS = ["microsoft/git-base-vatex", "microsoft/git-base-msrvtt-qa"]
CHOICES = {
    "caption": [EMBEDDED] + CAPTION_MODELS,
    "vqa": [EMBEDDED] + VQA_MODELS,
    "video": [EMBEDDED] + VIDEO_MODELS,
    "mask": [EMBEDDED] + CAPTION_MODELS + VQA_MODELS + VIDEO_MODELS,
}
ONLINE_DEFAULT = {"caption": "microsoft/git-base-coco", "vqa": "microsoft/git-base-vqav2",
                  "video": "microsoft/git-base-vatex", "mask": EMBEDDED}
NOTES = {
    "microsoft/git-base": "pre-trained only: captions, but often odd",
    "microsoft/git-base-textvqa": "questions about text in the picture",
    "microsoft/git-base-textcaps": "captions that read text in the picture",
    "microsoft/git-large-coco": "larger (1.5 GB), better captions, slower",
    "microsoft/git-base-msrvtt-qa": "questions about a video",
}
ALL_HUB_MODELS = sorted({m for ms in CHOICES.values() for m in ms if m != EMBEDDED})


def label(name: str) -> str:
    if name == EMBEDDED:
        return EMBEDDED_LABEL
    note = NOTES.get(name)
    return f"{name} ({note})" if note else name


def dropdown_choices(task: str) -> list[tuple[str, str]]:
    """(label, value) pairs for a model picker; the value is what the API takes."""
    return [(label(m), m) for m in CHOICES[task]]


_online: bool | None = None


def hub_online() -> bool:
    """Whether the Hub answered a quick TCP check (asked once per process)."""
    global _online
    if _online is None:
        from ..weights import hub_reachable

        _online = hub_reachable()
    return _online


def default_model(task: str) -> str:
    forced = os.environ.get("GITDEMO_DEFAULT_MODEL")
    if forced:
        return forced if forced in CHOICES[task] or forced == EMBEDDED else EMBEDDED
    return ONLINE_DEFAULT[task] if hub_online() else EMBEDDED


def embedded_path() -> str | None:
    """The embedded model's folder: None (gitdemo's own default) unless GITDEMO_EMBEDDED_MODEL names one."""
    return os.environ.get("GITDEMO_EMBEDDED_MODEL") or None


@dataclass
class Loaded:
    name: str
    model: object
    processor: object
    nbytes: int
    load_seconds: float


def _nbytes(model) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())


class ModelCache:
    """name -> Loaded, least recently used evicted beyond `budget_bytes` (the newest always stays)."""

    def __init__(self, budget_bytes: int | None = None, loader: Callable[[str], tuple[object, object]] | None = None):
        gb = float(os.environ.get("GITDEMO_MODEL_MEMORY_GB", "6"))
        self.budget = int(gb * 1024**3) if budget_bytes is None else budget_bytes
        self._loader = loader or _load
        self._models: OrderedDict[str, Loaded] = OrderedDict()
        self._lock = threading.Lock()  # guards the two dicts only, never held while loading
        self._model_locks: dict[str, threading.Lock] = {}

    def names(self) -> list[str]:
        with self._lock:
            return list(self._models)

    def check_name(self, name: str) -> str:
        """The cache key for a requested model name; refuses names this cache does not serve."""
        name = name or EMBEDDED
        if name != EMBEDDED and name not in ALL_HUB_MODELS:  # never a path: users must not probe the disk
            raise GitDemoError(f"Unknown model '{name}'. Choose one of: {', '.join([EMBEDDED] + ALL_HUB_MODELS)}.")
        return name

    def get(self, name: str, progress: Callable[[float, str], None] | None = None) -> Loaded:
        name = self.check_name(name)
        with self._lock:
            hit = self._models.get(name)
            if hit is not None:
                self._models.move_to_end(name)
                return hit
            lock = self._model_locks.setdefault(name, threading.Lock())
        with lock:  # one loader per model; others wait here, not on the whole cache
            with self._lock:
                hit = self._models.get(name)
                if hit is not None:
                    self._models.move_to_end(name)
                    return hit
            if progress is not None:
                progress(0.0, f"Loading {label(name)} (first use; later requests reuse it)…")
            t0 = time.perf_counter()
            model, processor = self._loader(name)
            loaded = Loaded(name, model, processor, _nbytes(model), time.perf_counter() - t0)
            if progress is not None:
                progress(1.0, f"Loaded {name} in {loaded.load_seconds:.1f} s")
            with self._lock:
                self._models[name] = loaded
                self._evict(keep=name)
            return loaded

    def _evict(self, keep: str) -> None:
        total = sum(m.nbytes for m in self._models.values())
        for old in list(self._models):
            if total <= self.budget:
                break
            if old == keep:
                continue
            total -= self._models.pop(old).nbytes  # requests still using it keep their reference


def device() -> str:
    """Where models run: GITDEMO_DEVICE, else the GPU when there is one (a GPU Space), else the CPU."""
    if os.environ.get("GITDEMO_DEVICE"):
        return os.environ["GITDEMO_DEVICE"]
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _load(name: str):
    import gitdemo

    path = embedded_path() if name == EMBEDDED else name
    try:
        model = gitdemo.load_model(path, progress=True, device=device())
        processor = gitdemo.load_processor(path)
    except HubError as exc:
        raise HubError(f"{scrub(str(exc))} Pick '{EMBEDDED_LABEL}' in the model menu to keep going offline.") from exc
    return model, processor


def scrub(message: str) -> str:
    """Never show the user's Hub token, even if a library put it in a message."""
    token = os.environ.get("HF_TOKEN")
    return message.replace(token, "***") if token else message


def compute_slots() -> int:
    """Generations that run at once: 2 on a CPU (more only slows everyone down), 4 with a GPU.
    GITDEMO_CONCURRENCY overrides. Downloads do not take a slot (see `COMPUTE`)."""
    if os.environ.get("GITDEMO_CONCURRENCY"):
        return max(1, int(os.environ["GITDEMO_CONCURRENCY"]))
    try:
        import torch

        return 4 if torch.cuda.is_available() else 2
    except ImportError:
        return 2


CACHE = ModelCache()
# The queue lets more requests in than this (QUEUE_WORKERS), so that a request waiting on a slow
# first download holds no compute slot: only the model run itself takes one of these.
COMPUTE = threading.BoundedSemaphore(compute_slots())
QUEUE_WORKERS = int(os.environ.get("GITDEMO_QUEUE_WORKERS", "8"))

__all__ = ["CHOICES", "EMBEDDED", "EMBEDDED_LABEL", "default_model", "dropdown_choices", "hub_online", "label",
           "ModelCache", "Loaded", "CACHE", "COMPUTE", "QUEUE_WORKERS", "compute_slots", "scrub"]
