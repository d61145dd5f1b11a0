"""Warm start: the default models are loaded and run once in a background thread while the page
already serves, so the first student does not pay for loading and paging in the weights (the first
request after start took 7.5 s instead of 0.7 s with a git-base-sized model on a 2-core CPU).

On by default in `serve()`; GITDEMO_WARM_START=0 turns it off. Models too big to take by surprise
(Google's 3B PaliGemma) are left to their first request.
"""
from __future__ import annotations

import logging
import os
import threading

from PIL import Image

from . import registry

log = logging.getLogger("gitdemo.ui")


def enabled() -> bool:
    return os.environ.get("GITDEMO_WARM_START", "1").strip().lower() not in ("0", "false", "no", "off")


def default_keys() -> list[str]:
    """The models a fresh page offers first: each GIT tab's default and the embedded PaliGemma."""
    keys = []
    for task in ("caption", "vqa", "video"):
        key = registry.default_model(task)
        if key not in keys:
            keys.append(key)
    if registry.default_model(registry.PALIGEMMA) == registry.EMBEDDED_PALI:
        keys.append(registry.EMBEDDED_PALI)
    return keys


def touch(loaded: registry.Loaded) -> None:
    """One short generation through the batching engine: pages the weights in, starts its worker."""
    from ..pipeline.inputs import prepare
    from ..serving import stream

    image = Image.new("RGB", (224, 224), (128, 128, 128))
    pali = loaded.family == registry.PALIGEMMA
    inputs = prepare(loaded.model, loaded.processor, image if pali else [image], "caption en" if pali else None)
    for _ in stream(loaded.model, **inputs.model_kwargs, max_new_tokens=2, output_attentions=True):
        pass


def warm(keys: list[str] | None = None) -> list[str]:
    """Load and touch each model; returns the keys that are warm (failures are logged, never raised)."""
    done = []
    for key in keys if keys is not None else default_keys():
        try:
            touch(registry.CACHE.load(key))
            done.append(key)
        except Exception:  # noqa: BLE001 - an offline Hub or a missing model: the first request will say why
            log.warning("warm start: could not warm %s", registry.short_name(key), exc_info=True)
    return done


def start() -> threading.Thread | None:
    """Warm the default models in a daemon thread (None when turned off)."""
    if not enabled():
        return None
    thread = threading.Thread(target=warm, name="gitdemo-warm-start", daemon=True)
    thread.start()
    return thread


__all__ = ["start", "warm", "touch", "default_keys", "enabled"]
