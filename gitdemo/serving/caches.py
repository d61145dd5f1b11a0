"""KV caches of several requests in one batch: merged by left padding, rows dropped as requests finish.

Each request is prefilled with a cache of its own (one row, or the rows of requests prefilled together);
the engine's running batch holds them all in one cache, so that one decoder step serves every row.
"""
from __future__ import annotations

import torch

from ..models.layers import KVCache


def _pad_left(cache: KVCache, pad: int) -> tuple[list, list, torch.Tensor, torch.Tensor]:
    """Keys, values, ranks, valid of `cache` with `pad` masked positions in front of every row."""
    n = cache.length
    keys, values = [], []
    for k, v in zip(cache.keys, cache.values):
        k, v = k[:, :, :n], v[:, :, :n]
        if pad:
            k = torch.cat([k.new_zeros(k.shape[0], k.shape[1], pad, k.shape[3]), k], 2)
            v = torch.cat([v.new_zeros(v.shape[0], v.shape[1], pad, v.shape[3]), v], 2)
        keys.append(k)
        values.append(v)
    ranks, valid = cache.ranks, cache.valid
    if pad:
        b = ranks.shape[0]
        ranks = torch.cat([ranks.new_zeros(b, pad), ranks], 1)
        valid = torch.cat([valid.new_zeros(b, pad), valid], 1)
    return keys, values, ranks, valid


def merge_caches(caches: list[KVCache]) -> KVCache:
    """One cache holding the rows of all `caches`, left padded to the longest with masked keys.

    Padding keys are invalid, so the mask rule hides them from every query; each row keeps its own
    ranks and next position, so new tokens continue each row exactly as they would alone."""
    length = max(c.length for c in caches)
    parts = [_pad_left(c, length - c.length) for c in caches]
    out = KVCache(len(caches[0].keys))
    for layer in range(len(out.keys)):
        for store, i in ((out.keys, 0), (out.values, 1)):
            rows = torch.cat([p[i][layer] for p in parts], 0)
            buf = rows.new_empty(rows.shape[0], rows.shape[1], length + KVCache.SPARE, rows.shape[3])
            buf[:, :, :length] = rows
            store[layer] = buf
        out.filled[layer] = length
    out.ranks = torch.cat([p[2] for p in parts], 0)
    out.valid = torch.cat([p[3] for p in parts], 0)
    positions = [c.next_position for c in caches]
    out.next_position = None if any(p is None for p in positions) else torch.cat(positions, 0)
    return out


def split_rows(cache: KVCache) -> list[KVCache]:
    """One cache per batch row, each its own copy of what is filled (no spare room: they are kept, never
    written to; `merge_caches` makes the buffers a batch writes into)."""
    n = cache.length
    rows = []
    for i in range(cache.ranks.shape[0]):
        row = KVCache(len(cache.keys))
        row.keys = [k[i:i + 1, :, :n].clone() for k in cache.keys]
        row.values = [v[i:i + 1, :, :n].clone() for v in cache.values]
        row.filled = [n] * len(cache.keys)
        row.ranks, row.valid = cache.ranks[i:i + 1].clone(), cache.valid[i:i + 1].clone()
        if cache.next_position is not None:
            row.next_position = cache.next_position[i:i + 1].clone()
        rows.append(row)
    return rows


def keep_rows(cache: KVCache, rows: list[int], trim: int) -> KVCache:
    """The cache of batch rows `rows` only, without the first `trim` key positions (padding all share)."""
    index = torch.tensor(rows, dtype=torch.long, device=cache.ranks.device)
    cache.reorder(index)
    if trim:
        n = cache.length
        for store in (cache.keys, cache.values):
            for layer, buf in enumerate(store):
                store[layer] = buf[:, :, trim:n].clone()
        cache.filled = [n - trim] * len(cache.filled)
        cache.ranks, cache.valid = cache.ranks[:, trim:], cache.valid[:, trim:]
    return cache


__all__ = ["merge_caches", "keep_rows", "split_rows"]
