# SHIM (issue 16): removed at merge
"""Moved to gitdemo.io.video."""
from .io.video import *  # noqa: F401,F403
