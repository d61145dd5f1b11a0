"""Two models' answers side by side: which token stands for a chosen word, and one colour scale (no Gradio).

Two models may read the image on different patch grids (the Shapes GIT: 7 x 7, PaliGemma at 224: 16 x 16).
Each default map sums to 1 over its patches, so a finer grid has smaller values everywhere; drawn on one
scale, it would look dim for no reason. `shared_scale` therefore multiplies each map by its number of
patches (1 = attention spread evenly, 3 = three times an even share) and takes one vmax for both maps.
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


__all__ = ["norm_word", "find_token", "words", "default_word", "shared_scale"]
