"""Bar charts: the next-token candidates at a step, and where a token's attention went (image / CLS / text)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..lang import say
from .figures import OKABE_ITO, Figure, _new_figure, _pct, _render, _short


def topk_bar(top: Sequence[tuple[str, float]], chosen: str, step: int) -> Figure:
    """The model's most likely next tokens at one step, the chosen one highlighted."""
    top = list(top)[::-1]
    fig = _new_figure(4.2, 0.5 + 0.32 * max(1, len(top)))
    ax = fig.add_axes((0.3, 0.12, 0.62, 0.78))
    names = [_short(t) for t, _ in top]
    probs = [p for _, p in top]
    colours = [OKABE_ITO["vermillion"] if t == chosen else OKABE_ITO["sky"] for t, _ in top]
    ax.barh(np.arange(len(top)), probs, color=colours)
    ax.set_yticks(np.arange(len(top)), names, fontsize=8)
    ax.set_xlim(0, 1.15)
    ax.tick_params(labelsize=7)
    for i, p in enumerate(probs):
        ax.text(p + 0.01, i, f"{p:.2f}", va="center", fontsize=7)
    ax.set_title(say("Step {step}: next-token probabilities", step=step + 1), fontsize=9)
    p_chosen = next((p for t, p in top if t == chosen), None)
    how = say("it chose '{token}' (p = {p})", token=chosen, p=f"{p_chosen:.2f}") if p_chosen is not None else \
        say("it chose '{token}', which is not among them (sampling)", token=chosen)
    caption = say("Step {step}: the {n} tokens the model found most likely to come next; {how}.", step=step + 1,
                  n=len(top), how=how)
    return Figure(_render(fig), caption)


def share_bar(share: dict[str, float], token: str) -> Figure:
    """One stacked bar: the token's attention on image patches, on the CLS sink(s), and on text."""
    parts = [(say("image patches"), share.get("image", 0.0), OKABE_ITO["blue"]),
             (say("CLS sink"), share.get("cls", 0.0), OKABE_ITO["grey"]),
             (say("text"), share.get("text", 0.0), OKABE_ITO["orange"])]
    fig = _new_figure(4.6, 1.25)
    ax = fig.add_axes((0.03, 0.42, 0.94, 0.32))
    left = 0.0
    for name, v, colour in parts:
        ax.barh([0], [v], left=left, color=colour, label=name)
        if v >= 0.08:
            ax.text(left + v / 2, 0, _pct(v), ha="center", va="center", fontsize=8, color="white")
        left += v
    ax.set_xlim(0, 1)
    ax.set_axis_off()
    ax.set_title(say("Where '{token}' put its attention", token=_short(token, 20)), fontsize=9)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.05), ncol=3, fontsize=7, frameon=False)
    caption = say("'{token}' puts {image} of its attention on image patches, {cls} on the CLS token(s) (a 'sink' "
                  "that soaks up attention) and {text} on the text (mean over layers and heads).", token=token,
                  image=_pct(parts[0][1]), cls=_pct(parts[1][1]), text=_pct(parts[2][1]))
    return Figure(_render(fig), caption)

