# SHIM (issue 16): removed at merge
"""Old path of `gitdemo.models.paligemma.config`."""
from .paligemma.config import *  # noqa: F401,F403
from .paligemma.config import PALIGEMMA_TEXT_DEFAULTS, PALIGEMMA_VISION_DEFAULTS  # noqa: F401
