"""Serving many users at once: the batching engine (`engine`) and the image cache (`image_cache`).

Below the UI in the flow (ui -> serving -> generation/models): the app's generating endpoints hand
their greedy and sampling requests to `engine.stream`, which runs every request for one model in ONE
decode batch; beam search keeps running alone (generation.generate).
"""
from .engine import Engine, enabled, engine_for, stream
from .image_cache import IMAGE_CACHE, ImageCache

__all__ = ["Engine", "enabled", "engine_for", "stream", "ImageCache", "IMAGE_CACHE"]
