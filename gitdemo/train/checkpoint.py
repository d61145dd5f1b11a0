"""Writing a trained model folder: the weights (atomically) and generation_config.json; each
family adds its config, tokenizer and preprocessor files (`tokenizers.py`)."""
from __future__ import annotations

import os
from pathlib import Path

import torch

from .tokenizers import write_json


def write_weights(model, folder: Path, skip: tuple[str, ...] = ()) -> None:
    """model.safetensors (float32), written to a temporary file and moved into place."""
    from safetensors.torch import save_file

    sd = {k: v.detach().to(torch.float32).contiguous().clone() for k, v in model.state_dict().items() if k not in skip}
    tmp = Path(folder) / "model.safetensors.tmp"
    save_file(sd, str(tmp), metadata={"format": "pt"})
    os.chmod(tmp, 0o644)
    os.replace(tmp, Path(folder) / "model.safetensors")


def write_generation_config(folder: Path, bos: int, eos: int, pad: int) -> None:
    write_json(folder, "generation_config.json", {"bos_token_id": bos, "eos_token_id": eos, "pad_token_id": pad})
