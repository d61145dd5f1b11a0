"""'Test this map' under the explorer, and the `/faithfulness` API endpoint: does a map point at what the
model used? (the deletion test of `gitdemo.explain.faithfulness`)

For the selected token: the deletion curve of the three views (raw attention, rollout, relevancy) against
random patches, and an occlusion counterfactual: click patches of the picture (or hide the top k of a map),
caption again, and compare the old and new captions and the token's probability.
"""
from __future__ import annotations

import gradio as gr
import numpy as np

from .. import viz
from ..errors import InputError
from ..explain import faithfulness as fa
from ..lang import say
from ..pipeline import inputs as pipeline_inputs
from . import registry
from .controls import EXPLORE, guard, open_images, open_video
from .i18n import choices, tr

HIDE_HINT = ("Hidden patches are painted in the image's mean colour (what the model then sees). "
             "Click a square of the picture to hide it or show it again.")
LESSON = ("Attention shows where information *could* flow. Does hiding what a map points at change the word? The curve "
          "hides the patches each map ranks highest; the counterfactual captions the picture again with the patches "
          "you choose hidden. " + HIDE_HINT)


def _inputs(payload: dict, media, video: bool):
    """The model and the encoded input that produced the explorer's result (as `explorer.exploration` does)."""
    if not payload or not payload.get("tokens"):
        raise InputError("Generate something first: there is no token to test yet.")
    # the tests run on the exact model: relevancy needs gradients, which int8 layers do not give
    loaded = registry.CACHE.load(registry.key_of(payload), None, "fp32")
    if loaded.family == registry.PALIGEMMA:
        images, prompt = open_images(media)[0], payload.get("prompt") or ""
    else:
        images = open_video(media, loaded.model.config.num_frames).frames if video else open_images(media)
        prompt = payload.get("question")
    return loaded, pipeline_inputs.prepare(loaded.model, loaded.processor, images, prompt)


def _empty(expl) -> np.ndarray:
    lay = expl.layout
    return np.zeros((lay.num_frames, lay.rows, lay.cols), dtype=bool)


def picture(expl, hidden: np.ndarray | None) -> str:
    """The model's view of frame 1 with its patch grid, the hidden patches painted in the image's mean colour: an
    HTML grid the browser draws, each cell a focusable toggle (click, or arrow keys and Enter)."""
    lay = expl.layout
    mean = np.asarray(expl.frames[0].convert("RGB"), dtype=np.float64).reshape(-1, 3).mean(0)
    fill = "#" + "".join(f"{int(round(v)):02x}" for v in mean)
    hid = hidden[0] if hidden is not None else np.zeros((lay.rows, lay.cols), dtype=bool)
    n = int(hid.sum())
    caption = say("{n} of {total} patches hidden. Click a square (or press Enter on it) to hide it or show it again.",
                  n=n, total=hid.size)
    return viz.html.toggle_grid(expl.picture_uris()[0], hid, fill, say("Click patches to hide them"), caption)


class TestThisMap:
    """The section's components; `wire` connects them to an `Explorer` and its tab's inputs."""

    def __init__(self, key: str, video: bool = False):
        self.key, self.video = key, video
        self.hidden = gr.State(None)
        with gr.Accordion(tr("Test this map: hide patches and watch the token"), open=False):
            gr.Markdown(tr(LESSON))
            self.curve_run = gr.Button(tr("Draw the deletion curve for the selected token"),
                                       elem_id=f"{key}-faith-curve-run")
            self.curve = gr.HTML("", elem_id=f"{key}-faith-curve", elem_classes=["figure-html"])
            with gr.Row():
                self.picture = gr.HTML("", elem_id=f"{key}-faith-picture", elem_classes=["figure-html"],
                                       js_on_load=viz.html.HEAT_JS)
                with gr.Column():
                    self.view = gr.Radio(choices((fa.VIEW_TITLES[v], v) for v in fa.VIEWS),
                                         value=fa.DEFAULT_VIEW, label=tr("Map"), elem_id=f"{key}-faith-view")
                    self.k = gr.Slider(1, 24, value=5, step=1, precision=0, label=tr("Patches to hide (top k)"))
                    self.top = gr.Button(tr("Hide the top k of this map"), elem_id=f"{key}-faith-top")
                    self.clear = gr.Button(tr("Show every patch again"))
                    self.run = gr.Button(tr("Caption again with these patches hidden"), variant="primary",
                                         elem_id=f"{key}-faith-run")
            self.result = gr.Markdown(elem_id=f"{key}-faith-result")

    # -- handlers
    @property
    def reset_outputs(self) -> list:
        """Cleared by the explorer's own build (no event of their own: a page's explorer costs one event)."""
        return [self.hidden, self.picture, self.curve, self.result]

    def _reset(self, expl):
        if expl is None:
            return None, "", "", ""
        return _empty(expl), picture(expl, None), "", ""

    def _curve(self, media, payload, expl, index):
        if expl is None:
            raise InputError("Generate something first: there is no token to test yet.")
        loaded, inputs = _inputs(payload, media, self.video)
        step = int(min(max(int(index or 0), 0), len(expl.token_ids) - 1))
        d = fa.curve(loaded.model, inputs, expl.token_ids, step)
        drops = {say(fa.VIEW_TITLES[v]): [row[0] for row in d.drop[v]] for v in fa.VIEWS}
        return curve_html(d.fractions, drops, [row[0] for row in d.random], expl.tokens[step], d.base[0])

    def _click(self, expl, hidden, evt: gr.EventData):
        if expl is None:
            raise InputError("Generate something first.")
        hidden = _empty(expl) if hidden is None else hidden.copy()
        data = getattr(evt, "_data", None) or {}
        lay = expl.layout
        try:
            r, c = min(max(int(data["row"]), 0), lay.rows - 1), min(max(int(data["col"]), 0), lay.cols - 1)
        except (KeyError, TypeError, ValueError):
            raise InputError("Pick a patch of the picture.") from None
        hidden[0, r, c] = not hidden[0, r, c]
        return hidden, picture(expl, hidden)

    def _top(self, media, payload, expl, index, view, k):
        if expl is None:
            raise InputError("Generate something first.")
        loaded, inputs = _inputs(payload, media, self.video)
        step = int(min(max(int(index or 0), 0), len(expl.token_ids) - 1))
        grid = fa.view_maps(loaded.model, inputs, expl.token_ids, [step])[view if view in fa.VIEWS else fa.DEFAULT_VIEW][0]
        hidden = fa.top_patches(grid, int(k or 5))
        return hidden, picture(expl, hidden)

    def _clear(self, expl):
        return (None, "") if expl is None else (_empty(expl), picture(expl, None))

    def _run(self, media, payload, expl, index, hidden):
        if expl is None:
            raise InputError("Generate something first.")
        if hidden is None or not np.any(hidden):
            raise InputError("Hide at least one patch first: click the picture, or hide the top k of a map.")
        loaded, inputs = _inputs(payload, media, self.video)
        step = int(min(max(int(index or 0), 0), len(expl.token_ids) - 1))
        cf = fa.counterfactual(loaded.model, loaded.processor, inputs, expl.token_ids, step, hidden)
        change = cf.p_new - cf.p_old
        return say("| | caption | p('{token}') at step {step} |\n| --- | --- | --- |\n"
                   "| whole image | {old} | {p_old} |\n"
                   "| {hidden} patches hidden | {new} | {p_new} ({change}) |\n\n"
                   "The probability on the second row is read on the *old* caption (teacher-forced), so it says how "
                   "much the hidden patches mattered for '{token}' there.", token=cf.token, step=step + 1,
                   old=cf.old_text, p_old=f"{cf.p_old:.3f}", hidden=cf.hidden, new=cf.new_text, p_new=f"{cf.p_new:.3f}",
                   change=f"{change:+.3f}")

    def wire(self, explorer, media, payload) -> None:
        common = dict(concurrency_id=EXPLORE, api_visibility="undocumented")
        k = self.key
        self.curve_run.click(guard(self._curve), [media, payload, explorer.state, explorer.chips],
                             [self.curve], api_name=f"{k}_faith_curve", **common)
        self.picture.select(guard(self._click), [explorer.state, self.hidden], [self.hidden, self.picture],
                            api_name=f"{k}_faith_click", **common)
        self.top.click(guard(self._top), [media, payload, explorer.state, explorer.chips, self.view, self.k],
                       [self.hidden, self.picture], api_name=f"{k}_faith_top", **common)
        self.clear.click(guard(self._clear), [explorer.state], [self.hidden, self.picture],
                         api_name=f"{k}_faith_clear", **common)
        self.run.click(guard(self._run), [media, payload, explorer.state, explorer.chips, self.hidden],
                       [self.result], api_name=f"{k}_faith_run", **common)


def curve_html(fractions, drops: dict, random, token: str, p_base: float) -> str:
    """The deletion curve drawn by the browser (SVG, and its numbers as a table): the same figure and caption as
    `viz.curves.deletion_curve`, which stays for PNG export."""
    colours = ["#D55E00", "#0072B2", "#009E73", "#E69F00"]
    series = [(name, list(d), colour, False) for (name, d), colour in zip(drops.items(), colours)]
    series.append((say("random patches"), list(random), "#6b6b6b", True))
    caption = say("Hide the patches each map ranks highest (painted in the image's mean colour) and watch the "
                  "probability of '{token}' fall (p = {p} on the whole image). A map that shows what the model used "
                  "falls fast; the dashed line hides as many random patches (mean of several draws).", token=token,
                  p=f"{p_base:.2f}")
    return viz.html.lines([round(100 * f, 1) for f in fractions], series,
                          say("Deletion test for '{token}' (p = {p})", token=token, p=f"{p_base:.2f}"), caption,
                          say("patches hidden (%)"), say("probability drop"))


# ----------------------------------------------------------------------------- the API endpoint
def _step(processor, ids: list[int], token) -> int:
    """A token index (counted from 0) or a word of the caption (its first occurrence)."""
    text = str(token if token is not None else "0").strip()
    if text.lstrip("-").isdigit():
        i = int(text)
        if not 0 <= i < len(ids):
            raise InputError(f"Token index {i} is outside the caption's {len(ids)} tokens (count from 0).")
        return i
    words = [pipeline_inputs.token_text(processor, t).strip().lower() for t in ids]
    if text.lower() not in words:
        raise InputError(f"'{text}' is not a token of the caption ({' '.join(words)}).")
    return words.index(text.lower())


def faithfulness(image, model=None, token="0"):
    """Caption the image greedily, then run the deletion test for one token (an index from 0 or a word):
    {"caption", "tokens", "index", "token", "p", "fraction", "hidden", "default_view",
     "views": {view: {"drop_top", "drop_random"}}} for 10% of the patches hidden."""
    loaded = registry.CACHE.get(model or None, precision="fp32")  # exact: relevancy needs gradients
    prompt = "caption en" if loaded.family == registry.PALIGEMMA else None
    inputs = pipeline_inputs.prepare(loaded.model, loaded.processor, open_images(image)[0], prompt)
    ids = fa.greedy_answer(loaded.model, loaded.processor, inputs)
    if not ids:
        raise InputError("The model produced no tokens, so there is nothing to test.")
    step = _step(loaded.processor, ids, token)
    d = fa.deletion(loaded.model, inputs, ids, [step], (0.1,), 8)
    return {"caption": loaded.processor.decode(ids).strip(),
            "tokens": [pipeline_inputs.token_text(loaded.processor, t) for t in ids], "index": step,
            "token": pipeline_inputs.token_text(loaded.processor, ids[step]).strip(), "p": d.base[0],
            "fraction": 0.1, "hidden": d.k[0], "default_view": fa.DEFAULT_VIEW,
            "views": {v: {"drop_top": d.drop[v][0][0], "drop_random": d.random[0][0]} for v in fa.VIEWS}}


def api() -> None:
    """The `/faithfulness(image, model, token)` endpoint, on hidden components (call inside the Blocks)."""
    with gr.Row(visible=False):
        image = gr.Image(type="filepath", label="Image")
        model = gr.Textbox(label="Model", value="")
        token = gr.Textbox(label="Token (index from 0, or a word)", value="0")
        out = gr.JSON(label="Deletion test")
        button = gr.Button("faithfulness")
    button.click(guard(faithfulness), [image, model, token], out, api_name="faithfulness", concurrency_id=EXPLORE)


__all__ = ["TestThisMap", "picture", "faithfulness", "api"]
