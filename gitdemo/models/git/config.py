"""GIT's typed configs, read from a checkpoint's `config.json`.

Each dataclass keeps only the fields our code uses; unknown keys in the JSON are ignored
(`from_dict`), missing ones take the defaults of microsoft/git-base.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ...errors import CheckpointError
from ...io.checkpoint import end_tokens, known_fields, square_size


@dataclass
class GitVisionConfig:
    """The CLIP ViT image encoder (ViT-B/16 in git-base, ViT-L/14 in git-large)."""

    hidden_size: int = 768
    intermediate_size: int = 3072
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    num_channels: int = 3
    image_size: int = 224  # 480 in the *-textvqa / *-vqav2 checkpoints
    patch_size: int = 16  # 14 in git-large
    hidden_act: str = "quick_gelu"  # CLIP's x * sigmoid(1.702 x)
    layer_norm_eps: float = 1e-5

    def __post_init__(self):
        self.image_size = square_size(self.image_size, "image size")
        self.patch_size = square_size(self.patch_size, "patch size")

    @property
    def grid(self) -> int:
        """Patches per side of the square patch grid."""
        return self.image_size // self.patch_size

    @property
    def num_tokens(self) -> int:
        """Tokens per image: one class token + grid x grid patches."""
        return self.grid * self.grid + 1


@dataclass
class GitConfig:
    """The BERT-style text decoder plus the vision config; the ids are bert-base-uncased's."""

    vision_config: GitVisionConfig = field(default_factory=GitVisionConfig)
    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 6
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    max_position_embeddings: int = 1024
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0
    bos_token_id: int = 101  # [CLS]
    eos_token_id: int | list[int] = 102  # [SEP]
    num_image_with_embedding: int | None = None  # frames with a temporal embedding (video checkpoints: 6)
    tie_word_embeddings: bool = False
    model_type: str = "git"

    def __post_init__(self):
        if isinstance(self.vision_config, dict):
            self.vision_config = GitVisionConfig(**known_fields(GitVisionConfig, self.vision_config))
        # Some configs list several end tokens: generation stops at any (`eos_token_ids`); the first
        # stays `eos_token_id`, the one training appends.
        self.eos_token_ids = end_tokens(self.eos_token_id)
        self.eos_token_id = self.eos_token_ids[0] if self.eos_token_ids else None
        if self.hidden_size % self.num_attention_heads:
            raise CheckpointError(
                f"hidden_size {self.hidden_size} is not divisible by num_attention_heads {self.num_attention_heads}."
            )
        v = self.vision_config
        if v.hidden_size % v.num_attention_heads:
            raise CheckpointError(
                f"vision hidden_size {v.hidden_size} is not divisible by num_attention_heads {v.num_attention_heads}."
            )

    @property
    def num_frames(self) -> int:
        """Frames the checkpoint was trained on (1 for image checkpoints)."""
        return self.num_image_with_embedding or 1

    @property
    def num_image_tokens(self) -> int:
        """Image tokens in front of the text: (grid^2 + 1) per frame."""
        return self.vision_config.num_tokens * self.num_frames

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "GitConfig":
        if data.get("model_type") not in (None, "git"):
            raise CheckpointError(
                f"This is a '{data.get('model_type')}' checkpoint, not a GIT one (config.json model_type must be 'git')."
            )
        return cls(**known_fields(cls, data))

    def to_dict(self) -> dict[str, Any]:
        """The config.json layout that `transformers` reads."""
        d = dataclasses.asdict(self)
        d["architectures"] = ["GitForCausalLM"]
        d["vision_config"]["model_type"] = "git_vision_model"
        if len(self.eos_token_ids) > 1:
            d["eos_token_id"] = list(self.eos_token_ids)
        if d["num_image_with_embedding"] is None:
            del d["num_image_with_embedding"]
        return d


__all__ = ["GitVisionConfig", "GitConfig"]
