"""Building blocks shared by GIT and PaliGemma: activations, attention and what it records, the KV cache,
the mask rule.

Axis legend used in shape comments:
  B batch, H heads, Q query positions, K key positions, D head size, L sequence length.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn


# ----------------------------------------------------------------------------- activations
def quick_gelu(x: torch.Tensor) -> torch.Tensor:
    """CLIP's approximation: x * sigmoid(1.702 x)."""
    return x * torch.sigmoid(1.702 * x)


ACTIVATIONS = {
    "gelu": F.gelu,
    "quick_gelu": quick_gelu,
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_fast": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
    "silu": F.silu,
    "swish": F.silu,
}


def activation(name: str):
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"Unknown activation '{name}'; known: {sorted(ACTIVATIONS)}") from None


# ----------------------------------------------------------------------------- attention records
@dataclass(frozen=True)
class AttentionRecord:
    """Which attention probabilities a pass keeps: the ONE way every model and tower is asked.

    NONE keeps nothing (one fused SDPA call); FULL keeps every query row, (B, H, Q, K) per layer;
    LAST_ROW keeps only the newest query's row, (B, H, 1, K), all that generation shows per step;
    FIRST_ROW keeps row 0, the CLS row of a CLIP tower. Public APIs take `output_attentions: bool`
    (like the reference) and convert with `AttentionRecord.of`.
    `AttentionRecord.scores_of(row, layer)` asks for more of one query row in one decoder layer: the raw scores
    softmax reads and the mask row, beside the weights (a `ScoreRow`); every other layer records nothing.
    """

    keep: bool = False
    row: int | None = None  # with keep: None for every row, else the one query row kept (-1 newest)
    scores: bool = False  # with a row: keep that row's raw scores and mask too (a `ScoreRow`)
    layer: int | None = None  # with scores: the one decoder layer (counted from 0) that records

    NONE: ClassVar["AttentionRecord"]
    FULL: ClassVar["AttentionRecord"]
    LAST_ROW: ClassVar["AttentionRecord"]
    FIRST_ROW: ClassVar["AttentionRecord"]

    @classmethod
    def of(cls, value: "AttentionRecord | bool") -> "AttentionRecord":
        """A record as is; a public bool as FULL / NONE."""
        if isinstance(value, AttentionRecord):
            return value
        if isinstance(value, (str, slice)):  # the old spellings ("last", a row slice) are gone
            raise TypeError(f"output_attentions must be a bool or an AttentionRecord, got {value!r}.")
        return cls.FULL if value else cls.NONE

    def __bool__(self) -> bool:  # a record passed where a bool is read means what it says
        return self.keep

    @classmethod
    def scores_of(cls, row: int, layer: int) -> "AttentionRecord":
        """One query row's scores, mask and weights in one decoder layer (the explorer's step-by-step view)."""
        return cls(keep=True, row=int(row), scores=True, layer=int(layer))

    def at(self, layer: int) -> "AttentionRecord":
        """What decoder layer `layer` records: all of it, unless this record names another layer."""
        return self if self.layer is None or self.layer == layer else AttentionRecord.NONE

    @property
    def rows(self) -> slice | None:
        """The query rows kept, or None for all of them."""
        return None if self.row is None else slice(self.row, self.row + 1 or None)

    def for_vision(self, class_token: bool) -> "AttentionRecord":
        """What the image tower records when the decoder records this: its CLS row stands for the newest
        row (CLIP); a tower with no class token (SigLIP) records nothing then, as nothing shows it. A scores
        record names a decoder row and layer: the tower records nothing for it."""
        if self.scores:
            return AttentionRecord.NONE
        if self == AttentionRecord.LAST_ROW:
            return AttentionRecord.FIRST_ROW if class_token else AttentionRecord.NONE
        return self


AttentionRecord.NONE = AttentionRecord()
AttentionRecord.FULL = AttentionRecord(keep=True)
AttentionRecord.LAST_ROW = AttentionRecord(keep=True, row=-1)
AttentionRecord.FIRST_ROW = AttentionRecord(keep=True, row=0)


@dataclass
class ScoreRow:
    """What a scores record keeps of one query row: exactly what softmax reads, and what it gives."""

    scores: torch.Tensor  # (B, H, K) float32: q.k * scale, soft-capped where the model caps, before the mask
    allowed: torch.Tensor  # (B, H or 1, K) bool: the mask row the model applied (True = may attend)
    weights: torch.Tensor  # (B, H, K) float32: softmax of the allowed scores, as the model computed them


# ----------------------------------------------------------------------------- attention
def attend(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None,
    record: AttentionRecord = AttentionRecord.NONE,
    scale: float | None = None,
    softcap: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Scaled dot-product attention over (B, H, Q, D) x (B, H, K, D).

    `mask` is boolean (True = may attend), broadcastable to (B, H, Q, K).
    record NONE -> one fused SDPA call, no probabilities; FULL -> the same arithmetic spelled out,
    returning all probabilities (B, H, Q, K); one row -> fused SDPA for the output plus the
    probabilities of just that row (B, H, 1, K) at almost no cost.
    Key/value heads fewer than query heads (multi-query / grouped-query) are repeated.
    A scores record (`AttentionRecord.scores_of`) returns a `ScoreRow` for its row in place of the probabilities;
    the output is computed as without it.
    """
    scale = scale if scale is not None else 1.0 / math.sqrt(q.shape[-1])
    if record.scores:
        out, _ = attend(q, k, v, mask, AttentionRecord.NONE, scale, softcap)
        return out, _score_row(q, k, mask, record.rows, scale, softcap)
    grouped = k.shape[1] != q.shape[1]
    rows = record.rows
    if rows is not None and q.shape[2] == 1:
        rows = None  # a single query: its row is everything, and one spelled-out pass gives both
    if softcap is None and (rows is not None or not record.keep):
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale, enable_gqa=grouped)
        if not record.keep:
            return out, None
        if mask is not None and mask.shape[-2] > 1:
            mask = mask[..., rows, :]
        return out, _probabilities(q[:, :, rows], k, mask, scale, None)
    probs = _probabilities(q, k, mask, scale, softcap)
    if grouped:
        v = v.repeat_interleave(q.shape[1] // v.shape[1], dim=1)
    out = torch.matmul(probs, v)
    if rows is not None:
        probs = probs[:, :, rows]
    return out, (probs if record.keep else None)


def _scores(q, k, scale, softcap):
    """q k^T * scale, soft-capped when the model caps (Gemma 2): (B, H, Q, K), what the mask and softmax read."""
    if k.shape[1] != q.shape[1]:
        k = k.repeat_interleave(q.shape[1] // k.shape[1], dim=1)
    scores = torch.matmul(q, k.transpose(-1, -2)) * scale  # (B, H, Q, K)
    if softcap is not None:
        scores = torch.tanh(scores / softcap) * softcap
    return scores


def _softmax(scores, mask):
    """softmax over keys in float32, blocked keys (mask False) set to the dtype's lowest value first."""
    if mask is not None:
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    return torch.softmax(scores.float(), dim=-1)


def _probabilities(q, k, mask, scale, softcap):
    """softmax(q k^T * scale [soft-capped] [masked]) in float32, returned in q's dtype."""
    return _softmax(_scores(q, k, scale, softcap), mask).to(q.dtype)


def _score_row(q, k, mask, rows, scale, softcap) -> ScoreRow:
    """The scores, mask row and weights of one query row (all of q when it holds one row)."""
    if rows is not None and q.shape[2] > 1:
        q = q[:, :, rows]
        if mask is not None and mask.shape[-2] > 1:
            mask = mask[..., rows, :]
    scores = _scores(q, k, scale, softcap)  # (B, H, 1, K)
    weights = _softmax(scores, mask).to(q.dtype)
    allowed = torch.ones_like(scores, dtype=torch.bool) if mask is None else mask.expand(
        mask.shape[0], mask.shape[1], 1, scores.shape[-1])
    return ScoreRow(scores[:, :, -1].float(), allowed[:, :, -1], weights[:, :, -1].float())


def split_heads(x: torch.Tensor, head_dim: int) -> torch.Tensor:
    """(B, L, H*D) -> (B, H, L, D)."""
    b, l, _ = x.shape
    return x.view(b, l, -1, head_dim).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, H, L, D) -> (B, L, H*D)."""
    b, h, l, d = x.shape
    return x.transpose(1, 2).reshape(b, l, h * d)


# ----------------------------------------------------------------------------- mask rule
def visibility(query_rank: torch.Tensor, key_rank: torch.Tensor, key_valid: torch.Tensor) -> torch.Tensor:
    """The one mask rule (big_vision's): query i may see key j iff rank[j] <= rank[i] and j is valid.

    Ranks are `cumsum(mask_ar)`: a run of tokens with mask_ar = 0 shares a rank and sees itself
    bidirectionally (GIT's image block; PaliGemma's image + prompt), while each token with
    mask_ar = 1 opens a new rank and so sees only what came before it (causal text).
    query_rank (B, Q), key_rank (B, K), key_valid (B, K) -> (B, 1, Q, K) boolean.
    """
    seen = key_rank[:, None, :] <= query_rank[:, :, None]
    return (seen & key_valid[:, None, :])[:, None]


def ranks_from_ar(mask_ar: torch.Tensor) -> torch.Tensor:
    """mask_ar (B, L) of 0/1 -> ranks (B, L)."""
    return torch.cumsum(mask_ar.long(), dim=-1)


# ----------------------------------------------------------------------------- KV cache
class KVCache:
    """Keys and values of every decoder layer, plus what the mask rule needs about each key.

    Buffers are allocated once with spare room and filled in place (a fresh allocation per
    step costs page faults that dominate small decode steps on CPU); they grow by doubling.
    `ranks`/`valid` (B, K) let a new token's mask row be built without re-deriving the prompt.
    """

    SPARE = 64  # positions reserved beyond the prefill

    def __init__(self, num_layers: int):
        self.keys: list[torch.Tensor | None] = [None] * num_layers  # (B, H, capacity, D) buffers
        self.values: list[torch.Tensor | None] = [None] * num_layers
        self.filled = [0] * num_layers
        self.ranks: torch.Tensor | None = None
        self.valid: torch.Tensor | None = None
        self.next_position: torch.Tensor | None = None  # (B,) position id of the next text token

    @property
    def length(self) -> int:
        return 0 if self.ranks is None else self.ranks.shape[1]

    def extend_mask_state(self, ranks: torch.Tensor, valid: torch.Tensor) -> None:
        self.ranks = ranks if self.ranks is None else torch.cat([self.ranks, ranks], dim=1)
        self.valid = valid if self.valid is None else torch.cat([self.valid, valid], dim=1)

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append this step's (B, H, Q, D) keys/values for `layer`; return views of all of them."""
        start, q = self.filled[layer], k.shape[2]
        buf = self.keys[layer]
        if buf is None or start + q > buf.shape[2]:
            capacity = max(start + q + self.SPARE, 2 * (0 if buf is None else buf.shape[2]))
            for store in (self.keys, self.values):
                new = k.new_empty(k.shape[0], k.shape[1], capacity, k.shape[3])
                if store[layer] is not None:
                    new[:, :, :start] = store[layer][:, :, :start]
                store[layer] = new
        self.keys[layer][:, :, start:start + q] = k
        self.values[layer][:, :, start:start + q] = v
        self.filled[layer] = start + q
        return self.keys[layer][:, :, :start + q], self.values[layer][:, :, :start + q]

    def next_text(self, q: int, valid: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Position ids, ranks and validity (B, q) of q new causal tokens after what the cache holds:
        each continues its row's position count and opens a new rank; all valid unless `valid` says."""
        arange = torch.arange(q, device=self.ranks.device)
        position_ids = self.next_position[:, None] + arange
        self.next_position = position_ids[:, -1] + 1
        if valid is None:
            valid = torch.ones(self.ranks.shape[0], q, dtype=torch.bool, device=self.ranks.device)
        return position_ids, self.ranks[:, -1:] + 1 + arange, valid

    def reorder(self, index: torch.Tensor) -> None:
        """Keep batch rows `index` (beam search reshuffles beams every step)."""
        self.keys = [None if k is None else k.index_select(0, index) for k in self.keys]
        self.values = [None if v is None else v.index_select(0, index) for v in self.values]
        for name in ("ranks", "valid", "next_position"):
            t = getattr(self, name)
            if t is not None:
                setattr(self, name, t.index_select(0, index))


def mask_for_new(ranks: torch.Tensor, valid: torch.Tensor, cache: KVCache | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The mask rule for new positions (ranks/valid (B, Q)) on top of `cache`, which then remembers them.

    Returns the (B, 1, Q, K) mask and the ranks (B, K) of every key (cached + new).
    """
    if cache is not None:
        cache.extend_mask_state(ranks, valid)
        ranks_k, valid_k = cache.ranks, cache.valid
    else:
        ranks_k, valid_k = ranks, valid
    return visibility(ranks, ranks_k, valid_k), ranks_k


# ----------------------------------------------------------------------------- shared modules
def embedding(num: int, dim: int, padding_idx: int | None = None) -> nn.Embedding:
    """nn.Embedding that skips its random init on the meta device: `normal_` there makes torch
    import its symbolic-shape machinery (about a second, once per process) for weights that
    `load_model` replaces anyway."""
    weight = torch.empty(num, dim)
    if weight.device.type != "meta":
        nn.init.normal_(weight)
    return nn.Embedding(num, dim, padding_idx=padding_idx, _weight=weight)


@dataclass
class StepOutput:
    """One decoder pass on top of a cache: what generation needs."""

    logits: torch.Tensor  # (B, Q, vocab) for the positions asked for
    attentions: list[torch.Tensor] | None  # per layer (B, H, Q, K)


__all__ = [
    "activation", "quick_gelu", "AttentionRecord", "ScoreRow", "attend", "split_heads", "merge_heads", "visibility",
    "ranks_from_ar", "mask_for_new", "KVCache", "embedding", "StepOutput",
]
