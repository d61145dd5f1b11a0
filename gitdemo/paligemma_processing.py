# SHIM (issue 16): removed at merge
"""Moved to gitdemo.processing.paligemma (square_image_processor to gitdemo.processing.image)."""
from .processing.image import square_image_processor  # noqa: F401
from .processing.paligemma import *  # noqa: F401,F403
from .processing.paligemma import MAX_PROMPT_CHARS  # noqa: F401
