"""Share this view: a link that opens the app exactly where a student is (issue 22).

The link is the page's address with the view in its query, TensorFlow-Playground style, made in the browser
(`LINK_JS`: no server event, nothing stored): `?tab=caption&image=...&model=embedded&precision=auto&q=...&token=3
&layer=2&head=1&view=rollout&frame=1&cmap=viridis`. Opening it, `restore` (the page's load event) puts the
picture, model, precision and question or prompt into the tab, selects the tab and sets the explorer's layer,
head, view, frame and colour map; the browser then presses the tab's button (`RUN_JS`), and the explorer,
when the answer arrives, opens on the shared token (`Explorer.want`). No further click.

A shared picture is a shipped example, or a visitor's upload while the server still keeps it (uploads are deleted
after GITDEMO_UPLOAD_RETENTION_S; then the link says so). Nothing else on the server is ever read from an address.
Everything a link carries is checked here: an unknown model, a path outside those two folders, numbers out of
range become the tab's defaults, with a sentence.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import unquote

import gradio as gr

from ..io.assets import ASSETS
from ..lang import say
from . import registry

PARAMS = ("tab", "image", "model", "precision", "q", "token", "layer", "head", "view", "frame", "cmap")
TABS = ("caption", "vqa", "video", "paligemma")


@dataclass
class Target:
    """One generation tab's pieces that a link sets (built by the tab, wired by `wire`)."""

    key: str  # the tab's id and element prefix
    media: gr.components.Component
    model: gr.components.Component
    precision: gr.components.Component | None
    question: gr.components.Component | None  # VQA / video question, PaliGemma prompt
    explorer: object  # ui.explorer.Explorer
    extra: dict = field(default_factory=dict)

    @property
    def outputs(self) -> list:
        e = self.explorer
        return [self.media, self.model, *([self.precision] if self.precision is not None else []),
                *([self.question] if self.question is not None else []), e.map, e.frame, e.cmap, e.want]


def shared_media(value: str) -> str | None:
    """The path of a picture a link may show: a shipped example (by its name or path), or a file still kept in
    Gradio's upload folder; None for anything else."""
    from gradio.utils import get_upload_folder

    text = unquote(str(value or "")).strip()
    if not text:
        return None
    examples = (ASSETS / "examples").resolve()
    named = examples / os.path.basename(text)
    candidates = [named] if os.sep not in text else [named, os.path.realpath(text)]
    for path in candidates:
        path = os.path.realpath(path)
        inside = [os.path.realpath(str(examples)), os.path.realpath(get_upload_folder())]
        if any(path.startswith(folder + os.sep) for folder in inside) and os.path.isfile(path):
            return path
    return None


def _int(value, low: int, high: int) -> int | None:
    try:
        n = int(str(value))
    except (TypeError, ValueError):
        return None
    return n if low <= n <= high else None


def restore(targets: dict[str, Target], params: dict) -> tuple[str | None, dict, list[str]]:
    """(tab, {component: value}, notes) for an address's query: what `wire` puts on the page. Only checked
    values are used; the rest stays as the page had it."""
    tab = str(params.get("tab") or "").strip().lower()
    if tab not in targets:
        return None, {}, []
    t, notes, values = targets[tab], [], {}
    media = shared_media(params.get("image", ""))
    if params.get("image") and media is None:
        notes.append(say("The shared picture is not kept on this server any more (uploads are deleted after a "
                         "while): pick a picture, then press the button."))
    if media:
        values[t.media] = media
    model = str(params.get("model") or "").strip()
    if model:
        known = {v for _, v in registry.dropdown_choices("paligemma" if tab == "paligemma" else tab)}
        if model in known:
            values[t.model] = model
        else:
            notes.append(say("The shared model is not offered here; the tab's default is used."))
    precision = str(params.get("precision") or "").strip()
    if t.precision is not None and precision in {v for _, v in registry.precision_choices()}:
        values[t.precision] = precision
    if t.question is not None and params.get("q") is not None:
        values[t.question] = str(params["q"])[:400]
    e, want = t.explorer, {}
    for name in ("layer", "head"):  # the menus get these numbers once the answer's model is known (Explorer.want)
        value = str(params.get(name) or "").strip()
        if value in ("mean", "max") or _int(value, 1, 64):
            want[name] = value
    from .. import viz
    from ..explain.maps import VIEWS

    if params.get("view") in VIEWS:
        values[e.map] = params["view"]
    if params.get("cmap") in viz.CMAPS:
        values[e.cmap] = params["cmap"]
    frame = _int(params.get("frame"), 1, 64)
    if frame:
        values[e.frame], want["frame"] = frame, frame
    token = _int(params.get("token"), 1, 512)
    if token:
        want["token"] = token - 1
    values[e.want] = want or None
    return (tab if media else None), values, notes


def wire(demo: gr.Blocks, tabs: gr.Tabs, targets: dict[str, Target]) -> None:
    """The page's load event restores a shared view; the browser then presses the tab's button."""
    outputs = [tabs] + [c for t in targets.values() for c in t.outputs]
    pending = gr.Textbox(visible=False, elem_id="share-pending")

    def on_load(request: gr.Request):
        params = dict(request.query_params) if request is not None else {}
        tab, values, notes = restore(targets, params)
        for note in notes:
            gr.Warning(note)
        selected = str(params.get("tab") or "").strip().lower()
        head = [gr.Tabs(selected=selected) if selected in targets else gr.skip()]
        return head + [values.get(c, gr.skip()) for t in targets.values() for c in t.outputs] + [tab or ""]

    on_load.__annotations__ = {"request": gr.Request}
    loaded = demo.load(on_load, None, outputs + [pending], api_visibility="private", show_progress="hidden")
    loaded.then(None, pending, None, js=RUN_JS, api_visibility="private")


RUN_JS = """(tab) => {
  if (!tab) return [];
  let tries = 0;
  const go = setInterval(() => {  // once the shared picture is in the input, press the tab's button
    const media = document.querySelector('#' + tab + '-image img, #video-input video');
    const run = document.querySelector('#' + tab + '-run');
    if ((media && run) || ++tries > 50) { clearInterval(go); if (run) run.click(); }
  }, 200);
  return [];
}"""

# made in the browser from what the page shows: nothing leaves it but the address the student copies
LINK_JS = """(key) => {
  const q = (s) => document.querySelector(s);
  const picked = (id) => { const i = q('#' + id + ' input:checked'); return i ? i.value : ''; };
  const p = new URLSearchParams();
  p.set('tab', key);
  const media = q(key === 'video' ? '#video-input video' : '#' + key + '-image img');
  const src = media ? (media.getAttribute('src') || '') : '';
  if (src.includes('file=')) p.set('image', decodeURIComponent(src.split('file=')[1].split('?')[0]));
  const set = (name, value) => { if (value !== '' && value !== null && value !== undefined) p.set(name, value); };
  set('model', picked(key + '-model'));
  set('precision', picked(key + '-precision'));
  const question = q('#' + (key === 'paligemma' ? 'paligemma-prompt' : key + '-question') + ' textarea');
  if (question) set('q', question.value);
  const chip = picked(key + '-chips');
  if (chip !== '') set('token', String(Number(chip) + 1));
  set('layer', picked(key + '-layer'));
  set('head', picked(key + '-head'));
  set('view', picked(key + '-map'));
  set('cmap', picked(key + '-cmap'));
  const frame = q('#' + key + '-frame input[type=number]');
  if (frame && key === 'video') set('frame', frame.value);
  if (document.body.classList.contains('presenter')) p.set('presenter', '1');
  const url = window.location.origin + window.location.pathname + '?' + p.toString();
  try { navigator.clipboard.writeText(url); } catch (e) { /* not a secure context: the box shows the link */ }
  return url;
}"""

__all__ = ["Target", "PARAMS", "restore", "shared_media", "wire", "LINK_JS", "RUN_JS"]
