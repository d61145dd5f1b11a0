"""GIT's image side: a CLIP ViT (pre-LN) and the linear projection into the decoder's width.

Checkpoint keys under `git.image_encoder.vision_model.` (embeddings.{class_embedding, patch_embedding,
position_embedding}, pre_layrnorm [sic], encoder.layers.N.*, post_layernorm) and
`git.visual_projection.visual_projection.{0,1}`. Quirk reproduced on purpose: `post_layernorm`
applies to *every* token, not just CLS.
Shapes: B batch, N tokens (1 + grid^2), Dv vision width, D decoder width.
"""
from __future__ import annotations

import torch
from torch import nn

from ...errors import InputError
from ..layers import AttentionRecord, embedding
from ..vit import ViTEncoder, resize_positions
from .config import GitConfig, GitVisionConfig


class GitVisionEmbeddings(nn.Module):
    def __init__(self, cfg: GitVisionConfig):
        super().__init__()
        self.cfg = cfg
        self.class_embedding = nn.Parameter(torch.zeros(cfg.hidden_size))
        self.patch_embedding = nn.Conv2d(cfg.num_channels, cfg.hidden_size, cfg.patch_size, cfg.patch_size, bias=False)
        self.position_embedding = embedding(cfg.num_tokens, cfg.hidden_size)

    def positions(self, grid_h: int, grid_w: int) -> torch.Tensor:
        """(1 + grid_h * grid_w, D): the CLS row, then the patch rows (interpolated for other sizes)."""
        table = self.position_embedding.weight
        if (grid_h, grid_w) == (self.cfg.grid, self.cfg.grid):
            return table
        return torch.cat([table[:1], resize_positions(table[1:], self.cfg.grid, grid_h, grid_w)])

    def forward(self, pixel_values: torch.Tensor, interpolate_pos_encoding: bool = False) -> torch.Tensor:
        b, _, h, w = pixel_values.shape
        size = self.cfg.image_size
        if (h, w) != (size, size) and not interpolate_pos_encoding:
            raise InputError(f"The model expects {size}x{size} images, got {h}x{w}.")
        patches = self.patch_embedding(pixel_values.to(self.patch_embedding.weight.dtype))  # (B, D, gh, gw)
        gh, gw = patches.shape[-2:]
        patches = patches.flatten(2).transpose(1, 2)  # (B, gh*gw, D)
        cls = self.class_embedding.expand(b, 1, -1)
        return torch.cat([cls, patches], dim=1) + self.positions(gh, gw)


class ClipVisionTransformer(nn.Module):
    def __init__(self, cfg: GitVisionConfig):
        super().__init__()
        self.embeddings = GitVisionEmbeddings(cfg)
        self.pre_layrnorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)  # sic: the checkpoint's key
        self.encoder = ViTEncoder(cfg)
        self.post_layernorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)

    def forward(self, pixel_values, record: AttentionRecord = AttentionRecord.NONE, interpolate_pos_encoding=False):
        """(B, 3, H, W) -> features (B, N, Dv) and the recorded per-layer attentions (B, H, N or 1, N), or None."""
        x = self.pre_layrnorm(self.embeddings(pixel_values, interpolate_pos_encoding))
        x, attentions = self.encoder(x, record)
        return self.post_layernorm(x), attentions


class GitVisionModel(nn.Module):
    def __init__(self, cfg: GitVisionConfig):
        super().__init__()
        self.vision_model = ClipVisionTransformer(cfg)


class GitProjection(nn.Module):
    def __init__(self, cfg: GitConfig):
        super().__init__()
        self.visual_projection = nn.Sequential(
            nn.Linear(cfg.vision_config.hidden_size, cfg.hidden_size),
            nn.LayerNorm(cfg.hidden_size, eps=cfg.vision_config.layer_norm_eps),
        )

    def forward(self, x):
        return self.visual_projection(x)


__all__ = ["GitVisionModel", "GitProjection", "ClipVisionTransformer", "GitVisionEmbeddings"]
