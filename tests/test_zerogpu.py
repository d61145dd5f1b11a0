"""ZeroGPU glue (gitdemo.ui.gpu): without `spaces` the app computes as before; with a `spaces` module importable
(here a stub injected into sys.modules whose GPU decorator records each call and the duration it was asked for)
the generation of every family and the explorer's pass go through `spaces.GPU`, with a duration that follows
the request, and give the same results."""
from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

import pytest
from PIL import Image

from gitdemo.pipeline.decoding import Decoding

SCENE = sorted((Path(__file__).resolve().parent.parent / "assets" / "examples").glob("scene_*.png"))[0]


class StubSpaces(types.ModuleType):
    """What `spaces` offers that we use: `GPU(duration=...)`, a decorator that may wrap a generator."""

    def __init__(self):
        super().__init__("spaces")
        self.decorated, self.calls = [], []

    def GPU(self, duration=60):  # noqa: N802 - the real name
        def wrap(fn):
            self.decorated.append(fn.__name__)
            import inspect

            def ask(*args, **kwargs):
                self.calls.append((fn.__name__, duration(*args, **kwargs) if callable(duration) else duration))

            if inspect.isgeneratorfunction(fn):
                def gen(*args, **kwargs):
                    ask(*args, **kwargs)
                    yield from fn(*args, **kwargs)
                return gen

            def plain(*args, **kwargs):
                ask(*args, **kwargs)
                return fn(*args, **kwargs)
            return plain
        return wrap


@pytest.fixture
def gpu_module(monkeypatch):
    """gitdemo.ui.gpu reloaded with the stub importable; reloaded again without it afterwards."""
    from gitdemo.ui import gpu

    stub = StubSpaces()
    monkeypatch.setitem(sys.modules, "spaces", stub)
    importlib.reload(gpu)
    yield gpu, stub
    monkeypatch.setitem(sys.modules, "spaces", None)  # `import spaces` fails again
    importlib.reload(gpu)
    monkeypatch.delitem(sys.modules, "spaces")


def _caption(decoding: Decoding | None = None):
    from gitdemo.ui import controls, registry

    loaded = registry.CACHE.get(registry.EMBEDDED, None, family=registry.GIT)
    return list(controls.stream_generation(loaded, [Image.open(SCENE).convert("RGB")], None,
                                             decoding or Decoding()))[-1]


def test_without_spaces_nothing_changes(monkeypatch):
    from gitdemo.ui import gpu

    monkeypatch.setitem(sys.modules, "spaces", None)
    importlib.reload(gpu)
    try:
        assert not gpu.enabled()
        text, payload = _caption()
        assert text == payload["text"] and text.startswith("a ")
    finally:
        monkeypatch.delitem(sys.modules, "spaces")
        importlib.reload(gpu)


def test_with_spaces_the_compute_asks_for_a_gpu(gpu_module):
    gpu, stub = gpu_module
    assert gpu.enabled() and {"stream", "stream_pali", "traced"} <= set(stub.decorated)
    text, payload = _caption()
    assert stub.calls and stub.calls[-1][0] == "stream" and gpu.MIN_S <= stub.calls[-1][1] <= gpu.MAX_S
    from gitdemo.ui import registry

    nbytes = registry.CACHE.get(registry.EMBEDDED, None, family=registry.GIT).nbytes
    assert stub.calls[-1][1] == gpu.estimate_seconds(20, 1, nbytes)
    _caption(Decoding(mode="beam", max_new_tokens=40, num_beams=5))
    assert stub.calls[-1][1] == gpu.estimate_seconds(40, 5, nbytes)  # asked for from the request's settings
    text_again, _ = _caption()
    assert text_again == text  # same answer through the decorator


def test_paligemma_and_the_explorer_go_through_it(gpu_module):
    gpu, stub = gpu_module
    from gitdemo.ui import registry
    from gitdemo.ui.explorer import exploration
    from gitdemo.ui.tabs import paligemma as tab

    if registry.embedded_folder() is None:
        pytest.skip("no embedded PaliGemma in this build")
    out = list(tab.paligemma(str(SCENE), "caption en", registry.EMBEDDED_PALI, "", max_new_tokens=8,
                             progress=lambda *a, **k: None))
    assert [c[0] for c in stub.calls] == ["stream_pali"] and out[-1][3]["text"]
    loaded = registry.CACHE.get(registry.EMBEDDED_PALI, None, family=registry.PALIGEMMA)
    expl = gpu.traced(exploration, loaded, str(SCENE), out[-1][3])
    assert stub.calls[-1][0] == "traced" and len(expl.tokens) == len(out[-1][3]["tokens"])


def test_duration_estimate():
    from gitdemo.ui.gpu import MAX_S, MIN_S, estimate_seconds

    small = estimate_seconds(20, 1, 50e6)
    assert MIN_S <= small < estimate_seconds(20, 1, 6e9) <= MAX_S  # a 3B PaliGemma in bf16 asks for more
    assert estimate_seconds(200, 1, 6e9) < estimate_seconds(200, 5, 6e9)
    assert estimate_seconds(10_000, 8, 20e9) == MAX_S and estimate_seconds(1, 1, 0) == MIN_S
