# SHIM (issue 16): removed at merge
"""The old `gitdemo.evaluate_paligemma` names, now in gitdemo.evaluate.paligemma (and gitdemo.shapes.tasks)."""
from .evaluate.harness import EVAL_STREAM  # noqa: F401
from .evaluate.paligemma import *  # noqa: F401,F403
from .evaluate.paligemma import (BARS, MAX_EXTRA, _generate, detect_prompts, evaluate, report,  # noqa: F401
                                 score_detection, table)
from .shapes.tasks import iou, match_detections  # noqa: F401
