"""Scoring the embedded Shapes models on fresh scenes: `python -m gitdemo eval`.

`git.py` (captions, questions, clips and pointing of the GIT model), `paligemma.py` (the three
PaliGemma prompt families), `harness.py` (what both share), `cli.py` (the command), `examples.py`
(`python -m gitdemo examples`: the shipped examples the models get right).
The names of the old `gitdemo.evaluate` module (the GIT evaluation) stay importable from here.
"""
from .cli import main
from .git import BARS, cell_overlaps, evaluate, named_objects, pointing_hits, table
from .git import _answers as _answers  # an old private name, kept importable
from .harness import EVAL_STREAM, model_type

_model_type = model_type

__all__ = ["main", "BARS", "cell_overlaps", "evaluate", "named_objects", "pointing_hits", "table", "EVAL_STREAM",
           "model_type"]
