"""Presenter mode, for a projector: large type, strong contrast, the lesson's controls only, large figures.

One switch at the top of the page (a checkbox) and `?presenter=1` in the address turn it on; both set the CSS
class `presenter` on the page's body, in the browser only (no server event). What it hides: the folded
decoding settings, the precision pickers, the JSON panels, the local-folder box and Gradio's footer; what it
enlarges: every text (through Gradio's own size variables), the tokens, the figures and the class code.
"""
from __future__ import annotations

import gradio as gr

from .i18n import tr

SWITCH_ID = "presenter-switch"
# the advanced controls a lesson does not need on the projector (folded accordions are found by what they hold)
# (the folded decoding settings and JSON panels carry the class `presenter-hide`, set where they are built)
HIDDEN = ("[id$='-precision']", "#paligemma-folder", "footer", ".presenter-hide")

CSS = """
body.presenter .gradio-container {
  --text-xxs: 14px; --text-xs: 16px; --text-sm: 19px; --text-md: 22px; --text-lg: 26px; --text-xl: 32px;
  --text-xxl: 40px; --block-label-text-size: 20px; --block-info-text-size: 18px; --block-title-text-size: 22px;
  --input-text-size: 22px; --button-large-text-size: 24px; --button-small-text-size: 20px;
  --section-header-text-size: 22px; --prose-text-size: 22px; --prose-header-text-weight: 700;
  --body-text-color: #000; --body-text-color-subdued: #1f1f1f; --block-info-text-color: #1f1f1f;
  --block-label-text-color: #000; --block-title-text-color: #000; --input-placeholder-color: #3f3f46;
  --block-border-color: #52525b; --background-fill-primary: #fff;
  max-width: 100% !important; font-size: 22px;
}
body.presenter .gradio-container .prose, body.presenter .gradio-container .prose * { color: #000; }
HIDE { display: none !important; }
body.presenter .token-chips label { font-size: 24px !important; padding: 6px 16px !important; }
body.presenter .gradio-container img { max-height: none !important; }
body.presenter [data-testid="image"] { min-height: 420px; }
body.presenter .room-code-text { font-size: 120px; }
body.presenter .wall-grid { grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); }
.room-code { text-align: center; padding: 8px; }
.room-code-label { font-size: 1.1em; }
.room-code-text { font-size: 64px; font-weight: 800; letter-spacing: 0.08em; font-family: ui-monospace, monospace;
  color: #000; }
#presenter-switch { max-width: 360px; }
""".replace("HIDE", ", ".join(f"body.presenter {h}" for h in HIDDEN))

JS = """() => {
  window.gitdemoPresent = (on) => document.body.classList.toggle('presenter', !!on);
  const wanted = ['1', 'true', 'on', 'yes'].includes(
    (new URLSearchParams(window.location.search).get('presenter') || '').toLowerCase());
  if (!wanted) return;
  const start = Date.now();
  const wait = setInterval(() => {
    const box = document.querySelector('#%s input[type=checkbox]');
    if (box || Date.now() - start > 20000) {
      clearInterval(wait);
      window.gitdemoPresent(true);
      if (box && !box.checked) box.click();
    }
  }, 200);
}""" % SWITCH_ID


def together(*scripts: str) -> str:
    """One `launch(js=...)` function that runs each of `scripts` (each a `() => {...}` function)."""
    return "() => {\n" + "\n".join(f"  ({s})();" for s in scripts) + "\n}"


def switch() -> gr.Checkbox:
    """The switch (call inside the Blocks): it toggles the body's class in the browser, no server event."""
    box = gr.Checkbox(False, label=tr("Presenter mode (projector: large type, the lesson's controls only)"),
                      elem_id=SWITCH_ID)
    box.change(None, box, None, js="(on) => { window.gitdemoPresent && window.gitdemoPresent(on); return []; }")
    return box


__all__ = ["CSS", "JS", "switch", "together", "SWITCH_ID"]
