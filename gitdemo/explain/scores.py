"""One head's attention step by step, for one query: the raw scores q.k * scale over every key, the keys the mask
blocks (and the rule that blocks each), the softmax, and the weights that are the explorer's map.

The numbers come from the model's own `attend()` (an `AttentionRecord.scores_of(row, layer)` record: one query row
in one decoder layer, asked for on one extra forward over the finished sequence), never from a second
implementation; the mask row is the one that layer applied. Keys are listed in the model's order:
GIT: [frame 1: CLS, patches; frame 2: ...] then the text ([CLS] or the question, then the answer);
PaliGemma: its `<image>` placeholders (SigLIP patches, no CLS), `<bos>`, the prompt, "\\n", then the answer.
The query is the one that produced a generated token (as in the explorer), or (GIT) an image token's own query.
Nothing here imports Gradio: the UI (`ui.mechanism`) and the `/attention_scores` endpoint read `ScoreView`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from ..errors import InputError
from ..generation import forced_pass
from ..models.layers import AttentionRecord
from ..pipeline import inputs as pipeline_inputs  # a module, not names: pipeline imports explain.maps too

KINDS = ("image", "cls", "prompt", "answer")
# why a key is blocked (None: it is not): the mask rule in words, per family
REASONS = {
    "image_reads_image": "GIT: an image token reads only image tokens, never text",
    "causal": "a text token reads only the tokens before it (causal)",
    "prefix": "PaliGemma: the prefix (image and prompt) is read both ways, but never the answer after it",
    "window": "Gemma 2: this layer reads only a window of recent tokens",
    "padding": "padding: not a real token",
}


@dataclass
class Key:
    kind: str  # image | cls | prompt | answer
    row: int | None = None  # image patches: counted from 1
    col: int | None = None
    frame: int | None = None  # image and cls: counted from 1
    text: str = ""

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class ScoreView:
    """One query's step in one layer and head: everything softmax reads and gives, one entry per key."""

    family: str  # "git" or "paligemma"
    token: int | None  # the generated token whose query this is (from 0), None for an image token's query
    query: int  # the query's position in the sequence (image tokens counted)
    layer: int  # from 0
    head: int  # from 0
    keys: list[Key]
    scores: list[float]  # q.k * scale (soft-capped where the model caps): what softmax reads, before the mask
    masked: list[bool]  # True where the mask blocks the key
    reasons: list[str | None]  # a REASONS key where masked
    weights: list[float]  # softmax over the unmasked scores: the explorer's map for this layer and head
    rows: int = 0  # the patch grid, for drawing
    cols: int = 0
    frames: int = 1

    def to_json(self) -> dict:
        """The `/attention_scores` JSON (token, layer, head counted from 1)."""
        return {"token": None if self.token is None else self.token + 1, "query": self.query + 1,
                "layer": self.layer + 1, "head": self.head + 1, "family": self.family,
                "keys": [k.to_json() for k in self.keys], "scores": self.scores, "masked": self.masked,
                "reasons": self.reasons, "weights": self.weights,
                "grid": {"rows": self.rows, "cols": self.cols, "frames": self.frames}}


def keys_of(model, processor, inputs: pipeline_inputs.Inputs, token_ids: list[int]) -> list[Key]:
    """Every key of [image; prompt; answer] in the model's order, with its kind, place and text."""
    lay = inputs.layout
    text = pipeline_inputs.token_text
    keys: list[Key] = []
    patches = [(f + 1, r + 1, c + 1) for f in range(lay.num_frames) for r in range(lay.rows) for c in range(lay.cols)]
    if inputs.family == "git":  # image tokens in front: per frame CLIP's CLS, then its patches
        for f in range(lay.num_frames):
            if lay.has_cls:
                keys.append(Key("cls", None, None, f + 1, "CLS"))
            keys += [Key("image", r, c, fr, "") for fr, r, c in patches if fr == f + 1]
        prompt_ids = inputs.input_ids[0].tolist()
        image_at = [False] * len(prompt_ids)
    else:  # PaliGemma: the placeholders sit inside input_ids
        prompt_ids = inputs.input_ids[0].tolist()
        image_at = model.image_token_mask(inputs.input_ids)[0].tolist()
    next_patch = iter(patches)
    for i, is_image in zip(prompt_ids, image_at, strict=True):
        if is_image:
            f, r, c = next(next_patch)
            keys.append(Key("image", r, c, f, ""))
        else:
            keys.append(Key("prompt", text=text(processor, int(i))))
    keys += [Key("answer", text=text(processor, int(i))) for i in token_ids]
    return keys


def query_of(keys: list[Key], family: str, token: int | None, patch: tuple[int, int, int] | None,
             prompt_length: int, front: int) -> int:
    """The query position: the one that produced generated token `token` (it reads the token before), or the
    image token at `patch` (frame, row, col from 1)."""
    if patch is not None:
        for i, k in enumerate(keys):
            if k.kind == "image" and (k.frame, k.row, k.col) == tuple(patch):
                return i
        raise InputError("There is no image patch at that frame, row and column.")
    return front + prompt_length - 1 + int(token)


def reason(keys: list[Key], family: str, query: int, key: int, valid: bool = True) -> str:
    """Which rule blocks `key` for `query` (the mask itself comes from the model; this names its rule)."""
    if not valid:
        return "padding"
    q = keys[query].kind
    if family == "git" and q in ("image", "cls"):
        return "image_reads_image"
    if family == "paligemma" and q in ("image", "prompt"):
        return "prefix"
    return "causal" if key > query else "window"


@torch.inference_mode()
def step_scores(model, processor, inputs: pipeline_inputs.Inputs, token_ids: list[int], layer: int, head: int,
                token: int | None = 0, patch: tuple[int, int, int] | None = None) -> ScoreView:
    """The scores, mask and weights of one query in decoder layer `layer`, head `head` (all from 0), over
    [inputs; token_ids]: for generated token `token`, or (GIT, `patch` = (frame, row, col) from 1) an image token."""
    if not token_ids:
        raise InputError("Nothing was generated, so there is no attention to explore.")
    layers, heads = model.num_decoder_layers(), _num_heads(model)
    if not 0 <= int(layer) < layers:
        raise InputError(f"Layer {int(layer) + 1} does not exist: this model has layers 1 to {layers}.")
    if not 0 <= int(head) < heads:
        raise InputError(f"Head {int(head) + 1} does not exist: this model has heads 1 to {heads}.")
    if patch is None and not 0 <= int(token) < len(token_ids):
        raise InputError(f"Token {int(token) + 1} does not exist: the answer has tokens 1 to {len(token_ids)}.")
    keys = keys_of(model, processor, inputs, token_ids)
    family = inputs.family
    front = inputs.layout.num_image_tokens if family == "git" else 0
    query = query_of(keys, family, None if patch is not None else int(token), patch, inputs.input_ids.shape[1], front)
    seq = torch.cat([inputs.input_ids, torch.tensor([list(token_ids)], dtype=torch.long)], dim=1)
    out, _, _ = forced_pass(model, inputs.pixel_values, seq, inputs.attention_mask, inputs.token_type_ids,
                            AttentionRecord.scores_of(query, layer), logits_for=slice(-1, None))
    row = out.attentions[int(layer)]  # a ScoreRow: (B, H, K)
    scores = row.scores[0, int(head)].cpu()
    allowed = row.allowed[0, min(int(head), row.allowed.shape[1] - 1)].cpu()
    weights = row.weights[0, int(head)].cpu()
    if len(keys) != scores.shape[0]:
        raise InputError(f"The model read {scores.shape[0]} keys but the input lists {len(keys)}.")
    valid = _valid(inputs, len(keys))
    masked = [not bool(a) for a in allowed]
    reasons = [reason(keys, family, query, j, valid[j]) if m else None for j, m in enumerate(masked)]
    lay = inputs.layout
    return ScoreView(family, None if patch is not None else int(token), query, int(layer), int(head), keys,
                     [float(s) for s in scores], masked, reasons, [float(w) for w in weights],
                     lay.rows, lay.cols, lay.num_frames)


def _num_heads(model) -> int:
    cfg = model.config
    return int(getattr(cfg, "text_config", cfg).num_attention_heads)


def _valid(inputs: pipeline_inputs.Inputs, n: int) -> list[bool]:
    """Which keys are real tokens (PaliGemma's attention_mask; GIT's inputs carry no padding)."""
    if inputs.attention_mask is None:
        return [True] * n
    mask = inputs.attention_mask[0].bool().tolist()
    return mask + [True] * (n - len(mask)) if inputs.family == "paligemma" else [True] * n


def softmax_of(scores: list[float], masked: list[bool]) -> list[float]:
    """softmax over the unmasked scores, 0 for the masked keys: what the weights must equal."""
    s = torch.tensor(scores, dtype=torch.float64)
    s = s.masked_fill(torch.tensor(masked), float("-inf"))
    return [float(x) for x in torch.softmax(s, -1)]


__all__ = ["KINDS", "REASONS", "Key", "ScoreView", "keys_of", "step_scores", "softmax_of", "reason"]
