"""Training the embedded Shapes models: `python -m gitdemo train [--arch paligemma] [--recipe NAME] --out DIR`.

One loop for both families (`loop.py`); per family its data, loss and quick check (`git.py`,
`paligemma.py`); shared pieces: the app's preprocessing and augmentation (`images.py`), the patch
probe (`probe.py`), tokenizer and config writers (`tokenizers.py`, `checkpoint.py`), the report
(`report.py`), the options (`cli.py`) and the shipped runs as named recipes (`recipes.py`).

The names of the old `gitdemo.train` module (the GIT trainer) stay importable from here.
"""
from ..models.git.config import GitConfig, GitVisionConfig  # noqa: F401
from .checkpoint import write_weights
from .cli import add_shared_options, main, parse_args, parse_paligemma_args, train
from .git import (
    Batch,
    DataSource,
    GitRun,
    TextCodec,
    compute_loss,
    greedy,
    init_temporal,
    init_weights,
    make_config,
    quick_eval,
    save_checkpoint,
)
from .images import CLIP_FRAMES, FRAMES, augment, frame_indices, normalise_uint8, pixels, resize_like_processor
from .loop import cpu_name, lr_at, progress_at
from .probe import PAIRS, cells_of_box, patch_classes, patch_loss, probe_head
from .recipes import RECIPES, Recipe
from .report import write_report
from .tokenizers import (
    EXTRA_WORDS,
    LETTERS,
    SPECIAL,
    WORLD_WORDS,
    build_vocab,
    make_tokenizer,
    write_preprocessor,
    write_tokenizer,
)

_patch_classes = patch_classes  # the old private names, used by tests and the PaliGemma shim
_cells_of_box = cells_of_box
_resize_like_processor = resize_like_processor

__all__ = [
    "Batch", "DataSource", "GitRun", "TextCodec", "compute_loss", "greedy", "init_temporal", "init_weights",
    "make_config", "quick_eval", "save_checkpoint", "write_weights", "add_shared_options", "main", "parse_args",
    "parse_paligemma_args", "train", "CLIP_FRAMES", "FRAMES", "augment", "frame_indices", "normalise_uint8",
    "pixels", "cpu_name", "lr_at", "progress_at", "PAIRS", "cells_of_box", "patch_classes", "patch_loss",
    "probe_head", "RECIPES", "Recipe", "write_report", "EXTRA_WORDS", "LETTERS", "SPECIAL", "WORLD_WORDS",
    "build_vocab", "make_tokenizer", "write_preprocessor", "write_tokenizer", "GitConfig", "GitVisionConfig",
]
