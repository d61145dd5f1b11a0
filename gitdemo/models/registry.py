"""`load_model`: any supported checkpoint (folder or Hub id) -> our model, weights strictly checked.

`build_model` picks the family from config.json's model_type ("git" or "paligemma").
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import torch

from ..errors import CheckpointError
from ..io.assets import ASSETS, EMBEDDED_GIT, default_model_path  # noqa: F401  (re-exported)
from ..io.checkpoint import load_into, load_state_dict, read_config_json
from ..io.generation_config import GenerationDefaults, read_generation_config
from ..io.hub import resolve
from .precision import FLOAT_DTYPES, apply_precision, load_dtype, parse_precision

DTYPES = {
    "float32": torch.float32, "fp32": torch.float32, "float": torch.float32,
    "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
    "float16": torch.float16, "fp16": torch.float16, "half": torch.float16,
}


# The dtype `load_model` picks when none is asked for. GIT: float32, as its configs say. PaliGemma:
# bfloat16, although its configs say float32: the 3B model needs 5.9 GB of memory in bfloat16 and
# 14.9 GB in float32 (CPU), and bfloat16 is the precision it was trained in. dtype="auto" follows the
# checkpoint instead (config.json's dtype / torch_dtype, else its weights), like the reference's.
DEFAULT_DTYPES = {"git": torch.float32, "paligemma": torch.bfloat16}


def parse_dtype(dtype) -> torch.dtype | None:
    if dtype is None or dtype == "auto" or isinstance(dtype, torch.dtype):
        return None if dtype == "auto" else dtype
    try:
        return DTYPES[str(dtype).lower()]
    except KeyError:
        raise CheckpointError(f"Unknown dtype '{dtype}'; use float32, bfloat16 or float16.") from None


def config_dtype(raw_config: dict, state: dict[str, torch.Tensor] | None = None) -> torch.dtype:
    """What dtype="auto" means: the config's `dtype` (transformers 5) or `torch_dtype` field, else the
    dtype of the checkpoint's first floating-point tensor, else float32 (the reference's order)."""
    for key in ("dtype", "torch_dtype"):
        value = raw_config.get(key)
        if value not in (None, "auto"):
            return parse_dtype(str(value).replace("torch.", ""))
    for tensor in (state or {}).values():
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.float32


def choose_dtype(dtype, raw_config: dict, state: dict[str, torch.Tensor] | None = None) -> torch.dtype:
    """The dtype `load_model` loads in: the one asked for, "auto" (the checkpoint's), or the family default."""
    if isinstance(dtype, str) and dtype.lower() == "auto":
        return config_dtype(raw_config, state)
    return parse_dtype(dtype) or DEFAULT_DTYPES.get(raw_config.get("model_type"), torch.float32)


def build_model(raw_config: dict, meta: bool = False):
    """An uninitialised model for a config.json dict (on the meta device if `meta`)."""
    kind = raw_config.get("model_type")
    if kind == "git":
        from .git import GitConfig, GitForCausalLM

        cfg, cls, tied = GitConfig.from_dict(raw_config), GitForCausalLM, {}
    elif kind == "paligemma":
        try:
            from .paligemma import PaliGemmaConfig, PaliGemmaForConditionalGeneration
        except ImportError as exc:
            raise CheckpointError("PaliGemma support is not available in this build.") from exc
        cfg, cls = PaliGemmaConfig.from_dict(raw_config), PaliGemmaForConditionalGeneration
        tied = cls.tied_weights(cfg)
    else:
        raise CheckpointError(f"Unsupported model_type '{kind}' in config.json: gitdemo runs GIT ('git') "
                              f"and PaliGemma ('paligemma') checkpoints.")
    if meta:
        with torch.device("meta"):
            return cls(cfg), tied
    return cls(cfg), tied


def load_model(name_or_path: str | os.PathLike | None = None, dtype=None, device: str | torch.device = "cpu",
               progress: bool = True, precision: str | None = None):
    """Load a GIT (or PaliGemma) checkpoint from a folder or the Hub into our own model.

    name_or_path: a local folder in the Hugging Face layout, a Hub repo id, or None for the
    embedded Shapes model. dtype: None for the family default (`DEFAULT_DTYPES`: GIT float32,
    PaliGemma bfloat16), "auto" for the checkpoint's own (config.json's dtype / torch_dtype), or
    float32 / bfloat16 / float16 (or their short names, or a torch.dtype). precision: "fp32" (exact) /
    "bf16" / "fp16" / "int8" (int8 Linear layers on the CPU), see `gitdemo.models.precision`; None keeps
    the dtype rule. Raises CheckpointError / HubError with a sentence saying what to do.
    """
    t0 = time.perf_counter()
    folder = resolve(name_or_path, progress=progress) if name_or_path is not None else default_model_path()
    raw = read_config_json(folder)
    model, tied = build_model(raw, meta=True)
    if precision is not None:
        precision = parse_precision(precision)
        if dtype not in (None, "auto") and parse_dtype(dtype) not in (None, load_dtype(precision)):
            raise CheckpointError(f"dtype={dtype} contradicts precision={precision}; give one of them.")
        dtype = load_dtype(precision)
    state = load_state_dict(folder)
    want = choose_dtype(dtype, raw, state)
    load_into(model, state, dtype=want, tied=tied)
    model.eval().requires_grad_(False)
    if str(device) != "cpu":
        model.to(device)
    # decoding defaults: generation_config.json where the checkpoint has one (as the reference reads it)
    model.generation_config = GenerationDefaults.from_configs(model.config, read_generation_config(folder))
    model.precision = next((k for k, v in FLOAT_DTYPES.items() if v == want), str(want))
    if precision == "int8":
        apply_precision(model, "int8")
    model.name_or_path = str(name_or_path) if name_or_path is not None else "embedded:git-shapes"
    model.folder = Path(folder)
    model.load_seconds = time.perf_counter() - t0
    return model


__all__ = ["load_model", "build_model", "parse_dtype", "config_dtype", "choose_dtype", "DEFAULT_DTYPES", "default_model_path", "EMBEDDED_GIT", "ASSETS", "DTYPES"]
