"""Inputs -> the tensors a model reads: `load_processor` picks the processor by the checkpoint's model_type.

    processor = load_processor("microsoft/git-base")   # or a folder, or None for the embedded model
    batch = processor(images=[image], question=["what is this?"])

One module per family: `git.py` (BERT tokenizer + CLIP images), `paligemma.py` (Gemma tokenizer +
SigLIP images, the prompt layout); `image.py` holds the image processor and both presets.
Opening files is `gitdemo.io.images` (re-exported here: `from gitdemo.processing import open_image`).
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import CheckpointError
from ..io.images import MAX_PIXELS, open_image, to_rgb
from ._shared import read_json
from .git import GitProcessor, GitTokenizer, load_git_processor, load_tokenizer
from .image import CLIP_MEAN, CLIP_STD, ImageProcessor, center_crop, clip_preset, square_image_processor


def load_processor(name_or_path: str | os.PathLike | None = None):
    """The processor of a checkpoint: a folder, a Hub id, or None for the embedded model.

    config.json's model_type picks the family: `paligemma` -> `PaliGemmaProcessor`, anything else
    (or no config.json) -> `GitProcessor`.
    """
    if name_or_path is None:
        from ..io import assets

        folder = Path(assets.default_model_path())
    else:
        from ..io.hub import resolve

        folder = Path(resolve(name_or_path, patterns=("*.json", "*.txt")))
    raw = read_json(folder / "config.json")
    if raw.get("model_type") == "paligemma":
        try:
            from .paligemma import load_paligemma_processor
        except ModuleNotFoundError as exc:  # only the module itself missing; its own import errors propagate
            if exc.name != f"{__name__}.paligemma":
                raise
            raise CheckpointError("This is a PaliGemma checkpoint, and PaliGemma processing "
                                  "is not in this build.") from None
        return load_paligemma_processor(folder)
    return load_git_processor(folder, raw)


__all__ = ["open_image", "to_rgb", "ImageProcessor", "center_crop", "GitTokenizer", "GitProcessor",
           "load_tokenizer", "load_processor", "MAX_PIXELS", "CLIP_MEAN", "CLIP_STD", "clip_preset",
           "square_image_processor"]
