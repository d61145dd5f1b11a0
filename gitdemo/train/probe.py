"""Where the objects are, at the model's patch resolution, and the training-only patch probe
that makes the vision side carry "where" (used by both families; never saved)."""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..shapes import COLOURS, IMAGE_SIZE, SHAPES

PAIRS = [(c, s) for c in COLOURS for s in SHAPES]  # patch classes 1.. (0: background)


def patch_classes(objects, grid: int, size: int = IMAGE_SIZE) -> np.ndarray:
    """g*g long: for each patch, 1 + the (colour, shape) pair index of the object whose box holds the
    patch centre, else 0 (the two boxes never overlap)."""
    c = size / grid
    centres = (np.arange(grid) + 0.5) * c
    out = np.zeros((grid, grid), np.int64)
    for o in objects:
        x0, y0, x1, y1 = o.box
        ys = (centres >= y0) & (centres < y1)
        xs = (centres >= x0) & (centres < x1)
        out[np.ix_(ys, xs)] = 1 + PAIRS.index((o.colour, o.shape))
    return out.reshape(-1)


def cells_of_box(box, grid: int, size: int = IMAGE_SIZE) -> np.ndarray:
    """g*g bool: patch cells that overlap the box (x1/y1 exclusive) at the model's resolution."""
    x0, y0, x1, y1 = box
    c = size / grid
    m = np.zeros((grid, grid), bool)
    m[int(y0 // c): int(math.ceil(y1 / c)), int(x0 // c): int(math.ceil(x1 / c))] = True
    return m.reshape(-1)


def patch_loss(head: torch.nn.Module, image_embeds: torch.Tensor, patch_cls: torch.Tensor, grid: int,
               lead: int = 1):
    """Training-only probe on the image tokens the decoder reads: each patch token must tell its own
    row and column and what covers it (background or which colour/shape pair).

    The head is not part of the checkpoint. It makes the vision side carry "where" explicitly, the
    way PaliGemma's detect task does; without it the first GIT runs never learned left/right/above.
    `lead`: tokens before each frame's grid that the probe skips (GIT's CLS: 1; SigLIP has none: 0).
    Returns (loss, accuracy of the row/column/content predictions)."""
    b, n, d = image_embeds.shape
    per_frame = lead + grid * grid
    frames = n // per_frame
    tok = image_embeds.view(b, frames, per_frame, d)[:, :, lead:].reshape(b, frames * grid * grid, d)
    out = head(tok)
    idx = torch.arange(grid * grid).repeat(frames)
    rows, cols = (idx // grid).expand(b, -1), (idx % grid).expand(b, -1)
    lr, lc, lk = out[..., :grid], out[..., grid:2 * grid], out[..., 2 * grid:]
    loss = (F.cross_entropy(lr.reshape(-1, grid), rows.reshape(-1))
            + F.cross_entropy(lc.reshape(-1, grid), cols.reshape(-1))
            + F.cross_entropy(lk.reshape(-1, lk.shape[-1]), patch_cls.reshape(-1)))
    with torch.no_grad():
        acc = ((lr.argmax(-1) == rows) & (lc.argmax(-1) == cols) & (lk.argmax(-1) == patch_cls)).float().mean()
    return loss, float(acc)


def probe_head(dim: int, grid: int, seed: int) -> torch.nn.Linear:
    """The patch probe's linear head (row, column, content logits), drawn reproducibly from `seed`."""
    head = torch.nn.Linear(dim, 2 * grid + 1 + len(PAIRS))
    with torch.no_grad():
        head.weight.copy_(torch.randn(head.weight.shape, generator=torch.Generator().manual_seed(seed + 3)) * 0.02)
        head.bias.zero_()
    return head
