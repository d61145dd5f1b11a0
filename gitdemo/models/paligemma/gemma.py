"""The Gemma decoder of PaliGemma and the Gemma 2 decoder of PaliGemma 2.

Checkpoint keys (under `model.language_model.`): embed_tokens, norm, and per layer
layers.N.{input_layernorm, self_attn.{q,k,v,o}_proj, post_attention_layernorm, mlp.{gate,up,down}_proj}
plus, in Gemma 2, layers.N.{pre_feedforward_layernorm, post_feedforward_layernorm}.
Quirks reproduced on purpose (each cited where it happens):
  * RMSNorm multiplies by (1 + weight), computed in float32, then cast back;
  * token embeddings are scaled by sqrt(hidden) cast to the embedding dtype (image tokens are not);
  * rotary cos/sin are computed in float32 and cast to the activations' dtype before use;
  * Gemma 2: attention scale query_pre_attn_scalar ** -0.5, tanh soft-capping of attention scores,
    norms after attention and MLP too, and sliding-window layers (every other one, the first included).
Shapes: B batch, Q new positions, K keys (cached + new), H heads, Hkv key/value heads, Dh head size.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..layers import AttentionRecord, KVCache, activation, attend, embedding, mask_for_new, merge_heads, split_heads
from .config import GemmaTextConfig


class GemmaRMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.zeros(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return (xf * (1.0 + self.weight.float())).type_as(x)  # Gemma: 1 + weight, in float32


def rotary(position_ids: torch.Tensor, head_dim: int, theta: float, dtype: torch.dtype):
    """cos, sin (B, L, Dh) for integer positions (B, L): float32 math, then the activations' dtype."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float, device=position_ids.device) / head_dim))
    freqs = position_ids[..., None].float() * inv_freq  # (B, L, Dh/2)
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Apply RoPE to (B, H, L, Dh) with cos/sin (B, L, Dh): the two halves form the complex pairs."""
    cos, sin = cos[:, None], sin[:, None]
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rotated * sin


class GemmaAttention(nn.Module):
    def __init__(self, cfg: GemmaTextConfig, index: int):
        super().__init__()
        self.index = index
        self.head_dim = cfg.head_dim
        self.scale = cfg.attention_scale
        self.softcap = cfg.attn_logit_softcapping if cfg.is_gemma2 else None
        d, h, hkv, dh, bias = (cfg.hidden_size, cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim,
                               cfg.attention_bias)
        self.q_proj = nn.Linear(d, h * dh, bias=bias)
        self.k_proj = nn.Linear(d, hkv * dh, bias=bias)
        self.v_proj = nn.Linear(d, hkv * dh, bias=bias)
        self.o_proj = nn.Linear(h * dh, d, bias=bias)

    def forward(self, x, cos, sin, mask, cache: KVCache | None, record: AttentionRecord):
        q = rotate(split_heads(self.q_proj(x), self.head_dim), cos, sin)  # (B, H, Q, Dh)
        k = rotate(split_heads(self.k_proj(x), self.head_dim), cos, sin)  # (B, Hkv, Q, Dh)
        v = split_heads(self.v_proj(x), self.head_dim)
        if cache is not None:
            k, v = cache.update(self.index, k, v)  # (B, Hkv, K, Dh)
        out, probs = attend(q, k, v, mask, record.at(self.index), scale=self.scale, softcap=self.softcap)
        return self.o_proj(merge_heads(out)), probs


class GemmaMLP(nn.Module):
    """GeGLU: down(gelu_tanh(gate(x)) * up(x))."""

    def __init__(self, cfg: GemmaTextConfig):
        super().__init__()
        self.act = activation(cfg.activation)
        self.gate_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.up_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(self.act(self.gate_proj(x)) * self.up_proj(x))


class GemmaDecoderLayer(nn.Module):
    def __init__(self, cfg: GemmaTextConfig, index: int):
        super().__init__()
        self.gemma2 = cfg.is_gemma2
        self.window = cfg.window(index)
        self.input_layernorm = GemmaRMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = GemmaAttention(cfg, index)
        self.post_attention_layernorm = GemmaRMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp = GemmaMLP(cfg)
        if self.gemma2:
            self.pre_feedforward_layernorm = GemmaRMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
            self.post_feedforward_layernorm = GemmaRMSNorm(cfg.hidden_size, cfg.rms_norm_eps)

    def forward(self, x, cos, sin, mask, cache, record: AttentionRecord):
        a, probs = self.self_attn(self.input_layernorm(x), cos, sin, mask, cache, record)
        if self.gemma2:  # Gemma 2 normalises each sublayer's output as well as its input
            x = x + self.post_attention_layernorm(a)
            return x + self.post_feedforward_layernorm(self.mlp(self.pre_feedforward_layernorm(x))), probs
        x = x + a  # Gemma: plain pre-norm; "post_attention_layernorm" is the MLP's input norm
        return x + self.mlp(self.post_attention_layernorm(x)), probs


def sliding(mask: torch.Tensor, query_rank, key_rank, first_query: int, window: int) -> torch.Tensor:
    """Restrict a (B, 1, Q, K) mask to keys fewer than `window` positions back, as the reference's
    sliding layers do; a bidirectional block (equal ranks) is kept whole, whatever its length."""
    q, k = mask.shape[-2:]
    dist = (first_query + torch.arange(q, device=mask.device))[:, None] - torch.arange(k, device=mask.device)
    same_block = (query_rank[:, :, None] == key_rank[:, None, :])[:, None]  # (B, 1, Q, K)
    return mask & ((dist < window) | same_block)


class GemmaModel(nn.Module):
    def __init__(self, cfg: GemmaTextConfig):
        super().__init__()
        self.config = cfg
        self.embed_tokens = embedding(cfg.vocab_size, cfg.hidden_size, cfg.pad_token_id)
        self.layers = nn.ModuleList(GemmaDecoderLayer(cfg, i) for i in range(cfg.num_hidden_layers))
        self.norm = GemmaRMSNorm(cfg.hidden_size, cfg.rms_norm_eps)

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Token embeddings times sqrt(hidden), the factor first cast to the embedding dtype (the reference's)."""
        w = self.embed_tokens.weight
        return self.embed_tokens(input_ids) * torch.tensor(math.sqrt(self.config.hidden_size)).to(w.dtype)

    def masks(self, ranks, valid, cache: KVCache | None) -> tuple[torch.Tensor, torch.Tensor | None, int]:
        """Full-attention mask (B, 1, Q, K) from the one mask rule, and the sliding layers' version."""
        first = 0 if cache is None else cache.length
        full, key_ranks = mask_for_new(ranks, valid, cache)
        windows = {layer.window for layer in self.layers} - {None}
        window = min(windows) if windows else None  # Gemma 2 has a single window size
        local = None if window is None else sliding(full, ranks, key_ranks, first, window)
        return full, local, first

    def forward(self, embeds: torch.Tensor, position_ids: torch.Tensor, ranks: torch.Tensor, valid: torch.Tensor,
                cache: KVCache | None = None, record: AttentionRecord | bool = AttentionRecord.NONE):
        """Decode new positions `embeds` (B, Q, D) on top of `cache` -> final hidden states, the recorded
        per-layer attentions (B, H, Q or 1, K) or None.

        `ranks`/`valid` (B, Q) place the new positions in the mask rule (equal ranks see each other);
        the cache remembers them, so a later step only brings its own.
        """
        record = AttentionRecord.of(record)  # the trainer calls this stack directly, with a bool
        full, local, _ = self.masks(ranks, valid, cache)
        cos, sin = rotary(position_ids, self.config.head_dim, self.config.rope_theta, embeds.dtype)
        x, attentions = embeds, []
        for layer in self.layers:
            x, probs = layer(x, cos, sin, full if layer.window is None else local, cache, record)
            attentions.append(probs)
        return self.norm(x), (attentions if record.keep else None)


__all__ = ["GemmaModel", "GemmaRMSNorm", "embedding", "rotary", "rotate"]
