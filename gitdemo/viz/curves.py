"""The deletion curve: how much a token's probability falls as more of the patches a map ranks highest are hidden."""
from __future__ import annotations

from typing import Sequence

from ..lang import say
from .figures import OKABE_ITO, Figure, _new_figure, _render, _short

_COLOURS = [OKABE_ITO["vermillion"], OKABE_ITO["blue"], OKABE_ITO["green"], OKABE_ITO["orange"]]


def deletion_curve(fractions: Sequence[float], drops: dict[str, Sequence[float]], random: Sequence[float],
                   token: str, p_base: float) -> Figure:
    """drops[view][i]: the probability drop with fractions[i] of the patches hidden (top of that view);
    random[i]: the mean drop with as many random patches hidden."""
    fig = _new_figure(4.6, 2.6)
    ax = fig.add_axes((0.14, 0.18, 0.56, 0.7))
    x = [100 * f for f in fractions]
    for (name, d), colour in zip(drops.items(), _COLOURS):
        ax.plot(x, list(d), marker="o", ms=3, color=colour, label=name)
    ax.plot(x, list(random), marker="o", ms=3, color=OKABE_ITO["grey"], linestyle="--", label=say("random patches"))
    ax.set_xlabel(say("patches hidden (%)"), fontsize=8)
    ax.set_ylabel(say("probability drop"), fontsize=8)
    ax.set_ylim(min(-0.05, min(min(random), *[min(d) for d in drops.values()]) - 0.05), max(1.0, p_base) + 0.05)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    ax.set_title(say("Deletion test for '{token}' (p = {p})", token=_short(token), p=f"{p_base:.2f}"), fontsize=9)
    caption = say("Hide the patches each map ranks highest (painted in the image's mean colour) and watch the "
                  "probability of '{token}' fall (p = {p} on the whole image). A map that shows what the model used "
                  "falls fast; the dashed line hides as many random patches (mean of several draws).", token=token,
                  p=f"{p_base:.2f}")
    return Figure(_render(fig), caption)


__all__ = ["deletion_curve"]
