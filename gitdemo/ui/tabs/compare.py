"""The Compare tab: one image (and question) through two models side by side, both answers, and for a
chosen word the two heatmaps on ONE colour scale (`explain.compare.shared_scale`).

Any two models the app offers: the embedded Shapes GIT, the Hub's GIT checkpoints, PaliGemma (embedded or
Hub), each at a precision of its own (`registry.precision_choices()`: "auto", exact "fp32", "int8" on a CPU...),
so one model against itself at fp32 and int8 is a comparison too. GIT gets the question as its prompt (none: a
caption); PaliGemma gets `answer en <question>` or `caption en`.

API: `/compare(image, model_a, model_b, question, word, precision_a="auto", precision_b="auto")` -> (answer A,
answer B, heatmap A, heatmap B, caption, JSON {"word", "vmax", "scale", "a": {"model", "precision", "text",
"tokens", "probs", "token", "index", "grid"}, "b": ..., "agreement": `explain.compare.agreement`}); only the
image is required, and the two precisions come last so calls written before they existed still work. Grid values
are relative to an even spread (1 = even).
"""
from __future__ import annotations

import gradio as gr
import numpy as np

from ... import viz
from ...explain.compare import agreement, default_word, find_token, shared_scale, words
from ...lang import say
from ...models.precision import LABELS
from ...pipeline import inputs as pipeline_inputs
from ...pipeline.run import run
from .. import controls, registry
from ..i18n import tr


def model_choices() -> list[tuple[str, str]]:
    return [(registry.label(m), m) for m in registry.NAMES[registry.GIT]] + registry.dropdown_choices(registry.PALIGEMMA)


def defaults() -> tuple[str, str]:
    a = registry.default_model("caption")
    b = registry.EMBEDDED_PALI if registry.embedded_folder() else registry.default_model(registry.PALIGEMMA)
    return a, b


def _prompt(family: str, question: str | None, lang: str = "en") -> str | None:
    if family != registry.PALIGEMMA:
        return question
    return f"answer {lang} {question}" if question else f"caption {lang}"


def _prob(token) -> float | None:
    """The probability the model gave the token it wrote (greedy: the first of its top candidates)."""
    return next((float(p) for text, p in token.top if text == token.text), None)


def _side(name: str, image_path, question, progress, lang: str = "en", precision: str | None = None) -> dict:
    """Run one model at one precision: its answer, its tokens with their probabilities, their default grids
    (first frame) and the picture it saw."""
    loaded = registry.CACHE.get(name, controls.progress_callback(progress), family=registry.family(name or ""),
                                precision=precision or registry.AUTO)
    images = controls.open_images(image_path)
    pali = loaded.family == registry.PALIGEMMA
    prompt = _prompt(loaded.family, question, lang)
    with registry.COMPUTE:
        result = run(loaded.model, loaded.processor, images[0] if pali else images, prompt)
        inputs = pipeline_inputs.prepare(loaded.model, loaded.processor, images[0] if pali else images, prompt)
    pix = inputs.pixel_values[0] if inputs.pixel_values.ndim == 5 else inputs.pixel_values
    ip = loaded.processor.image_processor
    picture = viz.model_view(pix[0].float().cpu().numpy(), ip.image_mean, ip.image_std)
    return {"model": registry.short_name(loaded.name), "precision": loaded.precision, "text": result.text,
            "prompt": prompt, "tokens": [t.text for t in result.tokens], "probs": [_prob(t) for t in result.tokens],
            "grids": [None if t.attention is None else t.attention[0] for t in result.tokens], "picture": picture}


def _small(x: float) -> str:
    return "0" if x == 0 else f"{x:.1e}" if x < 1e-3 else f"{x:.4f}"


def _agreement_line(agree: dict, word: str, ra, rb) -> str:
    same = say("the same answer") if agree["same_text"] else say("different answers")
    parts = [say("**Agreement:** {same}", same=same)]
    pa, pb = agree["word_p"]
    if agree["word_p_diff"] is not None:
        parts.append(say("p('{word}') {pa} (A) vs {pb} (B), a difference of {diff}", word=word, pa=f"{pa:.4f}",
                         pb=f"{pb:.4f}", diff=_small(agree["word_p_diff"])))
    if agree["max_p_diff"] is not None:
        parts.append(say("the largest difference of any token's probability is {diff}",
                         diff=_small(agree["max_p_diff"])))
    if agree["map_max_diff"] is not None:
        parts.append(say("the two maps differ by at most {diff} x an even share per patch and {moved}% of the "
                         "attention sits elsewhere", diff=f"{agree['map_max_diff']:.3f}",
                         moved=f"{100 * agree['map_moved']:.1f}"))
    elif ra is not None and rb is not None:
        parts.append(say("the maps have different grids ({a} vs {b}), so they are not compared patch by patch",
                         a=f"{ra.shape[0]} x {ra.shape[1]}", b=f"{rb.shape[0]} x {rb.shape[1]}"))
    return say("; ").join(parts) + say(".")


def draw(state: dict, word: str | None):
    """(heatmap A, heatmap B, caption, JSON) for one word, on one colour scale."""
    a, b = state["a"], state["b"]
    word = word or default_word(a["tokens"], b["tokens"]) or ""
    ia, ib = find_token(a["tokens"], word), find_token(b["tokens"], word)
    ga = a["grids"][ia] if ia is not None else None
    gb = b["grids"][ib] if ib is not None else None
    ra, rb, vmax = shared_scale(ga, gb)
    figs, lines, data = [], [], {"word": word, "vmax": vmax, "scale": "x even spread (1 = attention spread evenly)"}
    for key, side, i, rel in (("a", a, ia, ra), ("b", b, ib, rb)):
        name = f"{registry.label(side['model'])}, {LABELS.get(side['precision'], side['precision'])}"
        data[key] = {"model": side["model"], "precision": side["precision"], "text": side["text"],
                     "tokens": side["tokens"], "probs": side["probs"], "index": i,
                     "token": None if i is None else side["tokens"][i],
                     "grid": None if rel is None else rel.round(6).tolist()}
        if rel is None:
            figs.append(None)
            lines.append(say("**{side}** ({name}): '{word}' is not in its answer.", side=key.upper(), name=name,
                             word=word))
            continue
        fig = viz.heatmap(side["picture"], rel, side["tokens"][i], 0.5, "viridis", "x even spread", vmin=0.0,
                          vmax=vmax, title=f"{key.upper()}: '{side['tokens'][i].strip()}' ({side['model']}, "
                                           f"{side['precision']})")
        r, c = divmod(int(rel.argmax()), rel.shape[1])
        lines.append(say("**{side}** ({name}): {grid} patches; its peak, at row {row}, column {col}, gets {peak} x "
                         "an even share.", side=key.upper(), name=name, grid=f"{rel.shape[0]} x {rel.shape[1]}",
                         row=r + 1, col=c + 1, peak=f"{rel.max():.1f}"))
        figs.append(fig.image)
    data["agreement"] = agreement(a["text"], b["text"], a["tokens"], b["tokens"], a["probs"], b["probs"], ia, ib,
                                  ra, rb)
    lines.append(_agreement_line(data["agreement"], word, ra, rb))
    caption = say("Where each model looked when it wrote '{word}'. Both maps use ONE colour scale (0 to {vmax} x an "
                  "even spread), so brighter means more attention in either picture, even when the two models cut "
                  "the image into different grids.", word=word, vmax=f"{vmax:.1f}") + "\n\n" + "\n\n".join(lines)
    return figs[0], figs[1], caption, data


def compare(image, model_a=None, model_b=None, question="", word="", precision_a=registry.AUTO,
            precision_b=registry.AUTO, progress=gr.Progress()):
    """The same image (and question) through two models, each at its precision ("auto": the app's default);
    the two heatmaps of `word` (default: the first content word both answers share) on one colour scale."""
    da, db = defaults()
    q = controls.clean_question(question, required=False)
    state = {"a": _side(model_a or da, image, q, progress, precision=precision_a),
             "b": _side(model_b or db, image, q, progress, precision=precision_b)}
    word = str(word or "").strip().lower() or default_word(state["a"]["tokens"], state["b"]["tokens"]) or ""
    state["word"] = word
    heat_a, heat_b, caption, data = draw(state, word)
    return state["a"]["text"], state["b"]["text"], heat_a, heat_b, caption, data, state


def word_menu(state):
    """(the word box, the word picker) after a comparison: the words of both answers, the shown one selected."""
    if not state:
        return gr.update(), gr.update()
    choices = words(state["a"]["tokens"], state["b"]["tokens"])
    word = state.get("word") or ""
    return word, gr.update(choices=choices if word in choices or not word else choices + [word], value=word or None)


def alt_texts(data):
    """Each heatmap's text alternative, with its numbers (set after the API's outputs, which stay plain images)."""
    out = []
    for key in ("a", "b"):
        side = (data or {}).get(key) or {}
        grid = side.get("grid")
        out.append(gr.update(alt_text=viz.html.describe_grid(np.asarray(grid), str(side.get("token") or "").strip())
                             if grid is not None else say("'{word}' is not in this answer.", word=data.get("word"))))
    return out


def picked(state, word):
    """A word picked from both answers: into the word box, and both maps redrawn."""
    return (word or "", *redraw(state, word))


def redraw(state, word):
    if not state:
        raise gr.Error("Compare first: there are no answers yet.")
    return draw(state, word)


def build() -> None:
    da, db = defaults()
    with gr.Tab(tr("Compare"), id="compare"):
        gr.Markdown(tr("The same picture through two models. Both answers, then pick a word: its two heatmaps share "
                    "one colour scale, so you can see which model looked harder, and where."))
        with gr.Row():
            with gr.Column(scale=1):
                image = controls.image_upload("compare-image")
                question = gr.Textbox(label=tr("Question (optional: leave empty for captions)"), max_lines=2,
                                      elem_id="compare-question")
                model_a = gr.Radio(model_choices(), value=da, label=tr("Model A"), elem_id="compare-model-a")
                precision_a = gr.Radio(registry.precision_choices(), value=registry.AUTO,
                                       label=tr("Precision of model A"), elem_id="compare-precision-a")
                model_b = gr.Radio(model_choices(), value=db, label=tr("Model B"), elem_id="compare-model-b")
                precision_b = gr.Radio(registry.precision_choices(), value=registry.AUTO,
                                       label=tr("Precision of model B"), elem_id="compare-precision-b",
                                       info=tr("Pick the same model twice with two precisions (exact fp32 vs "
                                               "int8) to see what the fast arithmetic changes."))
                run_button = gr.Button(tr("Compare"), variant="primary", elem_id="compare-run")
            with gr.Column(scale=2):
                with gr.Row():
                    text_a = gr.Textbox(label=tr("Answer of model A"), interactive=False, elem_id="compare-text-a")
                    text_b = gr.Textbox(label=tr("Answer of model B"), interactive=False, elem_id="compare-text-b")
                with gr.Row():
                    word = gr.Textbox(label=tr("Word to compare"), max_lines=1, elem_id="compare-word",
                                      info=tr("Empty: the first word both answers share."))
                    pick = gr.Radio([], label=tr("Words of the two answers: pick one"), elem_id="compare-words",
                                    elem_classes=["token-chips"])
                with gr.Row():
                    heat_a = gr.Image(label=tr("Model A"), show_label=False, type="pil", format="png", interactive=False,
                                      buttons=["download"], elem_id="compare-heat-a")
                    heat_b = gr.Image(label=tr("Model B"), show_label=False, type="pil", format="png", interactive=False,
                                      buttons=["download"], elem_id="compare-heat-b")
                caption = gr.Markdown(elem_id="compare-caption", elem_classes=["figure-caption"])
                with gr.Accordion(tr("Comparison data, as the API returns it (JSON)"), open=False):
                    data = gr.JSON(label=tr("Comparison"), elem_id="compare-json")
        state = gr.State(None)
    run_button.click(controls.guard(compare), [image, model_a, model_b, question, word, precision_a, precision_b],
                     [text_a, text_b, heat_a, heat_b, caption, data, state], api_name="compare",
                     concurrency_id=controls.GENERATE, concurrency_limit=registry.QUEUE_WORKERS,
                     show_progress="minimal").then(word_menu, state, [word, pick], api_visibility="private")
    data.change(alt_texts, data, [heat_a, heat_b], api_visibility="private", show_progress="hidden", queue=False)
    word.submit(controls.guard(redraw), [state, word], [heat_a, heat_b, caption, data], api_visibility="private",
                concurrency_id=controls.EXPLORE, show_progress="hidden", trigger_mode="always_last")
    pick.input(controls.guard(picked), [state, pick], [word, heat_a, heat_b, caption, data], api_visibility="private",
               concurrency_id=controls.EXPLORE, show_progress="hidden", trigger_mode="always_last")
