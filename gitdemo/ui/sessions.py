"""A new visitor's session without building the whole page's config first.

Gradio 6.31 makes a `SessionState` on a session's first event, and its constructor computes the
config of every block of the app (`config_for_block`: props, API info, signatures) to keep a copy for
deep links. This app has about 470 blocks, so each new session cost about 0.09 s of CPU before its
request could start: 2.8 s of a 2-core server when a class of thirty presses the button at once.
Nothing reads those configs except a deep link (`/gradio_api/deep_link`, which this app does not
offer) and the per-block updates that recompute their own entry anyway.

`lazy_session_configs()` makes that copy lazy: an entry is computed when something asks for it, and
iterating over them (a deep link) computes the rest first, so every reader sees what the eager copy
would have held. The patch applies to the Gradio version it was written for (requirements.txt pins
it); with another version it does nothing and Gradio behaves as shipped.
"""
from __future__ import annotations

import logging
import types

log = logging.getLogger("gitdemo.ui")
GRADIO_VERSION = "6.31."


class LazyConfigs(dict):
    """block id -> config, computed on first use from the session's `blocks_config`."""

    def __init__(self, blocks_config, keys):
        super().__init__()
        self._blocks_config = blocks_config
        self._order = list(keys)
        self._pending = dict.fromkeys(self._order)  # not computed yet, in the blocks' order

    def _fill(self) -> None:
        """Compute what is left, and keep the eager copy's order (the blocks' order, later additions last)."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        for key in pending:
            block = self._blocks_config.blocks.get(key)
            if block is not None and not dict.__contains__(self, key):
                dict.__setitem__(self, key, self._blocks_config.config_for_block(key, [], block))
        known = set(self._order)
        ordered = [(k, dict.__getitem__(self, k)) for k in self._order if dict.__contains__(self, k)]
        ordered += [(k, v) for k, v in dict.items(self) if k not in known]
        dict.clear(self)
        dict.update(self, ordered)

    def __getitem__(self, key):
        if not dict.__contains__(self, key) and key in self._pending:
            del self._pending[key]
            dict.__setitem__(self, key, self._blocks_config.config_for_block(key, [], self._blocks_config.blocks[key]))
        return dict.__getitem__(self, key)

    def __contains__(self, key) -> bool:
        return dict.__contains__(self, key) or key in self._pending

    def __iter__(self):
        self._fill()
        return dict.__iter__(self)

    def __len__(self) -> int:
        return dict.__len__(self) + len(self._pending)

    def items(self):
        self._fill()
        return dict.items(self)

    def values(self):
        self._fill()
        return dict.values(self)

    def keys(self):
        self._fill()
        return dict.keys(self)


def lazy_session_configs() -> bool:
    """Patch Gradio's `SessionState` (once; idempotent). Returns whether the patch is in place."""
    import gradio
    from gradio import state_holder

    cls = state_holder.SessionState
    if getattr(cls, "_gitdemo_lazy", False):
        return True
    if not gradio.__version__.startswith(GRADIO_VERSION):
        log.info("gradio %s: sessions keep Gradio's eager configs", gradio.__version__)
        return False
    eager_init = cls.__init__

    def __init__(self, blocks):
        # Gradio's constructor with no blocks to precompute, then the same entries, lazily
        eager_init(self, types.SimpleNamespace(default_config=blocks.default_config, blocks={}))
        wanted = [k for k in self.blocks_config.blocks if k in blocks.blocks]
        self.config_values = LazyConfigs(self.blocks_config, wanted)

    cls.__init__ = __init__
    cls._gitdemo_lazy = True
    return True


__all__ = ["LazyConfigs", "lazy_session_configs"]
