""""Attention step by step" inside the explorer, and the `/attention_scores` endpoint.

For the explorer's selected token (or an image patch's own query), layer and head: the raw scores q·k/√d over every
key, the keys the mask blocks with the rule that blocks them, the softmax, and the weights (the explorer's map).
The numbers come from the model's own attention (`explain.scores`, one extra forward pass), so the panel is a
closed accordion computed only when it is opened or its button is pressed. The HTML is `scores_html`.

API: `/attention_scores(image, model, question, token, layer, head)` -> {"token", "layer", "head", "keys": [{"kind",
"row", "col", "frame", "text"}], "scores", "masked", "weights", ...}; token, layer and head count from 1; `question` is
GIT's question or PaliGemma's prompt; the answer is the greedy one for those inputs.
"""
from __future__ import annotations

import html

import gradio as gr

from ..errors import InputError
from ..explain import faithfulness as fa
from ..explain.scores import step_scores
from ..lang import say
from ..pipeline import inputs as pipeline_inputs
from . import gpu, registry, scores_html
from .controls import EXPLORE, guard, open_images, open_video
from .i18n import choices, tr
from .knobs import KnobsPanel, model_input

INTRO = ("How one head turns scores into attention: each key gets a score q·k/√d (the query's vector times the "
         "key's, scaled), the mask blocks the keys this query may not read, and softmax turns the open scores into "
         "weights that sum to 1. Pick a token above, a layer and a head, then open this panel or press the button.")
HINT = "Generate something above, pick a token, a layer and a head, then press the button."
VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".avi", ".mkv", ".gif")


def _choice(value, count: int, fallback: int = 0) -> tuple[int, bool]:
    """A layer or head menu's value ("mean", "max" or "1".."n") -> (index from 0, whether it was a number)."""
    try:
        return min(max(int(str(value)) - 1, 0), count - 1), True
    except (TypeError, ValueError):
        return fallback, False


def _scores(loaded, origin, token_ids, layer, head, token, patch):
    images, prompt = model_input(loaded, origin)
    inputs = pipeline_inputs.prepare(loaded.model, loaded.processor, images, prompt)
    return step_scores(loaded.model, loaded.processor, inputs, token_ids, layer, head, token, patch)


class MechanismPanel:
    """Built inside the explorer's layout (with the sampling knobs, `knobs.KnobsPanel`, right after it);
    `wire(explorer)` after the explorer's own events."""

    def __init__(self, key: str):
        self.key = key
        with gr.Accordion(tr("Attention step by step: scores, mask, softmax"), open=False,
                          elem_id=f"{key}-mechanism") as self.accordion:
            gr.Markdown(tr(INTRO))
            with gr.Row():
                self.query = gr.Radio(choices([("the selected token's query", "token"),
                                               ("an image patch's own query", "patch")]), value="token",
                                      label=tr("Whose query"), elem_id=f"{key}-mech-query")
                self.row = gr.Number(1, precision=0, minimum=1, label=tr("Patch row"), elem_id=f"{key}-mech-row")
                self.col = gr.Number(1, precision=0, minimum=1, label=tr("Patch column"), elem_id=f"{key}-mech-col")
                self.frame = gr.Number(1, precision=0, minimum=1, label=tr("Patch frame (video)"),
                                       elem_id=f"{key}-mech-frame")
            self.run = gr.Button(tr("Show this step for the selected token, layer and head"),
                                 elem_id=f"{key}-mech-run")
            self.html = gr.HTML("", css_template=scores_html.CSS,
                                js_on_load=scores_html.KEYS_JS, elem_id=f"{key}-mech-html")
        self.knobs = KnobsPanel(key)  # the sampling knobs sit right after it (one hook in the explorer for both)

    def _show(self, expl, index, layer, head, query, row, col, frame):
        if expl is None or not getattr(expl, "token_ids", None):
            return f"<p>{html.escape(say(HINT))}</p>"
        origin = expl.origin
        if not origin:
            raise InputError("This result carries no input to recompute it from; generate again.")
        loaded = registry.CACHE.load(origin["key"], None, origin["precision"])
        layers = loaded.model.num_decoder_layers()
        heads = expl.num_heads
        li, layer_given = _choice(layer, layers)
        hi, head_given = _choice(head, heads)
        notes = []
        if not layer_given or not head_given:
            notes.append(say("One head of one layer: the explorer shows a mean or max, so this shows layer {layer}, "
                             "head {head}; pick a number in the Layer and Head menus for another.",
                             layer=li + 1, head=hi + 1))
        t = int(min(max(int(index or 0), 0), len(expl.token_ids) - 1))
        patch = None
        if query == "patch":
            lay = expl.layout
            patch = (int(min(max(int(frame or 1), 1), lay.num_frames)), int(min(max(int(row or 1), 1), lay.rows)),
                     int(min(max(int(col or 1), 1), lay.cols)))
        view = gpu.traced(_scores, loaded, origin, expl.token_ids, li, hi, t, patch)
        if patch is None:
            query_text = say("token {n} '{token}' (it reads what came before it)", n=t + 1, token=expl.tokens[t])
        else:
            query_text = scores_html.key_name(view, view.query)
        if loaded.precision != "fp32":
            notes.append(say("Computed at precision {precision}, as the answer was.", precision=loaded.precision))
        return scores_html.render(view, expl.frames, query_text, " ".join(notes))

    def _reset(self, expl):
        return "" if expl is None else f"<p>{html.escape(say(HINT))}</p>"

    def wire(self, explorer) -> None:
        """Computed on opening and on the button only (one forward pass each); a new result clears it."""
        common = dict(concurrency_id=EXPLORE, api_visibility="private", show_progress="minimal")
        inputs = [explorer.state, explorer.chips, explorer.layer, explorer.head, self.query, self.row, self.col,
                  self.frame]
        self.accordion.expand(guard(self._show), inputs, [self.html], **common)
        self.run.click(guard(self._show), inputs, [self.html], **common)
        explorer.state.change(self._reset, [explorer.state], [self.html], api_visibility="private",
                              show_progress="hidden", queue=False)
        self.knobs.wire(explorer)


# ----------------------------------------------------------------------------- the API endpoint
def _number(value, name: str) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        raise InputError(f"The {name} must be a whole number counted from 1.") from None


def attention_scores(image, model=None, question="", token=1, layer=1, head=1):
    """One head's attention step by step for the greedy answer to an image: the raw scores q·k/√d of one
    generated token's query over every key in the model's order, which keys the attention mask blocks (and
    why), and the softmax weights (the explorer's map for that layer and head).

    Args:
        image: the picture (a file path or URL); for GIT's video models also a video file.
        model: "embedded" (the Shapes GIT), "embedded-paligemma", or a GIT / PaliGemma checkpoint of the menus;
            empty for the default.
        question: GIT's question (empty for a caption) or PaliGemma's prompt (empty: "caption en").
        token: which generated token, counted from 1.
        layer: which decoder layer, counted from 1.
        head: which attention head, counted from 1.

    Returns:
        {"token", "layer", "head", "keys": [{"kind": "image"|"cls"|"prompt"|"answer", "row", "col", "frame",
        "text"}], "scores", "masked", "weights", "reasons", "query", "family", "answer", "grid", "model"}.
    """
    loaded = registry.CACHE.get(model or None, precision="fp32")
    pali = loaded.family == registry.PALIGEMMA
    path = str(image or "")
    if not pali and path.lower().endswith(VIDEO_SUFFIXES):
        images = open_video(path, loaded.model.config.num_frames).frames
    else:
        images = open_images(image)[0] if pali else open_images(image)
    prompt = (str(question or "").strip() or "caption en") if pali else (str(question or "").strip() or None)
    inputs = pipeline_inputs.prepare(loaded.model, loaded.processor, images, prompt)
    ids = fa.greedy_answer(loaded.model, loaded.processor, inputs)
    if not ids:
        raise InputError("The model produced no tokens, so there is no attention to explore.")
    t, lay, hd = _number(token, "token"), _number(layer, "layer"), _number(head, "head")
    view = step_scores(loaded.model, loaded.processor, inputs, ids, lay - 1, hd - 1, t - 1)
    return {**view.to_json(), "answer": loaded.processor.decode(ids).strip(), "model": loaded.name}


def api() -> None:
    """The `/attention_scores(image, model, question, token, layer, head)` endpoint, on hidden components."""
    with gr.Row(visible=False):
        image = gr.File(type="filepath", label="Image (or a video, for GIT's video models)")
        model = gr.Textbox(label="Model", value="")
        question = gr.Textbox(label="Question (GIT) or prompt (PaliGemma)", value="")
        token = gr.Number(1, precision=0, label="Token (from 1)")
        layer = gr.Number(1, precision=0, label="Layer (from 1)")
        head = gr.Number(1, precision=0, label="Head (from 1)")
        out = gr.JSON(label="Attention scores")
        button = gr.Button("attention_scores")
    button.click(guard(attention_scores), [image, model, question, token, layer, head], out,
                 api_name="attention_scores", concurrency_id=EXPLORE)


__all__ = ["MechanismPanel", "attention_scores", "api", "model_input"]
