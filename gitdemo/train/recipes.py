"""The shipped training runs as named recipes: `python -m gitdemo train --recipe NAME --out DIR`
rebuilds a shipped model's settings (explicit flags still override). Each recipe is the run
recorded in `assets/models/<model>/training_log.json` (`args`), less the output paths.

`paligemma-shapes` is two phases: phase 1 from scratch into `DIR-phase1`, then phase 2 from it into
`DIR`; phase 1's log, report and curves are copied next to phase 2's with a `_phase1` suffix, as
in the shipped folder.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Recipe:
    arch: str                           # "git" | "paligemma"
    settings: dict                      # argparse destinations -> values (defaults of the run)
    needs_init: bool = False            # continues from a checkpoint given with --init
    phases: tuple[str, ...] = field(default=())  # a multi-phase recipe: these recipes, in order


RECIPES = {
    # assets/models/git-shapes: 115 min on one core, 4,763 steps
    "git-shapes": Recipe("git", dict(
        steps=100000, minutes=115.0, position_std=1.0, aux_weight=0.5, p_two=0.65, video_every=2, video_batch=5,
        threads=1, eval_every=0, save_every=300, log_every=25)),
    # assets/models/paligemma-shapes, phase 1 (training_log_phase1.json): 125 min on one core, 3,775 steps
    "paligemma-shapes-phase1": Recipe("paligemma", dict(
        minutes=125.0, loc_sigma=5.0, detect_rows=2, aux_weight=1.0, threads=1, eval_every=500, save_every=300)),
    # phase 2 (training_log.json): 20 min from phase 1's weights, 524 steps
    "paligemma-shapes-phase2": Recipe("paligemma", dict(
        minutes=20.0, lr=2e-4, warmup=40, loc_sigma=5.0, detect_rows=2, aux_weight=1.0, loc_jitter=6, threads=1,
        eval_every=0, save_every=100, log_every=10), needs_init=True),
    "paligemma-shapes": Recipe("paligemma", {}, phases=("paligemma-shapes-phase1", "paligemma-shapes-phase2")),
}
