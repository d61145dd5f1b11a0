"""The ViT encoder layers shared by GIT's CLIP tower and PaliGemma's SigLIP tower (same checkpoint key names).

Pre-LN layers of full (unmasked) self-attention and an MLP; `resize_positions` interpolates a
trained square grid of position embeddings to another patch grid.
Shapes: B batch, N tokens, D hidden size, H heads.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import AttentionRecord, activation, attend, merge_heads, split_heads


def resize_positions(grid_table: torch.Tensor, grid: int, grid_h: int, grid_w: int) -> torch.Tensor:
    """(grid * grid, D) position rows of a square patch grid -> (grid_h * grid_w, D), bicubic (the reference's)."""
    if (grid_h, grid_w) == (grid, grid):
        return grid_table
    table = grid_table.reshape(1, grid, grid, -1).permute(0, 3, 1, 2)
    table = F.interpolate(table, size=(grid_h, grid_w), mode="bicubic", align_corners=False)
    return table.permute(0, 2, 3, 1).reshape(grid_h * grid_w, -1)


class ViTAttention(nn.Module):
    """Full (unmasked) self-attention of a ViT; CLIP and SigLIP share the key names."""

    def __init__(self, cfg):
        super().__init__()
        d = cfg.hidden_size
        self.head_dim = d // cfg.num_attention_heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x: torch.Tensor, record: AttentionRecord = AttentionRecord.NONE):
        q, k, v = (split_heads(p(x), self.head_dim) for p in (self.q_proj, self.k_proj, self.v_proj))
        out, probs = attend(q, k, v, None, record)  # every token sees every token
        return self.out_proj(merge_heads(out)), probs


class ViTMLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.act = activation(cfg.hidden_act)  # CLIP: quick_gelu; SigLIP: tanh GELU
        self.fc1 = nn.Linear(cfg.hidden_size, cfg.intermediate_size)
        self.fc2 = nn.Linear(cfg.intermediate_size, cfg.hidden_size)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class ViTLayer(nn.Module):
    """Pre-LN: x + attn(LN(x)), then x + mlp(LN(x))."""

    def __init__(self, cfg):
        super().__init__()
        self.layer_norm1 = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.self_attn = ViTAttention(cfg)
        self.layer_norm2 = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.mlp = ViTMLP(cfg)

    def forward(self, x, record: AttentionRecord = AttentionRecord.NONE):
        a, probs = self.self_attn(self.layer_norm1(x), record)
        x = x + a
        return x + self.mlp(self.layer_norm2(x)), probs


class ViTEncoder(nn.Module):
    """The layer stack of a CLIP / SigLIP vision tower (`encoder.layers.N` in the checkpoints)."""

    def __init__(self, cfg):
        super().__init__()
        self.layers = nn.ModuleList(ViTLayer(cfg) for _ in range(cfg.num_hidden_layers))

    def forward(self, x: torch.Tensor, record: AttentionRecord | bool = AttentionRecord.NONE):
        """(B, N, D) -> (B, N, D) and the recorded per-layer attentions (B, H, N or 1, N), or None."""
        record = AttentionRecord.of(record)
        attentions = []
        for layer in self.layers:
            x, probs = layer(x, record)
            attentions.append(probs)
        return x, (attentions if record.keep else None)


__all__ = ["ViTAttention", "ViTMLP", "ViTLayer", "ViTEncoder", "resize_positions"]
