"""Attention records -> what the explorer shows (no Gradio).

maps.py   records -> maps over the patch grid (the default view, rollout, the vision encoder's CLS maps)
trace.py  ONE explanation of a finished answer, any family -> an `Exploration`: `from_record` (generation's own
          record, no model call) or `trace` (one teacher-forced pass; adds rollout)
views.py  `Exploration`, `View`, and the figures of one selection (`render`, `mask_figure`, `token_summary`)
reverse.py one patch -> which generated tokens read it (per token, per layer)
mask.py   the mask the model used (PaliGemma's `mask_for`, GIT's rule), and PaliGemma's mask beside GIT's
"""
from .maps import (
    ImageLayout,
    default_view,
    frame_split,
    image_share,
    rollout,
    select,
    split_image,
    stack_step,
    vision_cls_maps,
)
from .mask import MaskView, git_mask_ar, mask_for, mask_views, model_mask
from .reverse import PatchReaders, patch_at, patch_readers
from .trace import from_record, trace
from .views import Exploration, View, mask_figure, render, token_summary

__all__ = ["ImageLayout", "stack_step", "select", "split_image", "default_view", "image_share", "frame_split",
           "rollout", "vision_cls_maps", "trace", "from_record", "Exploration", "View", "render", "mask_figure", "token_summary",
           "MaskView", "git_mask_ar", "mask_for", "mask_views", "model_mask", "PatchReaders", "patch_at",
           "patch_readers"]
