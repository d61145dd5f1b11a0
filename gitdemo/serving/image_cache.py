"""Pictures cached across requests: a teacher shares one photo, thirty students ask about it, the
vision tower (and for GIT the decoder's image block) runs once.

Key: (the model object's token, its dtype, sha256 of the preprocessed pixel bytes, whether vision
attention is recorded, whether the decoder's image block is kept). The value is what
`model.encode_image` returned (image tokens and the vision records), and for GIT in the app also the
decoder's keys/values of the image tokens (`model.image_block`): a pure function of the key, so a hit
gives every user exactly what their own encoding would have given, and nothing of one user's request
(prompt, answer, settings) is ever stored here.
Bounded by a byte budget (GITDEMO_IMAGE_CACHE_MB, default 256; 0 turns it off), least recently used
evicted first.
"""
from __future__ import annotations

import hashlib
import itertools
import os
import threading
from collections import OrderedDict

import torch

from ..models.layers import KVCache
from .caches import split_rows

_tokens = itertools.count(1)


def model_token(model) -> int:
    """A number that names this model object for as long as it lives (ids of dead objects get reused)."""
    token = getattr(model, "_gitdemo_cache_token", None)
    if token is None:
        token = next(_tokens)
        model._gitdemo_cache_token = token
    return token


def _nbytes(value) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, (list, tuple)):
        return sum(_nbytes(v) for v in value)
    if isinstance(value, KVCache):
        return _nbytes([value.keys, value.values, value.ranks, value.valid])
    return 0


def image_key(model, pixel_values: torch.Tensor, record, block: bool = False) -> tuple:
    pixels = pixel_values.detach().to("cpu").contiguous()
    digest = hashlib.sha256(pixels.numpy().tobytes()).hexdigest()
    return (model_token(model), str(getattr(model, "dtype", "")), tuple(pixels.shape), digest,
            (getattr(record, "keep", bool(record)), getattr(record, "row", None)), block)


class ImageCache:
    """key -> (image_embeds, vision_attentions), LRU within `budget_bytes`; `encodes` counts misses."""

    def __init__(self, budget_bytes: int | None = None):
        mb = float(os.environ.get("GITDEMO_IMAGE_CACHE_MB", "256"))
        self.budget = int(mb * 1024**2) if budget_bytes is None else int(budget_bytes)
        self._items: OrderedDict[tuple, tuple] = OrderedDict()
        self._sizes: dict[tuple, int] = {}
        self._lock = threading.Lock()
        self.hits = self.encodes = 0

    @property
    def nbytes(self) -> int:
        with self._lock:
            return sum(self._sizes.values())

    def __len__(self) -> int:
        return len(self._items)

    def encode(self, model, pixel_values: torch.Tensor, record) -> tuple:
        """`model.encode_image(pixel_values, record)`, from the cache when this image was seen before."""
        return self.encode_many(model, [pixel_values], record)[0]

    def encode_many(self, model, pixel_values: list[torch.Tensor], record, block: bool = False) -> list[tuple]:
        """`encode` for several requests' images (each (1, ...)): hits from the cache, the same picture sent
        by several requests encoded once, and the misses in one batch where the model's rows are independent
        of each other (float precisions). An int8 model quantizes each input tensor with one scale, so a
        batch would make an image's tokens depend on its neighbours: there each picture is encoded alone and
        the cached value stays a function of the key.

        `block=True` (models with `image_block_first`, GIT): each value also holds the decoder's keys and
        values of the picture's tokens (`model.image_block`, a one-row KVCache), so a question about a
        picture seen before runs the decoder over its own words only."""
        keys = [image_key(model, pv, record, block) for pv in pixel_values]
        out: list = [None] * len(keys)
        missing: dict[tuple, list[int]] = {}
        with self._lock:
            for i, key in enumerate(keys):
                hit = self._items.get(key)
                if hit is not None:
                    self._items.move_to_end(key)
                    self.hits += 1
                    out[i] = hit
                else:
                    missing.setdefault(key, []).append(i)
        if not missing:
            return out
        firsts = [rows[0] for rows in missing.values()]
        together = getattr(model, "precision", "fp32") != "int8"
        groups = [firsts] if together else [[i] for i in firsts]
        values = []
        for group in groups:
            values.extend(self._encode_batch(model, [pixel_values[i] for i in group], record, block))
        self.encodes += len(firsts)
        for (key, rows), value in zip(missing.items(), values):
            self._store(key, value)
            for i in rows:
                out[i] = value
        return out

    @staticmethod
    def _encode_batch(model, pixel_values: list[torch.Tensor], record, block: bool) -> list[tuple]:
        """One `encode_image` call for all the pictures (and one `image_block`); the outputs split back into
        one value per picture (copies, so no value keeps the whole batch's memory alive)."""
        with torch.inference_mode():
            embeds, vision = model.encode_image(torch.cat(pixel_values).to(model.device), record)
            blocks = split_rows(model.image_block(embeds)) if block else None
        n = len(pixel_values)
        frames = 0 if vision is None else vision[0].shape[0] // n  # a video's frames are rows of the vision records
        values = []
        for i in range(n):
            value = (embeds[i:i + 1].clone(),
                     None if vision is None else [a[i * frames:(i + 1) * frames].clone() for a in vision])
            values.append(value + (blocks[i],) if block else value)
        return values

    def _store(self, key: tuple, value: tuple) -> None:
        size = _nbytes(value)
        if size > self.budget:
            return
        with self._lock:
            self._items[key] = value
            self._sizes[key] = size
            total = sum(self._sizes.values())
            while total > self.budget and self._items:
                old, _ = self._items.popitem(last=False)
                total -= self._sizes.pop(old)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._sizes.clear()


IMAGE_CACHE = ImageCache()

__all__ = ["ImageCache", "IMAGE_CACHE", "image_key", "model_token"]
