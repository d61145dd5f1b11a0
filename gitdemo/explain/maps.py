"""Attention records -> maps over the patch grid.

A record holds, for each generated token, the attention of the query that produced it:
(layers L, heads H, keys K) with the image tokens first. `ImageLayout` says how those image
tokens lie: F frames, each (optionally) one CLS token then rows x cols patches in raster order.

The app's **default view** (also the CLI's `attention` grid and what the pointing score of the
embedded model reads): the producing query's attention over image patches, averaged over all
layers and heads, with the CLS tokens left out and the rest renormalised to sum to 1.
Attention is not explanation: these maps show where the model *read*, not *why* it decided.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

# the maps a token's heatmap can show; the default is the one the deletion test justifies (docs/faithfulness.md)
VIEWS = ("attention", "rollout", "relevancy")
DEFAULT_VIEW = "attention"
VIEW_TITLES = {"attention": "raw attention", "rollout": "attention rollout", "relevancy": "relevancy (Chefer)"}


@dataclass(frozen=True)
class ImageLayout:
    num_frames: int
    rows: int
    cols: int
    has_cls: bool = True  # GIT: each frame starts with CLIP's class token; PaliGemma (SigLIP): none

    @property
    def per_frame(self) -> int:
        return self.rows * self.cols + int(self.has_cls)

    @property
    def num_image_tokens(self) -> int:
        return self.num_frames * self.per_frame

    @classmethod
    def for_model(cls, model, num_frames: int = 1) -> "ImageLayout":
        cfg = model.config
        v = cfg.vision_config
        grid = v.image_size // v.patch_size
        return cls(num_frames, grid, grid, has_cls=getattr(cfg, "model_type", "git") == "git")


def stack_step(step_attentions: list[torch.Tensor], row: int = 0) -> torch.Tensor:
    """Per-layer (B, H, K) tensors of one step -> (L, H, K) for batch row `row`."""
    return torch.stack([a[row].float() for a in step_attentions])


def select(att: torch.Tensor, layer="mean", head="mean") -> torch.Tensor:
    """(L, H, K) -> (K,): one layer or the mean over layers; one head, or the mean / max over heads."""
    a = att if layer in ("mean", None) else att[int(layer)][None]
    if head in ("mean", None):
        a = a.mean(1)
    elif head == "max":
        a = a.max(1).values
    else:
        a = a[:, int(head)]
    return a.mean(0)


def split_image(vec: torch.Tensor, layout: ImageLayout, drop_sink: bool = True, renormalise: bool = True) -> np.ndarray:
    """Key vector (K,) -> (F, rows, cols) over the patches.

    With `drop_sink` the CLS tokens are left out (they soak up attention without a place in the
    image); with `renormalise` the patches of all frames sum to 1, so maps are comparable.
    """
    n = layout.num_image_tokens
    img = vec[:n].reshape(layout.num_frames, layout.per_frame)
    patches = img[:, int(layout.has_cls):] if layout.has_cls else img
    out = patches.reshape(layout.num_frames, layout.rows, layout.cols).double()
    if renormalise:
        total = out.sum()
        out = out / total if total > 0 else out
    return out.cpu().numpy()


def default_view(att: torch.Tensor, layout: ImageLayout) -> np.ndarray:
    """The app's default map for one token: mean over layers and heads, CLS left out, renormalised."""
    return split_image(select(att, "mean", "mean"), layout, drop_sink=True)


def image_share(att: torch.Tensor, layout: ImageLayout) -> dict[str, float]:
    """Share of the token's attention (mean over layers and heads) on image patches, CLS sinks, and text."""
    vec = select(att)
    n = layout.num_image_tokens
    img = vec[:n].reshape(layout.num_frames, layout.per_frame)
    cls = float(img[:, 0].sum()) if layout.has_cls else 0.0
    total = float(vec.sum()) or 1.0
    return {"image": (float(img.sum()) - cls) / total, "cls": cls / total, "text": float(vec[n:].sum()) / total}


def frame_split(att: torch.Tensor, layout: ImageLayout) -> list[float]:
    """How the token's patch attention divides across video frames (sums to 1)."""
    m = default_view(att, layout)
    return [float(x) for x in m.reshape(layout.num_frames, -1).sum(1)]


def rollout(full_attentions: list[torch.Tensor], row: int = 0, residual: float = 0.5) -> torch.Tensor:
    """Attention rollout (Abnar & Zuidema): multiply head-averaged, residual-mixed attention through layers.

    full_attentions: per layer (B, H, S, S) from one teacher-forced pass. Returns (S, S): how much
    each position (row) draws, through all layers, on each input position (column).
    """
    result = None
    for a in full_attentions:
        a = a[row].float().mean(0)
        a = residual * torch.eye(a.shape[-1]) + (1 - residual) * a
        a = a / a.sum(-1, keepdim=True)
        result = a if result is None else a @ result
    return result


def vision_cls_maps(vision_attentions: list[torch.Tensor], layout: ImageLayout, head="mean") -> list[np.ndarray]:
    """The vision encoder's own attention: CLS query -> patches, per layer, as (F, rows, cols) maps.

    vision_attentions: per layer (F, H, n, n) for one input (the frames of one video, or 1 image).
    """
    maps = []
    for a in vision_attentions:
        cls_row = a[:, :, 0].float()  # (F, H, n)
        v = cls_row.mean(1) if head == "mean" else (cls_row.max(1).values if head == "max" else cls_row[:, int(head)])
        grid = v[:, 1:] if layout.has_cls else v
        grid = grid / grid.sum().clamp(min=1e-12)
        maps.append(grid.reshape(layout.num_frames, layout.rows, layout.cols).cpu().numpy())
    return maps


__all__ = ["VIEWS", "DEFAULT_VIEW", "VIEW_TITLES", "ImageLayout", "stack_step", "select", "split_image", "default_view", "image_share", "frame_split",
           "rollout", "vision_cls_maps"]
