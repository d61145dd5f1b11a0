""""The sampling knobs, live" inside the explorer: at the selected step, the next-token distribution, then with
temperature, then cut by top-k / top-p, redrawn as the sliders move (no new generation), the answer's token marked,
and "sample again": how often each token comes out of 100 draws.

The logits come from one teacher-forced pass, made the first time the panel is opened for a result and kept in this
panel's `gr.State` (`explain.sampling`: the top 50 per step); the sliders and the draws then cost no model call.
Bars are HTML drawn by the browser, in a table a screen reader reads row by row.
"""
from __future__ import annotations

import html

import gradio as gr

from ..explain import sampling
from ..lang import say
from ..pipeline import inputs as pipeline_inputs
from . import gpu, registry
from .controls import EXPLORE, guard, open_images, open_video
from .i18n import tr

INTRO = ("Generation picks each token from a probability distribution. Temperature reshapes it (below 1: sharper, "
         "above 1: flatter), top-k keeps the k likeliest tokens, top-p keeps the smallest set whose probability "
         "reaches p. Move the sliders: the bars change without generating again.")
SHOWN = 12  # rows of the table (the answer's token is added when it lies further down)
CSS = """
.gd-knobs table { border-collapse: collapse; font-size: 0.9em; width: 100%; }
.gd-knobs th, .gd-knobs td { border: 1px solid #a1a1aa; padding: 2px 6px; text-align: start; vertical-align: middle;
  white-space: nowrap; }
.gd-knobs .gd-bar { display: inline-block; height: 0.9em; background: #1d4ed8; vertical-align: middle;
  margin-inline-end: 6px; }
.gd-knobs .gd-bar.gd-draw { background: #d55e00; }
.gd-knobs tr.gd-chosen th { font-weight: 700; background: #fef3c7; color: #111827; }
.gd-knobs .gd-cut { color: #52525b; }
"""


def _signature(expl) -> list:
    """What identifies a result: its tokens and where they came from (a new result needs new logits)."""
    o = expl.origin or {}
    return [list(expl.token_ids), str(o.get("key")), str(o.get("media")), str(o.get("prompt")), str(o.get("precision"))]


def model_input(loaded: registry.Loaded, origin: dict):
    """(images, prompt) as the model that wrote the explorer's result read them (origin: `Exploration.origin`)."""
    if loaded.family == registry.PALIGEMMA:
        return open_images(origin["media"])[0], origin.get("prompt") or ""
    if origin.get("video"):
        return open_video(origin["media"], loaded.model.config.num_frames).frames, origin.get("prompt")
    return open_images(origin["media"]), origin.get("prompt")


def _logits(loaded, origin, token_ids):
    images, prompt = model_input(loaded, origin)
    inputs = pipeline_inputs.prepare(loaded.model, loaded.processor, images, prompt)
    return sampling.step_logits(loaded.model, loaded.processor, inputs, token_ids)


def ensure(expl, data):
    """The panel's state for this result: {"for": signature, "logits": StepLogits}, computed once."""
    if data and data.get("for") == _signature(expl):
        return data
    origin = expl.origin
    loaded = registry.CACHE.load(origin["key"], None, origin["precision"])
    return {"for": _signature(expl), "logits": gpu.traced(_logits, loaded, origin, expl.token_ids)}


def number(p: float) -> str:
    """A probability as the table writes it: 3 decimals, tiny ones in scientific notation (not a flat 0.000)."""
    return "0" if p == 0 else f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def _bar(p: float, draw: bool = False) -> str:
    width = max(0.0, min(100.0, 100 * p))
    return f'<span class="gd-bar{" gd-draw" if draw else ""}" style="width:{width * 0.7:.1f}%"></span>'


def render(st: sampling.Stages, counts: list[tuple[int, int]] | None = None, draws: int = sampling.DRAWS) -> str:
    """The table: one row per token (likeliest first), a column per stage, and the draws when there are any."""
    rows = list(range(min(SHOWN, len(st.ids))))
    if st.chosen >= SHOWN:
        rows.append(st.chosen)
    drawn = dict(counts or [])
    heads = [say("token"), say("1. the model's distribution"), say("2. with temperature {t}", t=f"{st.temperature:g}"),
             say("3. after top-k {k} and top-p {p}", k=st.top_k or say("off"), p=f"{st.top_p:g}")]
    if counts is not None:
        heads.append(say("sample again: times in {n} draws", n=draws))
    head = "".join(f"<th scope=col>{html.escape(h)}</th>" for h in heads)
    body = []
    for i in rows:
        text = html.escape(st.texts[i].strip() or repr(st.texts[i]))
        mark = say(" (the answer's token)") if i == st.chosen else ""
        cells = [f"<td>{_bar(st.base[i])}{number(st.base[i])}</td>",
                 f"<td>{_bar(st.tempered[i])}{number(st.tempered[i])}</td>",
                 f"<td>{_bar(st.final[i])}{number(st.final[i])}</td>" if st.final[i] > 0 else
                 f'<td class="gd-cut">{html.escape(say("cut (0)"))}</td>']
        if counts is not None:
            c = drawn.get(i, 0)
            cells.append(f"<td>{_bar(c / max(1, draws), True)}{c}</td>")
        body.append(f'<tr{" class=gd-chosen" if i == st.chosen else ""}><th scope=row>{text}'
                    f'{html.escape(mark)}</th>{"".join(cells)}</tr>')
    other = [f"<td>{_bar(st.other)}{number(st.other)}</td>", "<td></td>", "<td></td>"] + (["<td></td>"] if counts else [])
    body.append(f"<tr><th scope=row>{html.escape(say('all other tokens'))}</th>{''.join(other)}</tr>")
    caption = say("Step {step}: {kept} of the {n} likeliest tokens survive top-k and top-p; the answer's token "
                  "'{token}' has {p} at stage 3.", step=st.step + 1, kept=st.kept, n=len(st.ids),
                  token=st.texts[st.chosen].strip() if st.chosen >= 0 else "?",
                  p=f"{st.final[st.chosen]:.3f}" if st.chosen >= 0 else "0")
    note = say("Stages 2 and 3 are renormalised over the {n} likeliest tokens, which hold {share} of the probability "
               "at temperature 1.", n=len(st.ids), share=f"{sum(st.base):.1%}")
    return (f'<div class="gd-knobs"><table><caption>{html.escape(caption)}</caption>'
            f"<tr>{head}</tr>{''.join(body)}</table><p>{html.escape(note)}</p></div>")


class KnobsPanel:
    """Built inside the explorer's layout (by `MechanismPanel`); `wire(explorer)` connects it."""

    def __init__(self, key: str):
        self.key = key
        self.data = gr.State(None)  # {"for": the result's signature, "logits": sampling.StepLogits}
        self.seed = gr.State(0)
        with gr.Accordion(tr("The sampling knobs, live: temperature, top-k, top-p"), open=False,
                          elem_id=f"{key}-knobs") as self.accordion:
            gr.Markdown(tr(INTRO))
            with gr.Row():
                self.temperature = gr.Slider(0.1, 2.0, value=1.0, step=0.05, label=tr("Temperature"),
                                             elem_id=f"{key}-knobs-t")
                self.top_k = gr.Slider(0, sampling.KEEP, value=0, step=1, precision=0, label=tr("Top-k (0: off)"),
                                       elem_id=f"{key}-knobs-k")
                self.top_p = gr.Slider(0.05, 1.0, value=1.0, step=0.05, label=tr("Top-p (1: off)"),
                                       elem_id=f"{key}-knobs-p")
            self.again = gr.Button(tr("Sample again: 100 draws"), elem_id=f"{key}-knobs-again")
            self.html = gr.HTML("", css_template=CSS, elem_id=f"{key}-knobs-html")

    def _open(self, expl, data, index, t, k, p):
        if expl is None or not getattr(expl, "token_ids", None):
            return data, ""
        data = ensure(expl, data)
        return data, render(sampling.stages(data["logits"], index, t, k, p))

    def _move(self, expl, data, index, t, k, p):
        """Sliders or the selected token moved: redraw from the kept logits (nothing when the panel never opened)."""
        if expl is None or not data or data.get("for") != _signature(expl):
            return gr.skip()
        return render(sampling.stages(data["logits"], index, t, k, p))

    def _again(self, expl, data, index, t, k, p, seed):
        if expl is None or not getattr(expl, "token_ids", None):
            return data, seed, ""
        data = ensure(expl, data)
        st = sampling.stages(data["logits"], index, t, k, p)
        seed = int(seed or 0) + 1
        return data, seed, render(st, sampling.draw(st, sampling.DRAWS, seed))

    def wire(self, explorer) -> None:
        common = dict(concurrency_id=EXPLORE, api_visibility="private")
        knobs = [self.temperature, self.top_k, self.top_p]
        inputs = [explorer.state, self.data, explorer.chips, *knobs]
        self.accordion.expand(guard(self._open), inputs, [self.data, self.html], show_progress="minimal", **common)
        for control in [*knobs, explorer.chips]:
            control.change(guard(self._move), inputs, [self.html], show_progress="hidden",
                           trigger_mode="always_last", **common)
        self.again.click(guard(self._again), [*inputs, self.seed], [self.data, self.seed, self.html],
                         show_progress="minimal", **common)
        explorer.state.change(lambda expl: (None, ""), [explorer.state], [self.data, self.html],
                              api_visibility="private", show_progress="hidden", queue=False)


__all__ = ["KnobsPanel", "render", "ensure", "model_input"]
