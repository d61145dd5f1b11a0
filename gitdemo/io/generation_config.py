"""generation_config.json: the decoding defaults a checkpoint ships, read as the reference reads them.

The reference's `generate` takes its end / pad / start tokens and its length limit from the
checkpoint's generation_config.json where the file exists (falling back to config.json's ids),
and arguments given to `generate` override both. `GenerationDefaults` is that merged view;
`load_model` attaches one to every model as `model.generation_config`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .checkpoint import _read_json, end_tokens

DEFAULT_MAX_NEW_TOKENS = 20  # when neither the call nor the checkpoint sets a length


@dataclass
class GenerationDefaults:
    """Decoding defaults of one checkpoint: generation_config.json's fields over config.json's ids."""

    bos_token_id: int | None = None
    eos_token_ids: list[int] = field(default_factory=list)  # decoding stops at any of them
    pad_token_id: int | None = None
    max_length: int | None = None  # prompt + new tokens (the reference counts input_ids only)
    max_new_tokens: int | None = None  # wins over max_length, as in the reference
    source: str = "config.json"  # where the values came from: "generation_config.json" or "config.json"

    @classmethod
    def from_configs(cls, model_config: Any, generation: dict[str, Any] | None = None) -> "GenerationDefaults":
        """`generation` is generation_config.json's dict ({} or None when the checkpoint has none)."""
        generation = generation or {}

        def pick(name):
            value = generation.get(name)
            return getattr(model_config, name, None) if value is None else value

        eos = generation.get("eos_token_id")
        eos_ids = end_tokens(eos) if eos is not None else list(
            getattr(model_config, "eos_token_ids", None) or end_tokens(getattr(model_config, "eos_token_id", None)))
        length = {k: int(generation[k]) for k in ("max_length", "max_new_tokens") if generation.get(k) is not None}
        return cls(bos_token_id=pick("bos_token_id"), eos_token_ids=eos_ids, pad_token_id=pick("pad_token_id"),
                   source="generation_config.json" if generation else "config.json", **length)

    def new_tokens(self, prompt_length: int) -> int:
        """How many tokens to generate when the call does not say (max_new_tokens, else max_length - prompt)."""
        if self.max_new_tokens is not None:
            return self.max_new_tokens
        if self.max_length is not None:
            return self.max_length - prompt_length
        return DEFAULT_MAX_NEW_TOKENS


def read_generation_config(folder: str | os.PathLike) -> dict[str, Any]:
    """generation_config.json's fields, or {} when the checkpoint has none."""
    path = Path(folder) / "generation_config.json"
    return _read_json(path) if path.is_file() else {}


__all__ = ["GenerationDefaults", "read_generation_config", "DEFAULT_MAX_NEW_TOKENS"]
