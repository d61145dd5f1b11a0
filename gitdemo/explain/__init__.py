"""Attention records -> what the explorer shows (no Gradio).

maps.py   records -> maps over the patch grid (the default view, rollout, the vision encoder's CLS maps)
trace.py  ONE teacher-forced `trace` of a finished answer, for any family -> an `Exploration`
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
from .trace import trace
from .views import Exploration, View, mask_figure, render, token_summary

__all__ = ["ImageLayout", "stack_step", "select", "split_image", "default_view", "image_share", "frame_split",
           "rollout", "vision_cls_maps", "trace", "Exploration", "View", "render", "mask_figure", "token_summary",
           "MaskView", "git_mask_ar", "mask_for", "mask_views", "model_mask", "PatchReaders", "patch_at",
           "patch_readers"]
