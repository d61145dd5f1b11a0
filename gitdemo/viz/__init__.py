"""Figures for the app (matplotlib / PIL): overlays on the picture, bars, the mask diagram.

figures.py  the `Figure` type (image + caption) and drawing helpers
overlay.py  heatmap, small multiples, frame strips, the model's view of the image
bars.py     top-k candidates, attention share
readers.py  which tokens read one patch (the explorer read backwards)
mask.py     the mask diagram and its sentences
html.py     figures the browser draws: the heatmap as a focusable grid of cells, bars as tables
"""
from . import html
from .bars import share_bar, topk_bar
from .figures import CMAPS, DPI, OKABE_ITO, Figure
from .mask import Segment, block_kind, describe_blocks, mask_diagram
from .overlay import blend, frame_strip, heatmap, model_view, small_multiples
from .readers import readers_bar, readers_layers

__all__ = ["html", "Figure", "Segment", "CMAPS", "DPI", "OKABE_ITO", "model_view", "blend", "heatmap", "small_multiples",
           "frame_strip", "readers_bar", "readers_layers", "topk_bar", "share_bar", "mask_diagram", "describe_blocks", "block_kind"]
