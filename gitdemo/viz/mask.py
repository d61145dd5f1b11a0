"""The attention mask as a labelled block diagram, and one sentence per block read off the mask itself."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..lang import join, say
from .figures import OKABE_ITO, Figure, _cmap, _new_figure, _render, _short


@dataclass
class Segment:
    """A run of positions in the sequence: the image block (or one frame of it), the prompt, the output."""

    name: str
    start: int
    end: int  # exclusive
    labels: list[str] | None = None  # per-position labels (text tokens); None for image tokens

    @property
    def size(self) -> int:
        return self.end - self.start


def block_kind(block: np.ndarray, same: bool = False) -> str:
    """'all', 'none', 'causal' (a segment against itself: lower triangle with the diagonal) or 'partial'."""
    block = np.asarray(block, dtype=bool)
    if block.size == 0 or not block.any():
        return "none"
    q, k = block.shape
    if same and q == k and np.array_equal(block, np.tril(np.ones((q, k), bool))) and (q > 1 or not block.all()):
        return "causal"
    if same and q == k == 1:
        return "causal"
    if block.all():
        return "all"
    return "partial"


def shown_name(name: str) -> str:
    """A segment's name as the figure and the sentences show it (translated: "image", "prompt", ...)."""
    return say(name)


def _why(q: Segment, k: Segment, kind: str, order: int) -> str:
    """Why a block looks the way it does (order: key segment before (-1), same (0) or after (1) the query's)."""
    q_img, k_img = q.labels is None, k.labels is None
    qn, kn = shown_name(q.name), shown_name(k.name)
    if order == 0 and q_img and kind == "all":
        return say("every image token sees every other one, in both directions: the picture is read as a whole")
    if order == 0 and kind == "causal":
        return say("each token sees itself and the tokens before it, never a later one, which is what lets "
                   "the model write one token at a time")
    if order == 0 and kind == "all":
        return say("these tokens see each other in both directions (read as a whole, like a prefix)")
    if q_img and not k_img and kind == "none":
        return say("the image never sees the text, so its encoding does not depend on the words: it is computed "
                   "once and its keys and values are cached for every generated token")
    if k_img and kind == "all":
        return say("every {q} token sees the whole {k}", q=qn, k=shown_name(k.name.split(" ")[0]))
    if order < 0 and kind == "all":
        return say("every {q} token sees all of the earlier {k}", q=qn, k=kn)
    if order > 0 and kind == "none":
        return say("no {q} token sees the later {k}: the future stays hidden", q=qn, k=kn)
    return ""


_VERDICT = {"all": "all visible", "none": "all masked", "causal": "causal", "partial": "partly visible"}


def describe_blocks(mask: np.ndarray, segments: Sequence[Segment]) -> list[str]:
    """One sentence per (query segment, key segment) pair, read off the mask itself."""
    sentences = []
    for a, qs in enumerate(segments):
        for b, ks in enumerate(segments):
            kind = block_kind(mask[qs.start:qs.end, ks.start:ks.end], same=a == b)
            why = _why(qs, ks, kind, (b > a) - (b < a))
            head = say("{q} → {k}: {verdict}", q=shown_name(qs.name), k=shown_name(ks.name),
                       verdict=say(_VERDICT[kind]))
            sentences.append(say("{head} — {why}.", head=head, why=why) if why else say("{head}.", head=head))
    return sentences


def mask_diagram(mask: np.ndarray, segments: Sequence[Segment], title: str | None = None,
                 max_image_cells: int = 8) -> tuple[Figure, list[str]]:
    """Draw a (S, S) boolean mask (rows: queries, columns: keys) with labelled blocks.

    Image segments longer than `max_image_cells` are drawn compressed (each cell the share of
    visible entries among the positions it stands for: exact wherever a block is uniform, which
    is the case for every image block the models build); text tokens get one cell each and
    their own labels. Returns the figure and the per-block sentences.
    """
    mask = np.asarray(mask, dtype=bool)
    s = mask.shape[0]
    if mask.shape != (s, s) or not segments or segments[-1].end != s:
        raise ValueError(f"mask {mask.shape} and segments ending at {segments[-1].end if segments else None} disagree")
    # display cells: groups of positions
    groups: list[tuple[int, int]] = []
    for seg in segments:
        if seg.labels is None and seg.size > max_image_cells:
            edges = np.linspace(seg.start, seg.end, max_image_cells + 1).round().astype(int)
            groups += [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]
        else:
            groups += [(i, i + 1) for i in range(seg.start, seg.end)]
    cells = np.array([[mask[a:b, c:d].mean() for c, d in groups] for a, b in groups])
    n = len(groups)
    side = min(9.0, max(4.5, 0.22 * n + 2.2))
    fig = _new_figure(side, side)
    ax = fig.add_axes((0.2, 0.04, 0.68, 0.76))
    ax.imshow(cells, cmap=_cmap("cividis"), vmin=0, vmax=1, interpolation="nearest")
    # block outlines and labels
    starts = {}
    idx = 0
    for seg in segments:
        k = sum(1 for a, _ in groups if seg.start <= a < seg.end)
        starts[seg.name] = (idx, idx + k)
        idx += k
    for seg in segments:
        a, b = starts[seg.name]
        ax.axhline(a - 0.5, color=OKABE_ITO["orange"], lw=1.5)
        ax.axvline(a - 0.5, color=OKABE_ITO["orange"], lw=1.5)
        ax.text(n - 0.5 + 0.02 * n, (a + b - 1) / 2, shown_name(seg.name), va="center", ha="left", fontsize=9,
                color=OKABE_ITO["vermillion"], fontweight="bold", clip_on=False)
    ticks, labels = [], []
    for seg in segments:
        a, b = starts[seg.name]
        if seg.labels is None:
            ticks.append((a + b - 1) / 2)
            labels.append(say("{name}\n({n} tokens)", name=shown_name(seg.name), n=seg.size))
        else:
            ticks += list(range(a, b))
            labels += [_short(t, 10) for t in seg.labels]
    fs = 8 if n <= 40 else 6
    ax.set_xticks(ticks, labels, rotation=90, fontsize=fs)
    ax.set_yticks(ticks, labels, fontsize=fs)
    ax.xaxis.tick_top()
    ax.set_xlabel(say("keys (what is looked at)"), fontsize=8)
    ax.set_ylabel(say("queries (who looks)"), fontsize=8)
    ax.xaxis.set_label_position("top")
    fig.text(0.02, 0.99, say("{title}  (light = may attend, dark = masked)", title=title or say("Attention mask")),
             fontsize=9, va="top")
    sentences = describe_blocks(mask, segments)
    visible = int(mask.sum())
    parts = join(f"{shown_name(g.name)} {g.size}" for g in segments)
    caption = say("The mask the model used for this input: {s} positions ({parts}); {visible} of {total} query-key "
                  "pairs may attend.", s=s, parts=parts, visible=visible, total=s * s)
    return Figure(_render(fig), caption), sentences


