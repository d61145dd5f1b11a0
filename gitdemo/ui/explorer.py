"""The attention explorer under every tab, GIT or PaliGemma: token chips, scrubber, view controls, figures.

It is built when the tab's JSON result changes (its `.change` event), from the generation's own record: the
generation event leaves its `pipeline.Result` in `self.record` (this page's `gr.State`), and `exploring.explore`
turns it into an `Exploration` with no model call. A result without a record (a cached example, a JSON sent over
the API) costs one teacher-forced pass instead. All it keeps is one `Exploration` per user, in `gr.State`.

What changes on every click is drawn by the browser: the heatmap is an HTML grid of focusable cells over the
picture (arrow keys move, Enter picks a patch for "which tokens read it"), the top-k and share figures are HTML
tables and bars. The small multiples, rollout, vision and mask figures sit in closed accordions and are drawn on
the server (PIL) only when opened. Rollout needs one teacher-forced pass and relevancy a backward pass: each is
computed the first time its view is asked for, for every token at once, and kept on the `Exploration`.
"""
from __future__ import annotations

import os
import tempfile

import gradio as gr
import numpy as np

from .. import explain, viz
from ..explain.maps import DEFAULT_VIEW, VIEWS
from ..explain.views import Exploration, View, mask_figure, render, render_png, token_summary
from ..lang import say
from . import registry
from .controls import EXPLORE, guard, progress_callback
from .exploring import ensure_relevancy, ensure_trace, exploration, explore
from .faithful import TestThisMap
from .i18n import choices, local, marker, tr
from .mechanism import MechanismPanel
from .patches import PatchPanel
from .share import LINK_JS

STATE_TTL_S = int(os.environ.get("GITDEMO_STATE_TTL_S", "3600"))
HTML_FIGURES = ("heatmap", "topk", "share", "frames")  # drawn by the browser, one gr.HTML each
IMAGE_FIGURES = ("layers", "heads", "rollout", "vision")  # drawn on the server when their accordion opens
FIGURES = HTML_FIGURES + IMAGE_FIGURES
MAP_LABELS = {"attention": "raw attention (default)", "rollout": "attention rollout",
              "relevancy": "relevancy (gradient-weighted; computed on demand)"}
# figures inside closed accordions: drawn when their accordion opens (.expand), not on every click
LAZY = {"layers": ("layers", "heads"), "rollout": ("rollout",), "vision": ("vision",), "mask": ()}


class Slot:
    """One figure's components: an HTML block (browser-drawn), or an image with its caption (alt text too)."""

    def __init__(self, label: str, elem_id: str, html: bool = False):
        self.html = html
        if html:
            js = viz.html.HEAT_JS if elem_id.endswith("-heatmap") else None
            self.components = [gr.HTML("", elem_id=elem_id, elem_classes=["figure-html"], js_on_load=js)]
            return
        image = gr.Image(label=tr(label), show_label=False, type="pil", format="png", interactive=False,
                         buttons=["download", "fullscreen"], elem_id=elem_id)
        caption = gr.Markdown(elem_id=f"{elem_id}-caption", elem_classes=["figure-caption"])
        self.components = [image, caption]

    def values(self, fig: viz.Figure | None, skip: bool = False) -> list:
        if skip:
            return [gr.skip()] * len(self.components)
        if self.html:
            return [fig.html if fig is not None else ""]
        if fig is None:
            return [None, ""]
        return [gr.update(value=fig.image, alt_text=fig.caption), fig.caption]


def _cache_folder() -> str:
    from gradio.utils import get_upload_folder

    folder = get_upload_folder()
    os.makedirs(folder, exist_ok=True)
    return folder


def _status(expl: Exploration) -> str:
    t = len(expl.tokens)
    if not expl.layout.has_cls:  # SigLIP (PaliGemma)
        return say("Exploring **{text}** ({n} tokens). SigLIP has no class token: the maps cover its {rows} x {cols} "
                   "patches. Click a token, or use the scrubber.", text=expl.text, n=t, rows=expl.layout.rows,
                   cols=expl.layout.cols)
    return say("Exploring **{text}** ({n} tokens, model {model}). Click a token, or step through the generation with "
               "the scrubber.", text=expl.text, n=t, model=local(registry.label(expl.model_name)))


def _precision_note(precision: str) -> str:
    """Which arithmetic produced the maps: int8 moves attention a little (docs/results.md)."""
    from ..models.precision import LABELS

    exact = say(" Pick exact (fp32) above and generate again for the model's exact maps.") if precision != "fp32" \
        else ""
    return say(" Maps computed at precision {precision}.", precision=local(LABELS.get(precision, precision))) + exact


class Explorer:
    """One explorer per tab; `key` prefixes its element ids and API names, `video` adds frames."""

    def __init__(self, key: str, video: bool = False):
        self.key, self.video = key, video
        self.state = gr.State(None, time_to_live=STATE_TTL_S)
        self.record = gr.State(None, time_to_live=STATE_TTL_S)  # the tab's last pipeline.Result (its record)
        self.open = gr.State([])  # the lazy sections (LAZY) this user has open
        self.want = gr.State(None)  # where to open the next result (a shared link, a lesson step), then None
        self.accordions: dict[str, gr.Accordion] = {}
        with gr.Group(elem_classes=["explorer"]):
            gr.Markdown(tr("### Attention explorer\nWhere did the model look while it wrote each token? "
                        "Attention shows where information *could* flow, not *why* the model decided."))
            self.status = gr.Markdown(tr("Generate something above, then click one of its tokens."),
                                      elem_id=f"{key}-status")
            self.chips = gr.Radio(choices=[], label=tr("Generated tokens: click one"), interactive=True,
                                  elem_id=f"{key}-chips", elem_classes=["token-chips"])
            self.scrubber = gr.Slider(1, 2, value=1, step=1, precision=0, label=tr("Generation scrubber: step"),
                                      interactive=False, elem_id=f"{key}-scrubber")
            self.step_text = gr.Markdown(elem_id=f"{key}-step")
            with gr.Row():
                self.share = gr.Button(tr("Share this view (copy its link)"), size="sm", elem_id=f"{key}-share-view",
                                       scale=0)
                self.link = gr.Textbox(label=tr("Link to this view"), interactive=False, max_lines=1,
                                       buttons=["copy"], elem_id=f"{key}-link", scale=3)
            self.slots: dict[str, Slot | None] = {}
            with gr.Row():
                with gr.Column(scale=3):
                    self.slots["heatmap"] = Slot("Attention over the image", f"{key}-heatmap", html=True)
                with gr.Column(scale=2):
                    self.slots["topk"] = Slot("Next-token probabilities", f"{key}-topk", html=True)
                    self.slots["share"] = Slot("Image vs text", f"{key}-share", html=True)
                    self.png = gr.Button(tr("These figures as PNG files"), size="sm", elem_id=f"{key}-png")
                    self.png_files = gr.File(label=tr("Figures (PNG)"), file_count="multiple", visible=False,
                                             interactive=False, elem_id=f"{key}-png-files")
            with gr.Row():
                self.layer = gr.Radio([(marker("mean of all layers"), "mean")], value="mean", label=tr("Layer"),
                                      elem_id=f"{key}-layer", elem_classes=["token-chips"])
                self.head = gr.Radio([(marker("mean over heads"), "mean"), (marker("max over heads"), "max")],
                                     value="mean", label=tr("Head"), elem_id=f"{key}-head",
                                     elem_classes=["token-chips"])
            with gr.Row():
                self.map = gr.Radio(choices((MAP_LABELS[v], v) for v in VIEWS), value=DEFAULT_VIEW,
                                    label=tr("What the heatmap shows"), elem_id=f"{key}-map")
                self.cmap = gr.Radio(list(viz.CMAPS), value="viridis", label=tr("Colour map (colour-blind safe)"),
                                     elem_id=f"{key}-cmap")
                self.frame = gr.Slider(1, 6, value=1, step=1, precision=0, label=tr("Frame"), visible=video,
                                       elem_id=f"{key}-frame")
            with gr.Row():
                self.opacity = gr.Slider(0.0, 1.0, value=0.5, step=0.05, label=tr("Heatmap opacity"),
                                         elem_id=f"{key}-opacity")
                self.drop_sink = gr.Checkbox(value=True, label=tr("Leave out the CLS sink (rescale the patches to 100%)"),
                                             elem_id=f"{key}-sink")
                self.shared = gr.Checkbox(value=True, label=tr("One colour scale for all small multiples"),
                                          elem_id=f"{key}-shared")
            if video:
                with gr.Accordion(tr("Frames: where each frame is looked at"), open=True):
                    self.slots["frames"] = Slot("Sampled frames", f"{key}-frames", html=True)
            else:
                self.slots["frames"] = None
            self.patches = PatchPanel(key)
            with gr.Accordion(tr("All layers and all heads (small multiples)"), open=False) as acc:
                self.slots["layers"] = Slot("Layers", f"{key}-layers")
                self.slots["heads"] = Slot("Heads", f"{key}-heads")
            self.accordions["layers"] = acc
            with gr.Accordion(tr("Raw attention beside rollout"), open=False) as acc:
                self.slots["rollout"] = Slot("Raw vs rollout", f"{key}-rollout")
            self.accordions["rollout"] = acc
            self.faithful = TestThisMap(key, video)
            with gr.Accordion(tr("The vision encoder's own attention (CLS to patches, per layer)"), open=False) as acc:
                self.slots["vision"] = Slot("Vision encoder", f"{key}-vision")
            self.accordions["vision"] = acc
            with gr.Accordion(tr("The attention mask the model used for this input"), open=False) as acc:
                self.mask = Slot("Attention mask", f"{key}-mask")
                self.mask_sentences = gr.Markdown()
            self.accordions["mask"] = acc
            self.mechanism = MechanismPanel(key)  # attention step by step + the sampling knobs

    # -- the view from the controls
    @property
    def controls(self) -> list:
        return [self.layer, self.head, self.drop_sink, self.shared, self.opacity, self.cmap, self.frame, self.map]

    @staticmethod
    def view(token, layer, head, drop_sink, shared, opacity, cmap, frame, map_=DEFAULT_VIEW) -> View:
        return View(token=int(token or 0), layer=layer, head=head, drop_sink=bool(drop_sink), shared_scale=bool(shared),
                    opacity=float(opacity if opacity is not None else 0.5), cmap=cmap or "viridis",
                    frame=int(frame or 1), map=map_ or DEFAULT_VIEW)

    @staticmethod
    def _render(expl: Exploration, view: View, only=None, progress=None) -> dict:
        """`render`, with what the view needs beyond the record computed first (once per result): relevancy's
        backward pass, rollout's teacher-forced pass; and the patch this user picked, outlined."""
        view = view.normalised(expl)
        if view.map == "relevancy":
            ensure_relevancy(expl, progress)
        if view.map == "rollout" or (only is None or "rollout" in only) or \
                ((only is None or "vision" in only) and expl.vision_cls is None and expl.layout.has_cls):
            ensure_trace(expl, progress)
        picked = getattr(expl, "picked", None)
        if picked is not None and picked[0] == view.frame - 1:
            view.patch = picked[1:]
        return render(expl, view, only=only)

    @property
    def figure_outputs(self) -> list:
        return [c for name in FIGURES if self.slots.get(name) is not None for c in self.slots[name].components]

    def _figure_values(self, figs: dict | None) -> list:
        out = []
        for name in FIGURES:
            slot = self.slots.get(name)
            if slot is not None:  # not drawn (its accordion is closed): left as it is
                out += slot.values((figs or {}).get(name), skip=figs is not None and name not in figs)
        return out

    def figure_value(self, out: list, name: str):
        """The first value of figure `name` in a handler's outputs (its HTML, or its image): for tests."""
        size = len(self.figure_outputs)
        i = len(out) - size
        for n in FIGURES:
            slot = self.slots.get(n)
            if slot is None:
                continue
            if n == name:
                return out[i] if slot.html else (out[i], out[i + 1])
            i += len(slot.components)
        raise KeyError(name)

    @staticmethod
    def _only(opened) -> set[str] | None:
        """The figures to draw: everything outside the lazy accordions, plus those of the open ones."""
        if opened is None:
            return None
        lazy = {n for names in LAZY.values() for n in names}
        return {n for n in FIGURES if n not in lazy} | {n for s in (opened or []) for n in LAZY.get(s, ())}

    def _mask_values(self, expl) -> list:
        mask_fig, sentences = mask_figure(expl)
        mask_fig.caption = mask_fig.caption + "\n\n" + "\n".join(f"- {s}" for s in sentences)
        return self.mask.values(mask_fig)

    def _expand(self, section: str):
        def expand(opened, expl, index, *controls):
            opened = sorted(set(opened or []) | {section})
            if expl is None:
                return [opened] + [gr.skip()] * len(self._section_outputs(section))
            if section == "mask":
                return [opened] + self._mask_values(expl)
            figs = self._render(expl, self.view(index, *controls), only=set(LAZY[section]))
            return [opened] + [v for n in LAZY[section] for v in self.slots[n].values(figs.get(n))]
        return expand

    def _section_outputs(self, section: str) -> list:
        if section == "mask":
            return self.mask.components
        return [c for n in LAZY[section] for c in self.slots[n].components]

    # -- event handlers
    def _split(self, rest) -> tuple[tuple, list | None, object]:
        """Handlers get the view controls, then (from the app) the open sections and the tab's record;
        an open list of None draws everything."""
        n = len(self.controls)
        return tuple(rest[:n]), (rest[n] if len(rest) > n else None), (rest[n + 1] if len(rest) > n + 1 else None)

    def _wanted(self, rest) -> dict:
        """What a shared link or a lesson step asked the next result to open on (the input after the record):
        {"token": index from 0, "layer": "2", "head": "mean"}; their layer and head menus exist only once the
        answer's model is known, so they travel here rather than as the menus' values."""
        n = len(self.controls) + 2
        want = rest[n] if len(rest) > n else None
        return want if isinstance(want, dict) else {}

    @property
    def _cleared(self) -> list:
        """What a new result clears besides the figures: the patch readers, "Test this map"."""
        return [*self.patches.outputs, *self.faithful.reset_outputs]

    def _cleared_values(self, expl) -> list:
        return [*self.patches._reset(expl, 1), *self.faithful._reset(expl)]

    def _empty(self, payload) -> list:
        status = (local("Generate something above, then click one of its tokens.") if not payload else
                  say("The model produced no tokens, so there is no attention to explore."))
        return [None, gr.skip() if not payload else None, gr.update(choices=[], value=None),
                gr.update(value=1, maximum=2, interactive=False), "", gr.update(), gr.update(), gr.update(), status,
                None, "", *self._cleared_values(None)] + self._figure_values(None)

    def _build(self, media, payload, *rest, progress=gr.Progress()):
        controls, opened, record = self._split(rest)
        if not payload or not payload.get("tokens"):
            return self._empty(payload)
        # the maps come from the same precision as the answer they explain (the status line says which)
        loaded = registry.CACHE.load(registry.key_of(payload), progress_callback(progress), payload.get("precision"))
        expl = explore(loaded, media, payload, record, self.video)
        wanted = self._wanted(rest)
        controls = (wanted.get("layer") or controls[0], wanted.get("head") or controls[1], *controls[2:])
        token = int(wanted.get("token") or 0)
        if wanted.get("word"):  # a lesson step names its token by its word (its first occurrence)
            words = [t.strip().lower() for t in expl.tokens]
            token = words.index(str(wanted["word"]).strip().lower()) if str(wanted["word"]).strip().lower() in words \
                else 0
        view = self.view(token, *controls).normalised(expl)
        if expl.is_video and not wanted.get("frame"):  # start on the frame the first token looks at most
            view.frame = 1 + int(np.argmax(explain.frame_split(expl.steps[0], expl.layout)))
        figs = self._render(expl, view, self._only(opened), progress_callback(progress))
        mask_values = self._mask_values(expl) if opened is None or "mask" in opened else [gr.skip(), gr.skip()]
        layers = [(local("mean of all layers"), "mean")] + \
            [(say("layer {n}", n=i), str(i)) for i in range(1, expl.num_layers + 1)]
        heads = [(local("mean over heads"), "mean"), (local("max over heads"), "max")] + \
                [(say("head {n}", n=i), str(i)) for i in range(1, expl.num_heads + 1)]
        t = len(expl.tokens)
        return [expl, None, gr.update(choices=expl.chips(), value=view.token),
                gr.update(value=view.token + 1, minimum=1, maximum=max(2, t), interactive=t > 1),
                token_summary(expl, view),
                gr.update(choices=layers, value=view.layer), gr.update(choices=heads, value=view.head),
                gr.update(maximum=max(2, expl.layout.num_frames), value=view.frame),
                _status(expl) + _precision_note(loaded.precision), *mask_values, *self._cleared_values(expl)] + \
            self._figure_values(figs)

    def _select(self, expl, index, *rest):
        controls, opened, _ = self._split(rest)
        if expl is None:
            raise gr.Error("Generate something first: there is nothing to explore yet.")
        view = self.view(index, *controls).normalised(expl)
        return [view.token + 1, token_summary(expl, view)] + \
            self._figure_values(self._render(expl, view, self._only(opened)))

    def _scrub(self, expl, step, *rest):
        controls, opened, _ = self._split(rest)
        if expl is None:
            raise gr.Error("Generate something first: there is nothing to explore yet.")
        view = self.view(int(step or 1) - 1, *controls).normalised(expl)
        return [view.token, token_summary(expl, view)] + \
            self._figure_values(self._render(expl, view, self._only(opened)))

    def _redraw(self, expl, index, *rest):
        controls, opened, _ = self._split(rest)
        if expl is None:
            return self._figure_values(None)
        return self._figure_values(self._render(expl, self.view(index, *controls), self._only(opened)))

    def _export(self, expl, index, *controls):
        """The first view's figures drawn on the server as PNG files (only when asked), in Gradio's cache folder
        so that they are served as they are and deleted with the other files the app made."""
        if expl is None:
            raise gr.Error("Generate something first: there is nothing to explore yet.")
        view = self.view(index, *controls).normalised(expl)
        folder = tempfile.mkdtemp(prefix="gitdemo-png-", dir=_cache_folder())
        paths = []
        for name, fig in render_png(expl, view).items():
            path = os.path.join(folder, f"{name}-step{view.token + 1}.png")
            fig.save(path)
            paths.append(path)
        return gr.update(value=paths, visible=True)

    def _heat_outputs(self) -> list:
        return self.slots["heatmap"].components

    def _pick(self, expl, index, layer, head, drop_sink, shared, opacity, cmap, frame, map_, evt: gr.EventData):
        """A patch picked on the heatmap (click, or Enter on a focused cell): outline it, show its readers."""
        controls = (layer, head, drop_sink, shared, opacity, cmap, frame, map_)
        if expl is None:
            raise gr.Error("Generate something first: there is nothing to explore yet.")
        data = getattr(evt, "_data", None) or {}
        view = self.view(index, *controls).normalised(expl)
        try:
            row, col = int(data["row"]), int(data["col"])
        except (KeyError, TypeError, ValueError):
            raise gr.Error("Pick a patch of the picture.") from None
        row = min(max(row, 0), expl.layout.rows - 1)
        col = min(max(col, 0), expl.layout.cols - 1)
        expl.picked = (view.frame - 1, row, col)
        figs = self._render(expl, view, {"heatmap"})
        return self.slots["heatmap"].values(figs["heatmap"]) + \
            self.patches.show(expl, view.frame - 1, row, col, view.drop_sink, view.cmap)

    def wire(self, media, payload: gr.JSON) -> None:
        """Build the explorer whenever the tab's JSON result changes; then react to clicks and controls."""
        common = dict(concurrency_id=EXPLORE, api_visibility="undocumented")
        k = self.key
        self.faithful.wire(self, media, payload)
        self.share.click(None, None, self.link, js=f"() => ({LINK_JS})('{k}')", api_visibility="private")
        payload.change(guard(self._build), [media, payload, *self.controls, self.open, self.record, self.want],
                       [self.state, self.want, self.chips, self.scrubber, self.step_text, self.layer, self.head,
                        self.frame, self.status, *self.mask.components, *self._cleared, *self.figure_outputs],
                               api_name=f"{k}_explore", show_progress="minimal", **common)
        self.patches.wire(self.state, self.frame)
        self.chips.input(guard(self._select), [self.state, self.chips, *self.controls, self.open],
                         [self.scrubber, self.step_text, *self.figure_outputs], api_name=f"{k}_token",
                         show_progress="hidden", **common)
        self.scrubber.input(guard(self._scrub), [self.state, self.scrubber, *self.controls, self.open],
                            [self.chips, self.step_text, *self.figure_outputs], api_name=f"{k}_step",
                            show_progress="hidden", trigger_mode="always_last", **common)
        for i, control in enumerate(self.controls):  # the map: a first rollout or relevancy pass can take a moment
            control.input(guard(self._redraw), [self.state, self.chips, *self.controls, self.open],
                          self.figure_outputs, api_name=f"{k}_view_{i}",
                          show_progress="minimal" if control is self.map else "hidden",
                          trigger_mode="always_last", **common)
        self.png.click(guard(self._export), [self.state, self.chips, *self.controls], self.png_files,
                       api_visibility="private", concurrency_id=EXPLORE, show_progress="minimal")
        heat = self.slots["heatmap"].components[0]
        heat.select(guard(self._pick), [self.state, self.chips, *self.controls],
                    [*self._heat_outputs(), *self.patches.outputs], api_visibility="private",
                    show_progress="hidden", concurrency_id=EXPLORE)
        for section, acc in self.accordions.items():  # lazy figures: drawn when opened
            acc.expand(guard(self._expand(section)), [self.open, self.state, self.chips, *self.controls],
                       [self.open, *self._section_outputs(section)], api_visibility="private",
                       show_progress="hidden", concurrency_id=EXPLORE)
            acc.collapse(lambda opened, s=section: sorted(set(opened or []) - {s}), [self.open], [self.open],
                         api_visibility="private", show_progress="hidden", queue=False)
        self.mechanism.wire(self)  # issue 23


__all__ = ["Explorer", "exploration", "FIGURES", "HTML_FIGURES", "IMAGE_FIGURES"]
