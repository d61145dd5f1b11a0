"""Honest messages around a generation: a notice when the offline Shapes model is shown an image that does not
look like its world (it would caption a photo of a person as shapes), and a sentence instead of a blank box when
a model writes no text. The raw answer always stays in the result JSON (`text`); the notice goes there too
(`notice`), so API users see both."""
from __future__ import annotations

import gradio as gr

from ..lang import say, use
from ..shapes.in_world import looks_like_shapes_world
from . import registry

EMPTY = "(The model produced no text for this input.{hint})"
EMBEDDED_HINT = (" The embedded Shapes models know only English prompts about coloured circles, squares and "
                 "triangles; try one of the examples' prompts, or a Hub model when online.")


def hub_alternative(task: str) -> str:
    """The Hub model to name when the Shapes model is out of its depth."""
    if task == "paligemma":
        return registry.PALI_MODELS[0] + " (gated: needs HF_TOKEN)"
    return registry.ONLINE_DEFAULT.get(task) if registry.ONLINE_DEFAULT.get(task) != registry.EMBEDDED \
        else registry.CAPTION_MODELS[0]


def is_embedded(name: str) -> bool:
    return name in (registry.EMBEDDED, registry.EMBEDDED_PALI)


WORLD = ("This image does not look like the Shapes world. The offline model only knows coloured circles, squares and "
         "triangles on a plain light background, so its answer says nothing about this picture. For photos, pick a "
         "Hub model such as {model} in the model menu (needs the internet).")


def world_notice(name: str, images, task: str) -> str | None:
    """A notice (also shown as a warning toast, in the page's language) when an embedded Shapes model gets an image
    from outside its world. The notice returned (for the JSON) is English, as the API's texts are."""
    if not is_embedded(name) or not images or looks_like_shapes_world(images[0]):
        return None
    try:
        gr.Warning(say(WORLD, model=hub_alternative(task)), duration=15)
    except Exception:  # noqa: BLE001 - outside a request (tests, CLI) there is nowhere to show it
        pass
    with use("en"):
        return say(WORLD, model=hub_alternative(task))


def shown_text(text: str, name: str) -> str:
    """What the text box shows: the answer, or a sentence when it is empty."""
    if str(text or "").strip():
        return text
    hint = say(EMBEDDED_HINT) if is_embedded(name) else say(" Try another prompt or a longer answer.")
    return say(EMPTY, hint=hint)


def finish(text: str, payload: dict | None, name: str, notice: str | None):
    """The last update: (shown text, payload with the notice); the payload keeps the raw `text`."""
    if payload is not None and notice:
        payload["notice"] = notice
    return shown_text(text, name), payload


__all__ = ["world_notice", "shown_text", "finish", "hub_alternative", "EMPTY"]
