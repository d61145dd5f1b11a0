"""Two models' answers side by side: which token stands for a chosen word, and one colour scale (no Gradio).

Two models may read the image on different patch grids (the Shapes GIT: 7 x 7, PaliGemma at 224: 16 x 16).
Each default map sums to 1 over its patches, so a finer grid has smaller values everywhere; drawn on one
scale, it would look dim for no reason. `shared_scale` therefore multiplies each map by its number of
patches (1 = attention spread evenly, 3 = three times an even share) and takes one vmax for both maps.

`agreement` says how close two answers are (the same model at two precisions, fp32 vs int8, should agree almost
everywhere): the same words?, the chosen word's probability on each side, the largest difference of any token's
probability when the answers are the same tokens, and how far apart the word's two maps are when they share a grid.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

SKIP = {"a", "an", "the", "of", "is", "are", "in", "on", "and", "to", "with"}  # not worth comparing first


def norm_word(token: str) -> str:
    """A token as a word to match across tokenizers: no WordPiece '##', no SentencePiece space, lower case."""
    return str(token).replace("##", "").replace("▁", " ").strip().lower()


def find_token(tokens: Sequence[str], word: str) -> int | None:
    """Index of the first token that is `word` (after `norm_word`), else None."""
    w = norm_word(word)
    return next((i for i, t in enumerate(tokens) if w and norm_word(t) == w), None)


def words(tokens_a: Sequence[str], tokens_b: Sequence[str]) -> list[str]:
    """The words a user can pick: those of both answers first (in A's order), then the rest of A, then of B."""
    a = [w for w in dict.fromkeys(norm_word(t) for t in tokens_a) if w]
    b = [w for w in dict.fromkeys(norm_word(t) for t in tokens_b) if w]
    both = [w for w in a if w in b]
    return both + [w for w in a if w not in both] + [w for w in b if w not in both]


def default_word(tokens_a: Sequence[str], tokens_b: Sequence[str]) -> str | None:
    """The first word both answers share that is not a little word like 'a'; else any shared word; else A's first."""
    choices = words(tokens_a, tokens_b)
    shared = [w for w in choices if find_token(tokens_a, w) is not None and find_token(tokens_b, w) is not None]
    content = [w for w in shared if w not in SKIP]
    return (content or shared or choices or [None])[0]


def shared_scale(grid_a: np.ndarray | None, grid_b: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray | None,
                                                                                  float]:
    """Both maps relative to an even spread (x number of patches) and the one vmax they share."""
    out = [None if g is None else np.asarray(g, np.float64) * np.asarray(g).size for g in (grid_a, grid_b)]
    vmax = max([float(g.max()) for g in out if g is not None] or [1.0])
    return out[0], out[1], vmax if vmax > 0 else 1.0


def agreement(text_a: str, text_b: str, tokens_a: Sequence[str], tokens_b: Sequence[str],
              probs_a: Sequence[float | None], probs_b: Sequence[float | None], index_a: int | None,
              index_b: int | None, rel_a: np.ndarray | None, rel_b: np.ndarray | None) -> dict:
    """How far two answers and their maps of one word agree (None where a measure does not apply).

    same_text: the two answers read the same (case and spacing aside); same_tokens: token for token the same.
    word_p: the word's probability at its step on each side; word_p_diff: their absolute difference.
    max_p_diff: the largest absolute difference of any token's probability along the answer (same tokens only).
    map_max_diff: the largest cell difference of the two maps in "x even spread" units (same grid only);
    map_moved: the share of the word's attention that sits elsewhere (half the L1 distance of the two maps,
    each summing to 1: 0 = identical, 1 = no overlap).
    """
    same_tokens = list(tokens_a) == list(tokens_b)
    pa = None if index_a is None else probs_a[index_a]
    pb = None if index_b is None else probs_b[index_b]
    max_p = None
    if same_tokens and tokens_a and None not in probs_a and None not in probs_b:
        max_p = float(max(abs(float(x) - float(y)) for x, y in zip(probs_a, probs_b)))
    out = {"same_text": " ".join(text_a.lower().split()) == " ".join(text_b.lower().split()),
           "same_tokens": same_tokens, "word_p": [pa, pb],
           "word_p_diff": None if pa is None or pb is None else abs(float(pa) - float(pb)),
           "max_p_diff": max_p, "map_max_diff": None, "map_moved": None}
    if rel_a is not None and rel_b is not None and np.shape(rel_a) == np.shape(rel_b):
        a, b = np.asarray(rel_a, np.float64), np.asarray(rel_b, np.float64)
        out["map_max_diff"] = float(np.abs(a - b).max())
        out["map_moved"] = float(0.5 * np.abs(a / a.sum() - b / b.sum()).sum())
    return out


__all__ = ["norm_word", "find_token", "words", "default_word", "shared_scale", "agreement"]
