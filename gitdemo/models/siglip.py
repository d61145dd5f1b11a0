# SHIM (issue 16): removed at merge
"""Old path of `gitdemo.models.paligemma.siglip`."""
from .paligemma.siglip import *  # noqa: F401,F403
