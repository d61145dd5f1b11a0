"""MCP: the public endpoints are served as MCP tools only when gradio's `mcp` extra is importable (we do not
depend on it), and their docstrings carry an `Args:` section for every input a tool takes."""
from __future__ import annotations

import importlib.util
import inspect

import pytest


def test_mcp_follows_the_extra(monkeypatch):
    import gitdemo.ui as ui

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mcp" else real(name, *a))
    assert ui.launch_options()["mcp_server"] is False
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name == "mcp" else real(name, *a))
    assert ui.launch_options()["mcp_server"] is True
    monkeypatch.setenv("GITDEMO_MCP", "0")
    assert ui.launch_options()["mcp_server"] is False


def test_public_endpoints_document_their_args():
    from gitdemo.ui.tabs import caption, mask, paligemma, video, vqa

    for fn in (caption.caption, vqa.vqa, video.video, mask.mask_view, paligemma.paligemma):
        doc = inspect.getdoc(fn)
        assert "Args:" in doc and "Returns:" in doc, fn.__name__
        args_block = doc.split("Args:")[1].split("Returns:")[0]
        for name in inspect.signature(fn).parameters:
            if name != "progress":
                assert f"{name}:" in args_block, (fn.__name__, name)


def test_mcp_schema_lists_the_tools():
    """Runs only where the `mcp` package is installed (not in requirements.txt)."""
    if importlib.util.find_spec("mcp") is None:
        pytest.skip("gradio's mcp extra is not installed")
    import json
    import socket
    import urllib.request

    from gitdemo.ui import build_demo

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo = build_demo()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, mcp_server=True)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/gradio_api/mcp/schema", timeout=30) as r:
            tools = {t["name"]: t for t in json.load(r)}
    finally:
        demo.close()
    assert {"caption", "vqa", "video", "paligemma"} <= set(tools), sorted(tools)
    props = tools["caption"]["inputSchema"]["properties"]
    assert "offline Shapes model" in props["model"]["description"]
