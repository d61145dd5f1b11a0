# SHIM (issue 16): removed at merge
"""Old home of the app's Gradio-free logic: decoding settings and `generate` now live in `gitdemo.pipeline`,
the exploration (trace, views, mask) in `gitdemo.explain`."""
from ..explain.mask import git_mask_ar, mask_for  # noqa: F401
from ..explain.trace import trace as build_exploration  # noqa: F401
from ..explain.views import Exploration, View, _describe, _head_text, _index, _maps, _pick  # noqa: F401
from ..explain.views import mask_figure, render, token_summary  # noqa: F401
from ..pipeline.decoding import DECODING, MAX_NEW_TOKENS, Decoding, _fit_tokens, generate  # noqa: F401
from ..pipeline.run import run, run_stream  # noqa: F401

__all__ = ["mask_for", "git_mask_ar", "Decoding", "generate", "Exploration", "build_exploration", "View", "render",
           "mask_figure", "token_summary", "DECODING", "MAX_NEW_TOKENS"]
