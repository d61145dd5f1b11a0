"""Which tokens read one patch: the clickable patch grid, a bar per generated token, the per-layer breakdown.

Plain arrays in (from `gitdemo.explain.reverse`), `Figure`s out; nothing here runs a model.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..lang import say
from .figures import OKABE_ITO, Figure, _cmap, _new_figure, _render, _short


def readers_bar(tokens: Sequence[str], values: Sequence[float], uniform: float, where: str) -> Figure:
    """One bar per generated token: how much of its image attention went to the chosen patch."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    fig = _new_figure(max(3.6, 0.5 + 0.45 * n), 2.6)
    ax = fig.add_axes((0.12, 0.28, 0.85, 0.6))
    best = int(np.argmax(values)) if n else -1
    colours = [OKABE_ITO["vermillion"] if i == best else OKABE_ITO["blue"] for i in range(n)]
    ax.bar(np.arange(n), values, color=colours)
    ax.axhline(uniform, color=OKABE_ITO["grey"], linestyle="--", linewidth=1)
    ax.text(n - 0.5, uniform, " " + say("even spread"), va="bottom", ha="right", fontsize=7, color="#555555")
    ax.set_xticks(np.arange(n), [_short(t, 10) for t in tokens], rotation=45, ha="right", fontsize=8)
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_ylim(0, max(float(values.max()) if n else 0.0, uniform) * 1.15 or 1.0)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title(say("Which tokens read {where}", where=where), fontsize=9)
    ratio = values[best] / uniform if n and uniform > 0 else 0.0
    caption = say("Each bar is one generated token: the share of its image attention that went to {where} (mean "
                  "over layers and heads). The dashed line is an even spread over all patches; '{token}' read this "
                  "patch most ({ratio} x an even spread).", where=where, token=tokens[best] if n else "",
                  ratio=f"{ratio:.1f}")
    return Figure(_render(fig), caption)


def readers_layers(tokens: Sequence[str], per_layer: np.ndarray, where: str, cmap: str = "viridis") -> Figure:
    """The breakdown: a tokens x layers grid of the same values, one layer at a time."""
    per_layer = np.asarray(per_layer, dtype=np.float64)
    t, n_layers = per_layer.shape
    fig = _new_figure(max(3.4, 1.4 + 0.45 * n_layers), max(2.0, 0.9 + 0.3 * t))
    ax = fig.add_axes((0.25, 0.2, 0.6, 0.68))
    im = ax.imshow(per_layer, cmap=_cmap(cmap), aspect="auto", vmin=0)
    ax.set_yticks(np.arange(t), [_short(x, 12) for x in tokens], fontsize=8)
    ax.set_xticks(np.arange(n_layers), [str(i + 1) for i in range(n_layers)], fontsize=7)
    ax.set_xlabel(say("decoder layer"), fontsize=8)
    ax.set_title(say("Per layer: {where}", where=where), fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.08, pad=0.03).ax.tick_params(labelsize=7)
    r, c = np.unravel_index(int(np.argmax(per_layer)), per_layer.shape)
    caption = say("The same values layer by layer (rows: generated tokens, columns: decoder layers, mean over "
                  "heads); the strongest reading of {where} is '{token}' in layer {layer}.", where=where,
                  token=tokens[r], layer=c + 1)
    return Figure(_render(fig), caption)


__all__ = ["readers_bar", "readers_layers"]
