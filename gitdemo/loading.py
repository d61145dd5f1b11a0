# SHIM (issue 16): removed at merge
"""Old path of `gitdemo.models.registry`."""
from .models.registry import *  # noqa: F401,F403
from .models.registry import DTYPES  # noqa: F401
