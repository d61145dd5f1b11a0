"""Typed configs of PaliGemma (SigLIP + Gemma) and PaliGemma 2 (SigLIP + Gemma 2), from config.json.

The rule for defaults is the reference's: a sub-config given as a dict is completed with the
defaults of *its own* class (GemmaConfig, Gemma2Config, SiglipVisionConfig); only a sub-config
missing altogether takes PaliGemma's defaults (the 3B, 224 px model). So a text_config that
lists a handful of fields (as google/paligemma-3b-pt-224's does) relies on Gemma's defaults,
e.g. head_dim 256 and rms_norm_eps 1e-6. Unknown keys are ignored.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...errors import CheckpointError
from ...io.checkpoint import end_tokens, known_fields, square_size


# ----------------------------------------------------------------------------- SigLIP
@dataclass
class SiglipVisionConfig:
    """SigLIP ViT (So400m/14 in every PaliGemma): patch grid, no class token."""

    hidden_size: int = 768
    intermediate_size: int = 3072
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    num_channels: int = 3
    image_size: int = 224  # 448 / 896 in the *-448 / *-896 checkpoints
    patch_size: int = 16  # 14 in PaliGemma
    hidden_act: str = "gelu_pytorch_tanh"
    layer_norm_eps: float = 1e-6
    vision_use_head: bool = True  # SigLIP's pooling head; PaliGemma configs say false (unused here anyway)
    projection_dim: int = 2048  # set from the top-level config: the projector's output size

    def __post_init__(self):
        self.image_size = square_size(self.image_size, "image size")
        self.patch_size = square_size(self.patch_size, "patch size")
        if self.image_size % self.patch_size:
            raise CheckpointError(f"image_size {self.image_size} is not a multiple of patch_size {self.patch_size}.")
        if self.hidden_size % self.num_attention_heads:
            raise CheckpointError(f"vision hidden_size {self.hidden_size} is not divisible by "
                                  f"num_attention_heads {self.num_attention_heads}.")

    @property
    def grid(self) -> int:
        return self.image_size // self.patch_size

    @property
    def num_image_tokens(self) -> int:
        """Image tokens in the prompt: one per patch (256 at 224 px, 1024 at 448, 4096 at 896)."""
        return self.grid * self.grid


# The reference's defaults when config.json has no vision_config / text_config at all.
PALIGEMMA_VISION_DEFAULTS = dict(intermediate_size=4096, hidden_size=1152, patch_size=14, image_size=224,
                                 num_hidden_layers=27, num_attention_heads=16, vision_use_head=False)
PALIGEMMA_TEXT_DEFAULTS = dict(model_type="gemma", hidden_size=2048, num_hidden_layers=18, intermediate_size=16384,
                               num_attention_heads=8, num_key_value_heads=1, vocab_size=257152)


# ----------------------------------------------------------------------------- Gemma / Gemma 2
@dataclass
class GemmaTextConfig:
    """The Gemma (PaliGemma) or Gemma 2 (PaliGemma 2) decoder. Defaults are GemmaConfig's;
    `from_dict` switches to Gemma2Config's when model_type is "gemma2"."""

    model_type: str = "gemma"
    vocab_size: int = 256000
    hidden_size: int = 3072
    intermediate_size: int = 24576
    num_hidden_layers: int = 28
    num_attention_heads: int = 16
    num_key_value_heads: int = 16  # 1 in PaliGemma (multi-query), 4 / 8 in PaliGemma 2 (grouped-query)
    head_dim: int = 256
    hidden_act: str = "gelu_pytorch_tanh"  # Gemma's MLP reads hidden_act ("gelu" means tanh-gelu here)
    hidden_activation: str = "gelu_pytorch_tanh"  # Gemma 2's MLP reads this one
    max_position_embeddings: int = 8192
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    attention_bias: bool = False
    pad_token_id: int | None = 0
    bos_token_id: int | None = 2
    eos_token_id: int | list[int] | None = 1
    tie_word_embeddings: bool = True
    # Gemma 2 only (None / unused for Gemma)
    query_pre_attn_scalar: float | None = None  # attention scale is query_pre_attn_scalar ** -0.5
    sliding_window: int | None = None
    layer_types: list[str] | None = None  # "sliding_attention" / "full_attention" per layer
    final_logit_softcapping: float | None = None
    attn_logit_softcapping: float | None = None

    def __post_init__(self):
        if self.model_type not in ("gemma", "gemma2"):
            raise CheckpointError(f"text_config model_type '{self.model_type}' is not supported: "
                                  f"PaliGemma uses 'gemma', PaliGemma 2 'gemma2'.")
        if self.hidden_act == "gelu":  # legacy Gemma configs: the tanh approximation is meant
            self.hidden_act = "gelu_pytorch_tanh"
        if self.num_attention_heads % self.num_key_value_heads:
            raise CheckpointError(f"num_attention_heads {self.num_attention_heads} is not a multiple of "
                                  f"num_key_value_heads {self.num_key_value_heads}.")
        if self.is_gemma2 and self.layer_types is None:  # sliding first, then alternating
            self.layer_types = ["sliding_attention" if (i + 1) % 2 else "full_attention"
                                for i in range(self.num_hidden_layers)]
        if self.layer_types is not None and len(self.layer_types) != self.num_hidden_layers:
            raise CheckpointError(f"layer_types lists {len(self.layer_types)} layers, "
                                  f"num_hidden_layers is {self.num_hidden_layers}.")

    @property
    def is_gemma2(self) -> bool:
        return self.model_type == "gemma2"

    @property
    def activation(self) -> str:
        return self.hidden_activation if self.is_gemma2 else self.hidden_act

    @property
    def attention_scale(self) -> float:
        base = self.query_pre_attn_scalar if self.is_gemma2 and self.query_pre_attn_scalar else self.head_dim
        return float(base) ** -0.5

    def window(self, layer: int) -> int | None:
        """The sliding window of `layer` (None: full attention)."""
        if not self.is_gemma2 or self.sliding_window is None or self.layer_types is None:
            return None
        return self.sliding_window if self.layer_types[layer] == "sliding_attention" else None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "GemmaTextConfig":
        data = dict(data)
        kind = data.get("model_type", "gemma")
        defaults: dict[str, Any] = {}
        if kind == "gemma2":  # Gemma2Config's defaults
            defaults = dict(hidden_size=2304, intermediate_size=9216, num_hidden_layers=26, num_attention_heads=8,
                            num_key_value_heads=4, query_pre_attn_scalar=256, sliding_window=4096,
                            final_logit_softcapping=30.0, attn_logit_softcapping=50.0)
        rope = data.get("rope_parameters") or data.get("rope_scaling") or {}
        if rope.get("rope_type", rope.get("type", "default")) not in ("default", None):
            raise CheckpointError(f"RoPE type '{rope.get('rope_type', rope.get('type'))}' is not supported "
                                  f"(PaliGemma uses the default rotary embedding).")
        if "rope_theta" in rope:
            data["rope_theta"] = rope["rope_theta"]
        return cls(**{**defaults, **known_fields(cls, data)})


# ----------------------------------------------------------------------------- PaliGemma
@dataclass
class PaliGemmaConfig:
    """The whole model: vision tower, linear projector, decoder; token ids for generation."""

    vision_config: SiglipVisionConfig = field(default_factory=lambda: SiglipVisionConfig(**PALIGEMMA_VISION_DEFAULTS))
    text_config: GemmaTextConfig = field(default_factory=lambda: GemmaTextConfig.from_dict(PALIGEMMA_TEXT_DEFAULTS))
    image_token_index: int = 256000  # the <image> placeholder id (257152 in the released checkpoints)
    projection_dim: int = 2048
    hidden_size: int = 2048
    tie_word_embeddings: bool = True
    bos_token_id: int | None = None  # None: the text config's (2)
    eos_token_id: int | list[int] | None = None  # None: the text config's (1)
    pad_token_id: int | None = None  # None: the text config's (0)
    model_type: str = "paligemma"

    def __post_init__(self):
        if isinstance(self.text_config, dict):
            self.text_config = GemmaTextConfig.from_dict(self.text_config)
        if isinstance(self.vision_config, dict):
            self.vision_config = SiglipVisionConfig(**known_fields(SiglipVisionConfig, self.vision_config))
        self.vision_config.projection_dim = self.projection_dim
        t = self.text_config
        if self.projection_dim != t.hidden_size:
            raise CheckpointError(f"projection_dim {self.projection_dim} differs from the decoder's hidden_size "
                                  f"{t.hidden_size}: image tokens could not join the text.")
        for name in ("bos_token_id", "eos_token_id", "pad_token_id"):
            if getattr(self, name) is None:
                setattr(self, name, getattr(t, name))
        # PaliGemma 2 lists [1, 107] (<eos>, <end_of_turn>): generation stops at any (`eos_token_ids`)
        self.eos_token_ids = end_tokens(self.eos_token_id)
        self.eos_token_id = self.eos_token_ids[0] if self.eos_token_ids else None

    @property
    def image_token_id(self) -> int:
        return self.image_token_index

    @property
    def num_image_tokens(self) -> int:
        return self.vision_config.num_image_tokens

    @property
    def vocab_size(self) -> int:
        return self.text_config.vocab_size

    @property
    def num_hidden_layers(self) -> int:
        return self.text_config.num_hidden_layers

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PaliGemmaConfig":
        if data.get("model_type") not in (None, "paligemma"):
            raise CheckpointError(f"This is a '{data.get('model_type')}' checkpoint, not a PaliGemma one "
                                  f"(config.json model_type must be 'paligemma').")
        data = dict(data)
        if "image_token_id" in data and "image_token_index" not in data:
            data["image_token_index"] = data["image_token_id"]
        if data.get("text_config") is None:
            data["text_config"] = dict(PALIGEMMA_TEXT_DEFAULTS)
        if data.get("vision_config") is None:
            data["vision_config"] = dict(PALIGEMMA_VISION_DEFAULTS)
        return cls(**known_fields(cls, data))


__all__ = ["PaliGemmaConfig", "SiglipVisionConfig", "GemmaTextConfig"]
