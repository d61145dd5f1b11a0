"""Does a map point at what the model used? The deletion test, for one image and one answer.

For a generated token, hide the k patches a view ranks highest and measure how much that token's
probability drops (teacher-forced: the rest of the answer stays as generated); compare with hiding k
patches drawn at random. A view that explains the token should cost much more than chance.

Hiding a patch = painting its square of the *model's input* (after resize and crop) with the image's
mean colour (per frame, per channel), so the model sees a flat, in-distribution grey-ish square, not
black. All occluded copies of one answer run as batches through one teacher-forced pass each.

Views: "attention" (raw attention, the explorer's default: the producing query's attention over the
patches, mean over layers and heads), "rollout" (attention rollout) and "relevancy" (Chefer et al.,
`relevancy.py`). Which view is the explorer's default was chosen by `python -m gitdemo faithfulness`
(docs/faithfulness.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from ..generation import generate
from ..pipeline import inputs as pipeline_inputs  # a module, not names: pipeline imports explain.maps too
from .maps import DEFAULT_VIEW, VIEW_TITLES, VIEWS, ImageLayout, default_view, rollout, split_image
from .relevancy import forward, relevancy_rows

MAX_DRAWS = 32  # random draws per fraction, at most
MAX_FRACTION = 0.5  # never hide more than half the image
BATCH = 48  # occluded copies per forward


def view_maps(model, inputs, token_ids: list[int], steps: list[int] | None = None) -> dict[str, list[np.ndarray]]:
    """{view: [map (F, rows, cols) summing to 1 per step]} for the answer tokens at `steps` (default all):
    one forward with the attention graph kept serves all three views; one backward per token."""
    steps = list(range(len(token_ids))) if steps is None else list(steps)
    layout = inputs.layout
    out: dict[str, list[np.ndarray]] = {v: [] for v in VIEWS}
    fw = forward(model, inputs, token_ids, grad=True)
    att = [a.cpu() for a in fw.full]
    roll = rollout(att)
    for t in steps:
        q = fw.queries[t]
        out["attention"].append(default_view(torch.stack([a[0, :, q] for a in att]), layout))
        out["rollout"].append(split_image(roll[q], layout))
    out["relevancy"] = [split_image(row, layout) for row in relevancy_rows(fw, token_ids, steps)]
    return out


def num_hidden(fraction: float, layout: ImageLayout) -> int:
    """k for a fraction of all patches (every frame): at least 1, at most MAX_FRACTION of them."""
    total = layout.num_frames * layout.rows * layout.cols
    fraction = min(max(float(fraction), 0.0), MAX_FRACTION)
    return max(1, int(round(fraction * total)))


def top_patches(grid: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask (F, rows, cols) of the k highest cells (ties: the first in raster order)."""
    flat = np.asarray(grid, dtype=np.float64).reshape(-1)
    order = np.argsort(-flat, kind="stable")[:k]
    hide = np.zeros(flat.shape, dtype=bool)
    hide[order] = True
    return hide.reshape(np.shape(grid))


def random_patches(shape: tuple[int, ...], k: int, rng: np.random.Generator) -> np.ndarray:
    hide = np.zeros(int(np.prod(shape)), dtype=bool)
    hide[rng.choice(hide.size, size=k, replace=False)] = True
    return hide.reshape(shape)


def occlude(pixel_values: torch.Tensor, hides: list[np.ndarray], layout: ImageLayout) -> torch.Tensor:
    """Copies of pixel_values (1, 3, H, W) or (1, F, 3, H, W), one per mask (F, rows, cols), with the hidden
    patches painted in that frame's mean colour (per channel, in the model's normalised input space)."""
    video = pixel_values.ndim == 5
    base = (pixel_values if video else pixel_values[:, None])[0].float()  # (F, 3, H, W)
    mean = base.mean(dim=(-1, -2), keepdim=True)  # (F, 3, 1, 1)
    ph, pw = base.shape[-2] // layout.rows, base.shape[-1] // layout.cols
    copies = base[None].repeat(len(hides), 1, 1, 1, 1)  # (B, F, 3, H, W)
    for b, hide in enumerate(hides):
        for f, r, c in zip(*np.nonzero(np.asarray(hide).reshape(layout.num_frames, layout.rows, layout.cols))):
            copies[b, f, :, r * ph:(r + 1) * ph, c * pw:(c + 1) * pw] = mean[f]
    copies = copies.to(pixel_values.dtype)
    return copies if video else copies[:, 0]


@dataclass
class Deletion:
    """Probability drops of the answer tokens at `steps` when patches are hidden."""

    steps: list[int]
    fractions: list[float]
    k: list[int]  # patches hidden per fraction
    base: list[float]  # per step: the token's probability on the whole image
    drop: dict[str, list[list[float]]] = field(default_factory=dict)  # view -> [fraction][step] drop
    random: list[list[float]] = field(default_factory=list)  # [fraction][step]: mean drop over the draws
    draws: int = 0

    def mean(self, view: str, fraction_index: int = 0) -> float:
        d = self.random[fraction_index] if view == "random" else self.drop[view][fraction_index]
        return float(np.mean(d)) if len(d) else float("nan")


def deletion_test(probs: Callable[[list[np.ndarray]], np.ndarray], base: np.ndarray,
                  maps: dict[str, list[np.ndarray]], steps: list[int], layout: ImageLayout,
                  fractions=(0.1,), draws: int = 8, seed: int = 0) -> Deletion:
    """The test itself, for any `probs(hides) -> (B, T)` (the probability of each answer token given the
    image with each mask's patches hidden). base (T,): the probabilities on the whole image.
    maps[view][j]: the map of steps[j]. Random draws are shared by all tokens and views."""
    rng = np.random.default_rng(seed)
    draws = int(min(max(draws, 1), MAX_DRAWS))
    shape = (layout.num_frames, layout.rows, layout.cols)
    ks = [num_hidden(f, layout) for f in fractions]
    jobs: list[tuple[str, int, int]] = []  # (view or "random", fraction index, step index j or draw)
    hides: list[np.ndarray] = []
    for fi, k in enumerate(ks):
        for v, per_step in maps.items():
            for j in range(len(steps)):
                jobs.append((v, fi, j))
                hides.append(top_patches(per_step[j], k))
        for d in range(draws):
            jobs.append(("random", fi, d))
            hides.append(random_patches(shape, k, rng))
    p = np.concatenate([probs(hides[i:i + BATCH]) for i in range(0, len(hides), BATCH)]) if hides else np.zeros((0,))
    out = Deletion(list(steps), [float(f) for f in fractions], ks, [float(base[t]) for t in steps], draws=draws)
    out.drop = {v: [[0.0] * len(steps) for _ in ks] for v in maps}
    rand = np.zeros((len(ks), draws, len(steps)))
    for (v, fi, j), row in zip(jobs, p):
        if v == "random":
            rand[fi, j] = [base[t] - row[t] for t in steps]
        else:
            out.drop[v][fi][j] = float(base[steps[j]] - row[steps[j]])
    out.random = [[float(x) for x in rand[fi].mean(0)] for fi in range(len(ks))]
    return out


@torch.inference_mode()
def answer_probs(model, inputs, token_ids: list[int], pixel_values: torch.Tensor | None = None) -> np.ndarray:
    """(B, T): probability of each answer token at its step, for each copy of the image."""
    fw = forward(model, inputs, token_ids, pixel_values)
    ids = torch.tensor(list(token_ids), device=fw.logits.device)
    p = fw.logits.softmax(-1).gather(-1, ids[None, :, None].expand(fw.logits.shape[0], -1, 1))[..., 0]
    return p.cpu().double().numpy()


def deletion(model, inputs, token_ids: list[int], steps: list[int] | None = None, fractions=(0.1,),
             draws: int = 8, seed: int = 0, maps: dict[str, list[np.ndarray]] | None = None) -> Deletion:
    """The deletion test of the three views for the answer tokens at `steps` of one input."""
    steps = list(range(len(token_ids))) if steps is None else list(steps)
    maps = view_maps(model, inputs, token_ids, steps) if maps is None else maps
    base = answer_probs(model, inputs, token_ids)[0]

    def probs(hides):
        return answer_probs(model, inputs, token_ids, occlude(inputs.pixel_values, hides, inputs.layout))

    return deletion_test(probs, base, maps, steps, inputs.layout, fractions, draws, seed)


def greedy_answer(model, processor, inputs, pixel_values: torch.Tensor | None = None,
                  max_new_tokens: int = 20) -> list[int]:
    """The greedy answer (ids, without eos) to `inputs`, or to the same text with other pixel_values."""
    kw = inputs.model_kwargs
    if pixel_values is not None:
        kw["pixel_values"] = pixel_values
    out = generate(model, max_new_tokens=max_new_tokens, return_dict=True, **kw)
    stop = pipeline_inputs.eos_ids(model, processor)
    ids = []
    for i in out.new_tokens[0].tolist():
        if i in stop:
            break
        ids.append(int(i))
    return ids


CURVE_FRACTIONS = (0.05, 0.1, 0.2, 0.3, 0.5)


def curve(model, inputs, token_ids: list[int], step: int, fractions=CURVE_FRACTIONS, draws: int = 8,
          seed: int = 0) -> Deletion:
    """The deletion curve of one token: its probability drop per fraction hidden, for every view and chance."""
    return deletion(model, inputs, token_ids, [int(step)], fractions, draws, seed)


@dataclass
class Counterfactual:
    old_text: str
    new_text: str
    token: str
    p_old: float  # the selected token's probability at its step on the whole image
    p_new: float  # the same, teacher-forced on the old answer, with the patches hidden
    hidden: int  # patches hidden


def counterfactual(model, processor, inputs, token_ids: list[int], step: int, hide: np.ndarray,
                   max_new_tokens: int = 20) -> Counterfactual:
    """Hide the patches in `hide` (F, rows, cols), caption again, and read the selected token's probability."""
    hide = np.asarray(hide, dtype=bool).reshape(inputs.layout.num_frames, inputs.layout.rows, inputs.layout.cols)
    pv = occlude(inputs.pixel_values, [hide], inputs.layout)
    p = answer_probs(model, inputs, token_ids, torch.cat([inputs.pixel_values.to(pv.dtype), pv]))
    new_ids = greedy_answer(model, processor, inputs, pv, max_new_tokens)
    return Counterfactual(processor.decode(list(token_ids)).strip(), processor.decode(new_ids).strip(),
                          pipeline_inputs.token_text(processor, token_ids[step]).strip(),
                          float(p[0, step]), float(p[1, step]), int(hide.sum()))


__all__ = ["CURVE_FRACTIONS", "curve", "Counterfactual", "counterfactual", "greedy_answer", "VIEWS", "DEFAULT_VIEW", "VIEW_TITLES", "view_maps", "num_hidden", "top_patches", "random_patches",
           "occlude", "Deletion", "deletion_test", "answer_probs", "deletion"]
