"""The PaliGemma tab: a hook for its own issue.

`build()` renders the tab. Until `gitdemo.models.paligemma` exists it shows an honest message.
When it does, the PaliGemma engineer replaces the body of `_build_ready` (and registers the
reserved `/paligemma` API endpoint there); the other tabs need no change.
"""
from __future__ import annotations

import importlib.util

import gradio as gr

API_NAME = "paligemma"  # reserved endpoint name


def available() -> bool:
    try:
        return importlib.util.find_spec("gitdemo.models.paligemma") is not None
    except (ImportError, ValueError):
        return False


def _build_ready() -> None:
    gr.Markdown("PaliGemma's model code is present in this build; its tab (prompts such as `caption en`, "
                "`answer en …`, `detect …`, with boxes and masks drawn) is being wired up.")


def build() -> None:
    with gr.Tab("PaliGemma", id="paligemma"):
        if available():
            _build_ready()
        else:
            gr.Markdown("### PaliGemma: coming soon\nThis tab will run PaliGemma (SigLIP + Gemma) with our own code: "
                        "`caption en`, `answer en …` and `detect …` prompts, `<loc>` boxes drawn on the image, and "
                        "its prefix-LM attention mask beside GIT's. It is not in this build yet: nothing here runs.",
                        elem_id="paligemma-coming")
