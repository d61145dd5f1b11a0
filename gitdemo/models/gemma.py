# SHIM (issue 16): removed at merge
"""Old path of `gitdemo.models.paligemma.gemma`."""
from .paligemma.gemma import *  # noqa: F401,F403
