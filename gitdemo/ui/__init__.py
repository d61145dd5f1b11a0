"""The Gradio app: `build_demo()` assembles the tabs; `launch_options()` is what `app.py` passes to launch.

One module per tab in `tabs/` (caption, vqa, video, mask, paligemma, compare, lesson), the shared inputs and
handlers in `controls`, the one attention explorer in `explorer`, the Gradio-free logic in
`explore`, the one model cache in `registry`, the example rows in `examples`. Named API endpoints
(the stable contract for gradio_client): `/caption`, `/vqa`, `/video`, `/mask`, `/paligemma`,
`/compare` (tabs/compare), `/patch_readers` (patch_api), and the class rooms' `/room_open`, `/room_wall`,
`/room_withdraw`, `/room_close` (room_api; the Class tab is tabs/classroom), `/faithfulness` (faithful) and
`/attention_scores` (mechanism). Presenter mode (`presenter`): one
switch, or `?presenter=1` in the address.
"""
from __future__ import annotations

import hashlib
import json
import os

# Gradio reads these when it is imported: no usage analytics from a classroom server (offline, a
# blocked analytics call kept the process alive for minutes after close), unless the user opted in.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CSS = """
.token-chips .wrap { gap: 6px !important; }
.token-chips label { border-radius: 999px !important; padding: 2px 12px !important; }
.figure-caption { font-size: 0.9em; opacity: 0.85; }
.gitdemo-hidden { display: none !important; }
"""


OFFLINE = ("**Offline:** the Hugging Face Hub cannot be reached, so the embedded Shapes model is the default; other "
           "models work once they are in the local cache.")


def _examples_fingerprint() -> str:
    """Cached example outputs belong to one embedded model and one example set: key the cache folder on both."""
    from ..io.assets import EMBEDDED_GIT
    from . import examples, registry

    h = hashlib.sha256()
    for folder in (registry.embedded_path() or str(EMBEDDED_GIT), str(registry.embedded_folder() or "")):
        for name in ("config.json", "model.safetensors"):
            path = os.path.join(folder, name)
            if folder and os.path.isfile(path):
                st = os.stat(path)
                h.update(f"{folder}/{name}:{st.st_size}:{int(st.st_mtime)}".encode())
    h.update(json.dumps(examples.truth(), sort_keys=True).encode())
    h.update(json.dumps({t: registry.default_model(t) for t in ("caption", "vqa", "video", "paligemma")}).encode())
    return h.hexdigest()[:12]


def build_demo():
    import gradio as gr

    from . import faithful, mechanism, presenter, registry, retention, room_api, share
    from .i18n import plain_headers, tr, wire_language
    from .patch_api import register_api
    from .sessions import lazy_session_configs
    from .tabs import TABS, classroom, lesson

    lazy_session_configs()  # a class of thirty: new sessions start without building every block's config
    os.environ.setdefault("GRADIO_EXAMPLES_CACHE", os.path.join(".gradio", "cached_examples", _examples_fingerprint()))
    offline = "" if registry.hub_online() else OFFLINE
    with gr.Blocks(title="gitdemo: how GIT looks at images", analytics_enabled=False,
                   delete_cache=retention.delete_cache()) as demo:  # visitors' files: GITDEMO_UPLOAD_RETENTION_S
        gr.Markdown(tr("# gitdemo: see where an image-to-text model looks"), elem_id="app-title")
        gr.Markdown(tr("GIT (Microsoft's Generative Image-to-text Transformer), run by our own readable PyTorch code. "
                       "Caption a picture, ask about it, describe a video, then click any generated word to see its "
                       "attention over the image, layer by layer and head by head."))
        if offline:
            gr.Markdown(tr(offline))
        presenter.switch()
        with gr.Tabs() as tabs:
            built = {tab: tab.build() for tab in TABS}
        faithful.api()  # /faithfulness(image, model, token): the deletion test over the API
        mechanism.api()  # /attention_scores(image, model, question, token, layer, head): one head step by step
        register_api()
        room_api.register_api()  # /room_open, /room_wall, /room_withdraw, /room_close
        classroom.wire_address(demo, built[classroom], tabs)  # ?room=CODE joins, #key=KEY shows the wall
        targets = {t.key: t for t in built.values() if isinstance(t, share.Target)}
        share.wire(demo, tabs, targets)  # ?tab=...: a shared view
        lesson.wire(built[lesson], tabs, demo, targets)  # one click fills a tab's inputs, runs it, selects the view
        wire_language(demo)  # the page's language, for the texts the server writes (after the tabs registered)
    plain_headers(demo)
    return demo


def mcp_available() -> bool:
    """Serve the public endpoints as MCP tools (at /gradio_api/mcp/) when gradio's `mcp` extra is installed;
    we do not depend on it (docs/hosting.md says why). GITDEMO_MCP=0 turns it off."""
    import importlib.util

    if os.environ.get("GITDEMO_MCP", "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    return importlib.util.find_spec("mcp") is not None


def launch_options() -> dict:
    """Keyword arguments for `demo.launch` (port from $PORT, else GRADIO_SERVER_PORT, else 7860)."""
    from ..io.assets import ASSETS
    from ..viz.html import CSS as FIGURE_CSS
    from . import presenter, theme, wall
    from .i18n import RTL_JS, i18n

    port = int(os.environ.get("PORT") or os.environ.get("GRADIO_SERVER_PORT") or 7860)
    return dict(server_name=os.environ.get("GRADIO_SERVER_NAME") or None, server_port=port, max_file_size="20mb",
                allowed_paths=[str(ASSETS / "examples")], theme=theme.theme(),
                css=CSS + FIGURE_CSS + theme.CSS + wall.CSS + presenter.CSS, show_error=False,
                footer_links=["api", "gradio", "settings"], mcp_server=mcp_available(), i18n=i18n(),
                js=presenter.together(RTL_JS, presenter.JS, f"() => {theme.page_js()}"))


def serve(demo=None):
    """Queue, warm the default models in the background (`warm`), and launch (what `python app.py` does)."""
    from . import retention, warm
    from .registry import compute_slots

    demo = demo or build_demo()
    demo.queue(default_concurrency_limit=compute_slots(), max_size=128)
    warm.start()
    retention.start()  # what delete_cache leaves: share-link states, emptied folders
    return demo.launch(**launch_options())


__all__ = ["build_demo", "launch_options", "serve", "mcp_available", "CSS"]
