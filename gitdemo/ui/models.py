# SHIM (issue 16): removed at merge
"""Moved to `gitdemo.ui.registry` (one model cache for every tab)."""
from .registry import *  # noqa: F401,F403
from .registry import _load, _online  # noqa: F401 - tests/test_viz.py calls models._load
