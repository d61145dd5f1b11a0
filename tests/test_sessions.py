"""New sessions start without building the config of every block (gitdemo.ui.sessions), and whatever
reads those configs sees exactly what Gradio's eager copy holds."""
from __future__ import annotations

import gradio as gr
import pytest
from gradio.state_holder import SessionState

from gitdemo.ui.sessions import GRADIO_VERSION, LazyConfigs


@pytest.fixture(scope="module")
def demo():
    from gitdemo.ui import build_demo

    return build_demo()


def test_patch_applies_to_the_pinned_gradio(demo):
    assert gr.__version__.startswith(GRADIO_VERSION)  # requirements.txt pins the version the patch was written for
    assert getattr(SessionState, "_gitdemo_lazy", False)


def test_a_new_session_computes_no_config_until_asked(demo, monkeypatch):
    calls = []
    config_for_block = demo.default_config.config_for_block
    monkeypatch.setattr(type(demo.default_config), "config_for_block",
                        staticmethod(lambda *a, **k: calls.append(a[0]) or config_for_block(*a, **k)))
    state = SessionState(demo)
    assert calls == [] and isinstance(state.config_values, LazyConfigs)
    key = next(iter(demo.blocks))
    state._update_value_in_config(key, "changed")
    assert calls == [key]
    assert len(state.config_values) == len([k for k in demo.default_config.blocks if k in demo.blocks])


def test_lazy_configs_equal_the_eager_ones(demo):
    """What a deep link would save: every component's config, the one updated value included."""
    state = SessionState(demo)
    key = next(k for k, b in demo.blocks.items() if isinstance(b, gr.Textbox))
    state._update_value_in_config(key, "a student's text")
    eager = {k: demo.default_config.config_for_block(k, [], b) for k, b in demo.default_config.blocks.items()
             if k in demo.blocks}
    eager[key]["props"]["value"] = "a student's text"
    assert list(state.components) == [c for c in eager.values() if c]
    assert dict(state.config_values.items()) == eager
