# SHIM (issue 16): removed at merge
"""Old path of `gitdemo.io.checkpoint` (reading weights) and `gitdemo.io.hub` (finding them).

Tests patch hub functions through this path (`monkeypatch.setattr(weights, "hub_reachable", ...)`);
setting a name here also sets it in the module that defines it, so the patch still takes effect.
"""
import sys
import types

from .io import checkpoint as _checkpoint, hub as _hub
from .io.checkpoint import *  # noqa: F401,F403
from .io.checkpoint import IGNORED_KEYS, PALIGEMMA_RENAMES, WEIGHT_FILES  # noqa: F401
from .io.hub import *  # noqa: F401,F403
from .io.hub import _cached_snapshot  # noqa: F401


class _Forwarding(types.ModuleType):
    def __setattr__(self, name, value):
        super().__setattr__(name, value)
        for module in (_checkpoint, _hub):
            if hasattr(module, name):
                setattr(module, name, value)


sys.modules[__name__].__class__ = _Forwarding
