"""Which checkpoints each tab offers, and the ONE cache that loads them lazily, for GIT and PaliGemma.

* `CHOICES[task]`: the GIT models suited to a tab ("embedded" = the Shapes GIT shipped in
  `assets/models/git-shapes/`, always there and offline); `PALI_MODELS` and `EMBEDDED_PALI` (the
  Shapes PaliGemma in `assets/models/paligemma-shapes/`) for the PaliGemma tab.
* `default_model(task)`: for GIT tabs, the embedded model when the Hub cannot be reached (decided
  once, at start, by a quick TCP check), else a real checkpoint for everyday photos: git-base-coco for
  captions, git-base-vqav2 for questions, git-base-vatex for video; `GITDEMO_DEFAULT_MODEL` (e.g.
  "embedded") overrides it for every GIT tab. For "paligemma": Google's gated model only with the Hub
  reachable and HF_TOKEN set, else the embedded Shapes PaliGemma.
* `resolve(model, family, folder)`: the cache key of a request: a name from a menu, or (PaliGemma,
  only when the person running the app set GITDEMO_LOCAL_MODELS=1 or `python app.py --local-models`)
  a checked local checkpoint folder. Never a path typed as a model name.
* Precision: each model is cached per precision (`app_precision()`: GITDEMO_PRECISION, else the machine's
  default, int8 on a CPU; `precision_choices()` what a user may pick, "exact (fp32)" always among them).
* `ModelCache`: models load on first use (with a progress callback), are kept while they fit one
  memory budget (`GITDEMO_MODEL_MEMORY_GB`, default 6) and evicted least recently used. Each model
  has its own lock, so a slow download blocks only the users waiting for that model; everyone else
  keeps working. `HF_TOKEN` is read by `gitdemo.weights` and never appears in a message.

The cache is the one process-wide object of the app (models are read-only and shared by all
users, like the weights of any server); everything per user lives in `gr.State`.
"""
from __future__ import annotations

import inspect
import json
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import CheckpointError, GitDemoError, HubError, InputError
from ..io.assets import embedded_paligemma

GIT, PALIGEMMA = "git", "paligemma"  # the model families, as `config.model_type` names them
EMBEDDED = "embedded"
EMBEDDED_LABEL = "Shapes (embedded, works offline)"
EMBEDDED_PALI = "embedded-paligemma"
EMBEDDED_PALI_LABEL = "PaliGemma Shapes (embedded, works offline)"

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
PALI_MODELS = ["google/paligemma-3b-mix-224", "google/paligemma-3b-mix-448", "google/paligemma2-3b-mix-224"]
NOTES = {
    "microsoft/git-base": "pre-trained only: captions, but often odd",
    "microsoft/git-base-textvqa": "questions about text in the picture",
    "microsoft/git-base-textcaps": "captions that read text in the picture",
    "microsoft/git-large-coco": "larger (1.5 GB), better captions, slower",
    "microsoft/git-base-msrvtt-qa": "questions about a video",
    "google/paligemma-3b-mix-224": "gated, 3B, 224 px, 16 x 16 patches",
    "google/paligemma-3b-mix-448": "gated, 3B, 448 px, 32 x 32 patches, slower",
    "google/paligemma2-3b-mix-224": "gated, PaliGemma 2 (Gemma 2), 224 px",
}
ALL_HUB_MODELS = sorted({m for ms in CHOICES.values() for m in ms if m != EMBEDDED})
NAMES = {GIT: [EMBEDDED] + ALL_HUB_MODELS, PALIGEMMA: [EMBEDDED_PALI] + PALI_MODELS}
HOW_TO_GET_ONE = (
    "To run PaliGemma, either (1) accept Google's licence on huggingface.co for the model (e.g. "
    "google/paligemma-3b-mix-224), create a read token, and start the app with `HF_TOKEN` set to it (on a Space: "
    "a secret named HF_TOKEN), with the Hugging Face Hub reachable; or (2) type the path of a local folder "
    "holding a PaliGemma checkpoint (config.json, *.safetensors, tokenizer.json, preprocessor_config.json) in "
    "'Local model folder'.")


# ----------------------------------------------------------------------------- names and menus
def family(key: str) -> str:
    """The family a cache key belongs to (local folders are checked PaliGemma checkpoints)."""
    return PALIGEMMA if key in NAMES[PALIGEMMA] or os.path.isabs(key) else GIT


def short_name(key: str) -> str:
    """The key as the app shows it: a local folder's path stays on the server."""
    return "local PaliGemma" if os.path.isabs(key) else key


def label(name: str) -> str:
    if name == EMBEDDED:
        return EMBEDDED_LABEL
    if name == EMBEDDED_PALI:
        return EMBEDDED_PALI_LABEL
    note = NOTES.get(name)
    return f"{name} ({note})" if note else short_name(name)


def dropdown_choices(task: str) -> list[tuple[str, str]]:
    """(label, value) pairs for a model picker; the value is what the API takes."""
    if task == PALIGEMMA:
        return [(label(m), m) for m in ([EMBEDDED_PALI] if embedded_folder() else []) + PALI_MODELS]
    return [(label(m), m) for m in CHOICES[task]]


_online: bool | None = None


def hub_online() -> bool:
    """Whether the Hub answered a quick TCP check (asked once per process)."""
    global _online
    if _online is None:
        from ..io.hub import hub_reachable

        _online = hub_reachable()
    return _online


def default_model(task: str) -> str:
    if task == PALIGEMMA:  # Google's models are gated: the default only with the Hub and a token
        if embedded_folder() is None:
            return PALI_MODELS[0]
        return PALI_MODELS[0] if os.environ.get("HF_TOKEN") and hub_online() else EMBEDDED_PALI
    forced = os.environ.get("GITDEMO_DEFAULT_MODEL")
    if forced:
        return forced if forced in CHOICES[task] or forced == EMBEDDED else EMBEDDED
    return ONLINE_DEFAULT[task] if hub_online() else EMBEDDED


def embedded_path() -> str | None:
    """The embedded GIT's folder: None (gitdemo's own default) unless GITDEMO_EMBEDDED_MODEL names one."""
    return os.environ.get("GITDEMO_EMBEDDED_MODEL") or None


def embedded_folder() -> Path | None:
    """The embedded PaliGemma's folder (GITDEMO_EMBEDDED_PALIGEMMA overrides), None when this build lacks it."""
    return embedded_paligemma()


def _cached(repo: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(repo, "config.json"), str)
    except Exception:  # noqa: BLE001 - no cache, no answer
        return False


def offline_note() -> str | None:
    """A sentence when no PaliGemma can run as things stand (no embedded folder, no Hub, nothing cached)."""
    if embedded_folder() or hub_online() or any(_cached(m) for m in PALI_MODELS):
        return None
    return "**No PaliGemma model is available here:** the Hub cannot be reached and none is cached. " + HOW_TO_GET_ONE


def local_models_allowed() -> bool:
    """Off unless the person running the app asked (GITDEMO_LOCAL_MODELS=1, or `app.py --local-models`):
    a public server must not read whatever folder a visitor types."""
    return os.environ.get("GITDEMO_LOCAL_MODELS", "0").strip().lower() in ("1", "true", "yes", "on")


# ----------------------------------------------------------------------------- request -> cache key
def _folder_key(folder: str) -> str:
    """A local PaliGemma checkpoint folder, checked, as an absolute path."""
    if not local_models_allowed():
        raise InputError("This server does not load models from local folders; pick one from the model menu. "
                         "(Running the app yourself? Start it with GITDEMO_LOCAL_MODELS=1 or "
                         "`python app.py --local-models`.)")
    path = Path(folder).expanduser()
    cfg = path / "config.json"
    try:
        kind = json.loads(cfg.read_text(encoding="utf-8")).get("model_type") if cfg.is_file() else None
    except (OSError, ValueError, AttributeError):
        kind = None
    if kind != PALIGEMMA:  # one message whether or not the path exists: the disk is not for probing
        raise InputError(f"'{folder}' is not a PaliGemma checkpoint folder: it needs a config.json with "
                         f"model_type 'paligemma', its *.safetensors weights, tokenizer.json and "
                         f"preprocessor_config.json.")
    return str(path.resolve())


def resolve(model: str | None, family_: str | None = None, folder: str | None = "") -> str:
    """The cache key for a request. `family_` (GIT, PALIGEMMA or None for either) limits the names a tab
    takes; a `folder` (PaliGemma only) is used instead of `model`."""
    folder = str(folder or "").strip()
    if folder and family_ != GIT:
        return _folder_key(folder)
    if family_ == PALIGEMMA:
        model = model or default_model(PALIGEMMA)
        if model == EMBEDDED_PALI and embedded_folder() is None:
            raise CheckpointError("The embedded PaliGemma Shapes model is not in this build. " + HOW_TO_GET_ONE)
        if model not in PALI_MODELS + [EMBEDDED_PALI]:
            raise InputError(f"Unknown PaliGemma model '{model}'. Choose one of: {', '.join(PALI_MODELS)}, or give "
                             f"a local folder.")
        return model
    name = model or EMBEDDED
    allowed = NAMES[family_] if family_ else NAMES[GIT] + NAMES[PALIGEMMA]
    if name not in allowed:  # never a path: users must not probe the disk
        raise GitDemoError(f"Unknown model '{name}'. Choose one of: {', '.join(allowed)}.")
    return name


def key_of(payload: dict) -> str:
    """The checked cache key of the model that produced a result JSON (for the explorer)."""
    key = payload.get("model_key") or payload.get("model") or EMBEDDED
    return _folder_key(key) if os.path.isabs(key) else resolve(key)


# ----------------------------------------------------------------------------- the cache
@dataclass
class Loaded:
    name: str  # the cache key
    model: object
    processor: object
    nbytes: int
    load_seconds: float
    precision: str = "fp32"  # how its Linear layers compute (gitdemo.models.precision)

    @property
    def family(self) -> str:
        return getattr(getattr(self.model, "config", None), "model_type", GIT)


def _nbytes(model) -> int:  # buffers too: int8 layers keep their weights there
    buffers = model.buffers() if hasattr(model, "buffers") else []
    return sum(t.numel() * t.element_size() for t in [*model.parameters(), *buffers])


class ModelCache:
    """key -> Loaded, least recently used evicted beyond `budget_bytes` (the newest always stays)."""

    def __init__(self, budget_bytes: int | None = None, loader: Callable[[str], tuple[object, object]] | None = None):
        gb = float(os.environ.get("GITDEMO_MODEL_MEMORY_GB", "6"))
        self.budget = int(gb * 1024**3) if budget_bytes is None else budget_bytes
        self._loader = loader or _load
        self._models: OrderedDict[str, Loaded] = OrderedDict()
        self._lock = threading.Lock()  # guards the two dicts only, never held while loading
        self._model_locks: dict[str, threading.Lock] = {}

    def names(self) -> list[str]:
        with self._lock:
            return [name for name, _ in self._models]

    def get(self, name: str | None, progress: Callable[[float, str], None] | None = None,
            family: str | None = None, folder: str | None = "", precision: str | None = None) -> Loaded:
        """The model for a request (checked by `resolve`) at `precision` (None or "auto": `precision_for`),
        loaded on first use."""
        return self.load(resolve(name, family, folder), progress, precision)

    def _hit(self, key: tuple[str, str]) -> Loaded | None:
        with self._lock:
            hit = self._models.get(key)
            if hit is not None:
                self._models.move_to_end(key)
            return hit

    def load(self, name: str, progress: Callable[[float, str], None] | None = None,
             precision: str | None = None) -> Loaded:
        """The model under a name that `resolve` (or `key_of`) returned, at `precision`; the cache key is the
        pair (name, precision), so the exact and the fast copy of one checkpoint can both be kept."""
        from ..models.precision import parse_precision

        key = (name, parse_precision(precision_for(name, precision)))
        hit = self._hit(key)
        if hit is not None:
            return hit
        with self._lock:
            lock = self._model_locks.setdefault(key, threading.Lock())
        with lock:  # one loader per model; others wait here, not on the whole cache
            hit = self._hit(key)
            if hit is not None:
                return hit
            if progress is not None:
                progress(0.0, f"Loading {label(name)} (first use; later requests reuse it)…")
            t0 = time.perf_counter()
            takes_precision = len(inspect.signature(self._loader).parameters) > 1
            model, processor = self._loader(name, key[1]) if takes_precision else self._loader(name)
            loaded = Loaded(name, model, processor, _nbytes(model), time.perf_counter() - t0,
                            getattr(model, "precision", key[1]))
            if progress is not None:
                progress(1.0, f"Loaded {short_name(name)} in {loaded.load_seconds:.1f} s")
            with self._lock:
                self._models[key] = loaded
                self._evict(keep=key)
            return loaded

    def _evict(self, keep: tuple[str, str]) -> None:
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


_precision: str | None = None


def app_precision() -> str:
    """The precision models run at unless a user picks another (decided once per process)."""
    global _precision
    if _precision is None:
        from ..models.precision import Hardware, default_precision

        _precision = default_precision(Hardware.detect(device()))
    return _precision


AUTO = "auto"


def precision_for(name: str, precision: str | None) -> str:
    """The precision a request runs at. "auto" (the app's default) is the machine's default (`app_precision`:
    int8 on a CPU) for Hub checkpoints, and exact fp32 for the two small embedded Shapes models: they are
    fast anyway (Gradio, not the model, dominates their requests: docs/results.md) and their shipped
    examples are exact fp32 answers. GITDEMO_PRECISION, when set, applies to every model."""
    from ..models.precision import ENV

    if precision and precision != AUTO:
        return precision
    if name in (EMBEDDED, EMBEDDED_PALI) and not os.environ.get(ENV):
        return "fp32"
    return app_precision()


def precision_choices() -> list[tuple[str, str]]:
    """(label, value) pairs: "auto" (the default, see `precision_for`), exact fp32 always, int8 on a CPU, and
    the machine's default when it is another (bf16 / fp16 on a GPU)."""
    from ..models.precision import LABELS, Hardware

    hw = Hardware.detect(device())
    names = ["fp32", app_precision()] + (["int8"] if hw.device == "cpu" and hw.quantized_engine else [])
    auto = (AUTO, f"auto: {LABELS[app_precision()]} for Hub models, exact for the embedded ones")
    return [auto[::-1]] + [(LABELS[p], p) for p in dict.fromkeys(names)]


def _load(key: str, precision: str | None = None):
    """(model, processor) for a cache key at `precision`; what to do next is in the message when the Hub fails."""
    import gitdemo

    pali = family(key) == PALIGEMMA
    path = {EMBEDDED: embedded_path(), EMBEDDED_PALI: str(embedded_folder())}.get(key, key)
    options = {"precision": precision} if precision else {"dtype": "float32"} if key == EMBEDDED_PALI else {}
    try:  # the small embedded PaliGemma runs in float32 without a precision (bfloat16 costs it accuracy)
        model = gitdemo.load_model(path, progress=True, device=device(), **options)
        processor = gitdemo.load_processor(path)
    except HubError as exc:
        hint = HOW_TO_GET_ONE if pali else f"Pick '{EMBEDDED_LABEL}' in the model menu to keep going offline."
        raise HubError(f"{scrub(str(exc))} {hint}") from exc
    if pali and getattr(model.config, "model_type", None) != PALIGEMMA:
        raise CheckpointError(f"'{short_name(key)}' is not a PaliGemma checkpoint.")
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
QUEUE_WORKERS = int(os.environ.get("GITDEMO_QUEUE_WORKERS", "32"))  # a class at once (the engine batches)

__all__ = ["CHOICES", "EMBEDDED", "EMBEDDED_LABEL", "EMBEDDED_PALI", "PALI_MODELS", "GIT", "PALIGEMMA",
           "HOW_TO_GET_ONE", "default_model", "dropdown_choices", "hub_online", "label", "short_name", "family",
           "embedded_path", "embedded_folder", "offline_note", "local_models_allowed", "resolve", "key_of",
           "ModelCache", "Loaded", "CACHE", "app_precision", "precision_choices", "COMPUTE", "QUEUE_WORKERS", "compute_slots", "device", "scrub"]
