"""SigLIP vision tower of PaliGemma: a pre-LN ViT with no class token.

Checkpoint keys (transformers 5.x layout, under `model.vision_tower.`):
  embeddings.patch_embedding (Conv2d with bias), embeddings.position_embedding (one row per patch),
  encoder.layers.N.{layer_norm1, self_attn.{q,k,v,out}_proj, layer_norm2, mlp.fc1, mlp.fc2},
  post_layernorm (applied to every patch token: there is no class token to pool).
Shapes: B batch, N patches (grid x grid), D hidden size.
"""
from __future__ import annotations

import torch
from torch import nn

from ...errors import InputError
from ..layers import AttentionRecord, embedding
from ..vit import ViTEncoder, ViTMLP, resize_positions
from .config import SiglipVisionConfig


class SiglipVisionEmbeddings(nn.Module):
    def __init__(self, cfg: SiglipVisionConfig):
        super().__init__()
        self.cfg = cfg
        self.patch_embedding = nn.Conv2d(cfg.num_channels, cfg.hidden_size, cfg.patch_size, cfg.patch_size)
        self.position_embedding = embedding(cfg.num_image_tokens, cfg.hidden_size)

    def positions(self, grid_h: int, grid_w: int) -> torch.Tensor:
        """(grid_h * grid_w, D); bicubic interpolation of the trained grid for other image sizes."""
        return resize_positions(self.position_embedding.weight, self.cfg.grid, grid_h, grid_w)

    def forward(self, pixel_values: torch.Tensor, interpolate_pos_encoding: bool = False) -> torch.Tensor:
        if pixel_values.ndim != 4 or pixel_values.shape[1] != self.cfg.num_channels:
            raise InputError(f"pixel_values must be (batch, {self.cfg.num_channels}, height, width), "
                             f"got shape {tuple(pixel_values.shape)}.")
        h, w = pixel_values.shape[-2:]
        size = self.cfg.image_size
        if (h, w) != (size, size) and not interpolate_pos_encoding:
            raise InputError(f"This model expects {size}x{size} images, got {h}x{w}.")
        if h < self.cfg.patch_size or w < self.cfg.patch_size:
            raise InputError(f"Images must be at least {self.cfg.patch_size} pixels on each side, got {h}x{w}.")
        x = self.patch_embedding(pixel_values.to(self.patch_embedding.weight.dtype))  # (B, D, gh, gw)
        gh, gw = x.shape[-2:]
        # contiguous: a transposed view would carry its layout down the whole residual stream,
        # making every norm and matmul of the tower copy or stride (about 2x slower on CPU)
        return x.flatten(2).transpose(1, 2).contiguous() + self.positions(gh, gw)  # (B, N, D)


class SiglipPoolingHead(nn.Module):
    """SigLIP's attention-pooling head. PaliGemma never uses it; it exists only so that a config
    with vision_use_head = true (SigLIP's default) loads its weights with strict key checking."""

    def __init__(self, cfg: SiglipVisionConfig):
        super().__init__()
        self.probe = nn.Parameter(torch.zeros(1, 1, cfg.hidden_size))
        self.attention = nn.MultiheadAttention(cfg.hidden_size, cfg.num_attention_heads, batch_first=True)
        self.layernorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.mlp = ViTMLP(cfg)


class SiglipVisionModel(nn.Module):
    def __init__(self, cfg: SiglipVisionConfig):
        super().__init__()
        self.config = cfg
        self.embeddings = SiglipVisionEmbeddings(cfg)
        self.encoder = ViTEncoder(cfg)
        self.post_layernorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        if cfg.vision_use_head:
            self.head = SiglipPoolingHead(cfg)

    def forward(self, pixel_values: torch.Tensor, record: AttentionRecord = AttentionRecord.NONE,
                interpolate_pos_encoding: bool = False) -> tuple[torch.Tensor, list[torch.Tensor] | None]:
        """(B, 3, H, W) -> patch features (B, N, D) and the recorded per-layer attentions (B, H, N, N), or None."""
        x, attentions = self.encoder(self.embeddings(pixel_values, interpolate_pos_encoding), record)
        return self.post_layernorm(x), attentions


__all__ = ["SiglipVisionModel"]
