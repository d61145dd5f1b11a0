"""Where the explorer's `Exploration` comes from, and the views it computes later, once, on demand.

First view: from the generation's own record (`explain.from_record`): the tab's generation event leaves its
`pipeline.Result` in the page's `gr.State`, and the explorer reads it when the result JSON arrives; no model
runs. A result that carries no record (a cached example, a JSON given over the API) gets ONE teacher-forced pass
(`exploration`); the shipped examples' explorations are then kept for everyone (`EXAMPLES`: shipped files only,
never a visitor's). `GITDEMO_EXPLORE_FROM=trace` forces the old teacher-forced path (for the classroom bench).

Later, for the views that need more than the record: rollout and the vision tower of a beam answer
(`ensure_trace`: one teacher-forced pass), relevancy (`ensure_relevancy`: a backward pass). Each is computed once
per result and kept on the `Exploration`, which lives in one user's `gr.State`.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import threading
import time
from collections import OrderedDict

import numpy as np

from ..errors import GitDemoError
from ..explain.relevancy import relevancy
from ..explain.trace import from_record, trace
from ..explain.views import Exploration
from ..lang import say
from ..pipeline import inputs as pipeline_inputs
from . import gpu, registry
from .controls import log_unexpected, open_images, open_video


def source() -> str:
    """"record" (default) or "trace": where the explorer's first view comes from."""
    return "trace" if os.environ.get("GITDEMO_EXPLORE_FROM", "").strip().lower() == "trace" else "record"


def _model_input(loaded: registry.Loaded, media, prompt, video: bool):
    """(images, prompt) as the model that wrote a result read them: PaliGemma one image and its prompt; GIT the
    frames (or image) and its question."""
    if loaded.family == registry.PALIGEMMA:
        return open_images(media)[0], prompt or ""
    return (open_video(media, loaded.model.config.num_frames).frames if video else open_images(media)), prompt


def _prompt(loaded: registry.Loaded, payload: dict):
    return payload.get("prompt") if loaded.family == registry.PALIGEMMA else payload.get("question")


def _origin(loaded: registry.Loaded, media, prompt, video: bool) -> dict:
    return {"key": loaded.name, "precision": loaded.precision, "media": media, "prompt": prompt, "video": video}


def exploration(loaded: registry.Loaded, media, payload: dict, video: bool = False) -> Exploration:
    """The teacher-forced pass over [image; prompt; the result's tokens] (one `trace` for every family)."""
    ids = [int(t["id"]) for t in payload["tokens"]]
    pali = loaded.family == registry.PALIGEMMA
    images, prompt = _model_input(loaded, media, _prompt(loaded, payload), video)
    expl = trace(loaded.model, loaded.processor, images, prompt, ids,
                 registry.short_name(loaded.name) if pali else loaded.name)
    expl.origin = _origin(loaded, media, prompt, video)
    return expl


def matches(record, payload: dict) -> bool:
    """Whether a kept `pipeline.Result` is the one this JSON describes (same tokens, same prompt, with a record)."""
    if record is None or not getattr(record, "done", False) or record.inputs is None:
        return False
    ids = [int(t["id"]) for t in payload.get("tokens") or []]
    wanted = payload.get("prompt") if record.family == "paligemma" else payload.get("question")
    same_prompt = (record.prompt or None) == (wanted or None)
    return bool(ids) and ids == [t.id for t in record.tokens] and same_prompt and len(record.steps) == len(ids)


def recorded(loaded: registry.Loaded, media, payload: dict, record, video: bool = False) -> Exploration:
    """The first view from the generation's record (no model call)."""
    pali = loaded.family == registry.PALIGEMMA
    expl = from_record(loaded.model, loaded.processor, record,
                       registry.short_name(loaded.name) if pali else loaded.name)
    expl.origin = _origin(loaded, media, record.prompt, video)
    return expl


# ----------------------------------------------------------------------------- the shipped examples
class ExampleCache:
    """Explorations of the shipped example files (by content), so a cached example's explorer costs its first
    visitor one teacher-forced pass and everyone after nothing. Visitors' files are never kept here."""

    def __init__(self, limit: int = 64):
        self.limit = limit
        self._items: OrderedDict[tuple, Exploration] = OrderedDict()
        self._lock = threading.Lock()
        self._shipped: set[str] | None = None

    def _digests(self) -> set[str]:
        if self._shipped is None:
            from ..io.assets import ASSETS

            folder = ASSETS / "examples"
            self._shipped = {_digest(p) for p in folder.rglob("*") if p.is_file()} if folder.is_dir() else set()
        return self._shipped

    def key(self, loaded: registry.Loaded, media, payload: dict, video: bool) -> tuple | None:
        if not isinstance(media, str) or not os.path.isfile(media):
            return None
        digest = _digest(media)
        if digest not in self._digests():
            return None
        ids = tuple(int(t["id"]) for t in payload.get("tokens") or [])
        return (loaded.name, loaded.precision, digest, _prompt(loaded, payload), ids, video)

    def get(self, key: tuple | None) -> Exploration | None:
        if key is None:
            return None
        with self._lock:
            expl = self._items.get(key)
            if expl is None:
                return None
            self._items.move_to_end(key)
        # each visitor gets their own copy: what a view adds (a picked patch, relevancy) stays theirs
        return dataclasses.replace(expl, picked=None)

    def put(self, key: tuple | None, expl: Exploration) -> None:
        if key is None:
            return
        with self._lock:
            self._items[key] = expl
            while len(self._items) > self.limit:
                self._items.popitem(last=False)


def _digest(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


EXAMPLES = ExampleCache()


def keeping_records(example_fn, video: bool = False):
    """A cached example's function that also keeps its exploration, from the generation's own record, for every
    later visitor (`EXAMPLES`): clicking a cached example then costs no model call at all."""
    @functools.wraps(example_fn)
    def run(media, *args):
        for values in example_fn(media, *args):
            for payload in values:
                record = getattr(payload, "record", None)
                if record is not None and payload.get("tokens"):
                    try:
                        loaded = registry.CACHE.load(registry.key_of(payload), None, payload.get("precision"))
                        EXAMPLES.put(EXAMPLES.key(loaded, media, payload, video),
                                     recorded(loaded, media, payload, record, video))
                    except Exception as exc:  # noqa: BLE001 - keeping it is an optimisation; the example still shows
                        log_unexpected(exc)
            yield values
    return run


def explore(loaded: registry.Loaded, media, payload: dict, record=None, video: bool = False) -> Exploration:
    """The explorer's Exploration for a result JSON: from its record when the page kept it, else a shipped
    example's kept trace, else one teacher-forced pass."""
    if source() == "record" and matches(record, payload):
        return recorded(loaded, media, payload, record, video)
    key = EXAMPLES.key(loaded, media, payload, video)
    expl = EXAMPLES.get(key)
    if expl is None:
        expl = gpu.traced(exploration, loaded, media, payload, video)  # on a lent GPU under ZeroGPU
        EXAMPLES.put(key, dataclasses.replace(expl))  # the cache keeps its own copy, untouched by this visitor
    return expl


# ----------------------------------------------------------------------------- later, once, on demand
def _on_demand(expl: Exploration | None, error_field: str, failed: str, compute):
    """Run `compute(origin)` for a view the record cannot give; None (and the reason in `error_field`, which the
    views show while they fall back to raw attention) when it cannot: no input kept, a user's error, a crash."""
    origin = expl.origin
    if not origin:
        setattr(expl, error_field, say("this result carries no input to recompute it from; generate again."))
        return None
    try:
        return compute(origin)
    except GitDemoError as exc:
        setattr(expl, error_field, registry.scrub(str(exc)))
    except Exception as exc:  # noqa: BLE001 - a failed view falls back to raw attention; the server lives on
        log_unexpected(exc)
        setattr(expl, error_field, say(failed, error=type(exc).__name__))
    return None


def ensure_trace(expl: Exploration | None, progress=None) -> None:
    """Rollout (and, where the record had none, the vision tower's CLS rows) from one teacher-forced pass, kept
    on the `Exploration`; on failure `rollout_error` says why and the views fall back to raw attention."""
    if expl is None or expl.rollout is not None or expl.rollout_error:
        return

    def compute(origin):
        loaded = registry.CACHE.load(origin["key"], progress, origin["precision"])
        payload = {"tokens": [{"id": i} for i in expl.token_ids], "prompt": origin["prompt"],
                   "question": origin["prompt"]}
        return gpu.traced(exploration, loaded, origin["media"], payload, origin["video"])

    full = _on_demand(expl, "rollout_error", "the teacher-forced pass failed ({error}).", compute)
    if full is not None:
        expl.rollout = full.rollout
        if expl.vision_cls is None:
            expl.vision_cls = full.vision_cls


def _relevancy_maps(loaded: registry.Loaded, origin: dict, token_ids: list[int]) -> list[np.ndarray]:
    images, prompt = _model_input(loaded, origin["media"], origin["prompt"], origin["video"])
    return relevancy(loaded.model, pipeline_inputs.prepare(loaded.model, loaded.processor, images, prompt), token_ids)


def ensure_relevancy(expl: Exploration | None, progress=None) -> None:
    """Relevancy maps of every token of the result, computed once (one forward, one backward per token) and kept
    on the `Exploration`, so other tokens and settings reuse them; on failure `relevancy_error` says why."""
    if expl is None or expl.relevancy is not None:
        return
    precision = expl.origin.get("precision") if expl.origin else None
    exact = precision == "int8"  # int8 layers give no gradients: the exact copy of the same checkpoint does

    def compute(origin):
        loaded = registry.CACHE.load(origin["key"], progress, "fp32" if exact else precision)
        t0 = time.perf_counter()
        maps = gpu.traced(_relevancy_maps, loaded, origin, expl.token_ids)  # on a lent GPU under ZeroGPU
        return maps, time.perf_counter() - t0

    done = _on_demand(expl, "relevancy_error", "the backward pass failed ({error}).", compute)
    if done is None:
        return
    maps, seconds = done
    note = say("Computed on the exact (fp32) model: int8 layers give no gradients.") + " " if exact else ""
    expl.relevancy, expl.relevancy_error = maps, ""
    expl.relevancy_note = note + say("Maps of all {n} tokens computed once for this result in {seconds} s (one "
                                     "forward, one backward per token), then reused.", n=len(maps),
                                     seconds=f"{seconds:.2f}")


__all__ = ["exploration", "explore", "recorded", "matches", "keeping_records", "ensure_trace", "ensure_relevancy",
           "EXAMPLES", "source"]
