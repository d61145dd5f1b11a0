"""An `Exploration` (one traced answer: per-token attention, candidates, rollout, mask) and the explorer's
figures for one selection (`View`): `render`, `mask_figure`, `token_summary`. `View.map` picks what the main
heatmap shows (`maps.VIEWS`: raw attention, rollout, or relevancy once the UI has filled it in).

Everything here is per call: an `Exploration` belongs to one user's `gr.State`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from PIL import Image

from .. import viz
from ..lang import join, say
from .maps import DEFAULT_VIEW, VIEWS, ImageLayout, default_view, image_share, select, split_image, vision_cls_maps


@dataclass
class Exploration:
    model_name: str
    text: str
    layout: ImageLayout
    frames: list[Image.Image]  # what the model saw, one picture per frame (resized, cropped)
    prompt_tokens: list[str]
    tokens: list[str]  # generated pieces, in order
    token_ids: list[int]
    steps: list[torch.Tensor]  # per generated token (L, H, K): the producing query's attention
    top: list[list[tuple[str, float]]]  # per generated token: most likely tokens at that step
    rollout: list[np.ndarray] | None  # per generated token (F, rows, cols); None until a teacher-forced pass fills it
    vision_cls: list[torch.Tensor] | None  # per vision layer (F, H, 1, n): CLS query -> all tokens
    mask: np.ndarray  # (S, S) bool
    segments: list[viz.Segment] = field(default_factory=list)
    # relevancy (Chefer et al.) per generated token (F, rows, cols): it needs a backward pass, so the UI fills it
    # on demand (all tokens at once) the first time the view is chosen, then every token reuses it
    relevancy: list[np.ndarray] | None = None
    relevancy_note: str = ""  # how it was computed (model precision, seconds), for the caption
    relevancy_error: str = ""  # why it could not be computed (the last try), for the caption
    rollout_error: str = ""  # why rollout could not be computed (the teacher-forced pass failed), for the caption
    origin: dict = field(default_factory=dict)  # what the UI needs to rebuild the input; explain never reads it
    picked: tuple[int, int, int] | None = None  # the patch this user picked (frame, row, col from 0)
    uris: list[str] | None = None  # the frames as small JPEG data addresses, made once, for the HTML figures

    @property
    def num_layers(self) -> int:
        return int(self.steps[0].shape[0]) if self.steps else 0

    @property
    def num_heads(self) -> int:
        return int(self.steps[0].shape[1]) if self.steps else 0

    @property
    def is_video(self) -> bool:
        return self.layout.num_frames > 1

    def picture_uris(self) -> list[str]:
        if self.uris is None:
            self.uris = [viz.html.picture_uri(f) for f in self.frames]
        return self.uris

    def chips(self) -> list[tuple[str, int]]:
        """(label, index) per generated token: the clickable chips."""
        return [(f"{t}", i) for i, t in enumerate(self.tokens)]


# ----------------------------------------------------------------------------- drawing one selection
@dataclass
class View:
    token: int = 0
    layer: str = "mean"  # "mean" or a layer number counted from 1
    head: str = "mean"  # "mean", "max" or a head number counted from 1
    drop_sink: bool = True
    shared_scale: bool = True
    opacity: float = 0.5
    cmap: str = "viridis"
    frame: int = 1  # counted from 1 (video)
    map: str = DEFAULT_VIEW  # what the main heatmap shows: one of maps.VIEWS
    patch: tuple[int, int] | None = None  # the picked patch (row, col from 0), outlined on the heatmap

    def normalised(self, expl: Exploration) -> "View":
        """Clamp to what this exploration has (indices from the UI or the API may be anything)."""
        v = View(**asdict(self))
        v.token = int(min(max(int(v.token or 0), 0), max(0, len(expl.tokens) - 1)))
        v.layer = _pick(v.layer, expl.num_layers, ("mean",))
        v.head = _pick(v.head, expl.num_heads, ("mean", "max"))
        v.frame = int(min(max(int(v.frame or 1), 1), expl.layout.num_frames))
        v.opacity = float(min(max(float(v.opacity), 0.0), 1.0))
        v.cmap = v.cmap if v.cmap in viz.CMAPS else "viridis"
        v.map = v.map if v.map in VIEWS else DEFAULT_VIEW
        if v.patch is not None:
            r, c = (int(x) for x in v.patch)
            v.patch = (r, c) if 0 <= r < expl.layout.rows and 0 <= c < expl.layout.cols else None
        return v


def _pick(value, count: int, words: tuple[str, ...]) -> str:
    value = str(value).strip().lower() if value is not None else words[0]
    if value in words:
        return value
    try:
        i = int(float(value))
    except ValueError:
        return words[0]
    return str(min(max(i, 1), count))


def _index(value: str):
    """UI numbers count from 1; explain counts from 0."""
    return value if value in ("mean", "max") else int(value) - 1


def _head_text(head: str) -> str:
    if head in ("mean", "max"):
        return say({"mean": "mean over heads", "max": "max over heads"}[head])
    return say("head {n}", n=head)


def _describe(view: View) -> str:
    layer = say("mean over layers") if view.layer == "mean" else say("layer {n}", n=view.layer)
    parts = [layer, _head_text(view.head)]
    if not view.drop_sink:
        parts.append(say("raw weights (CLS sink kept in the total)"))
    return join(parts)


def _maps(expl: Exploration, att: torch.Tensor, layer, head, view: View) -> np.ndarray:
    return split_image(select(att, layer, head), expl.layout, renormalise=view.drop_sink)


def _main_maps(expl: Exploration, att, layer, head, view: View, desc: str) -> tuple[np.ndarray, str, str]:
    """The main heatmap's maps (F, rows, cols) for `view.map`, what they are, and a note for the caption."""
    if view.map == "rollout" and expl.rollout is None:
        return (_maps(expl, att, layer, head, view), desc,
                say("**Rollout is not available here:** {why} The heatmap shows raw attention instead.",
                    why=expl.rollout_error or say("it has not been computed for this result.")))
    if view.map == "rollout":
        return (expl.rollout[view.token], say("attention rollout (all layers, heads averaged, residual path mixed in)"),
                say("**Attention rollout** (Abnar & Zuidema): attention multiplied through all layers with the "
                    "residual path; the layer and head choices apply to raw attention only."))
    if view.map == "relevancy":
        if expl.relevancy is not None:
            return (expl.relevancy[view.token], say("relevancy (Chefer et al. 2021)"),
                    say("**Relevancy** (Chefer, Gur & Wolf 2021): each attention edge of every layer weighted by how "
                        "much strengthening it raises this token's logit (gradient x attention, negatives clipped, "
                        "heads averaged), multiplied through the layers; bright = pushed the model towards this "
                        "token. The layer and head choices apply to raw attention only.") + " " + expl.relevancy_note)
        why = expl.relevancy_error or say("it has not been computed for this result.")
        return (_maps(expl, att, layer, head, view), desc,
                say("**Relevancy is not available here:** {why} The heatmap shows raw attention instead.", why=why))
    return _maps(expl, att, layer, head, view), desc, ""


def render(expl: Exploration, view: View, only=None) -> dict[str, viz.Figure | None]:
    """The figures of the explorer for one token and one view setting: all of them, or those named in
    `only` (the explorer draws what sits in closed accordions only when they are opened)."""
    want = (lambda name: True) if only is None else (lambda name: name in only)  # noqa: E731
    view = view.normalised(expl)
    i, f = view.token, view.frame - 1
    att, token = expl.steps[i], expl.tokens[i]
    layer, head = _index(view.layer), _index(view.head)
    desc = _describe(view)
    grids, desc, note = _main_maps(expl, att, layer, head, view, desc)  # (F, rows, cols)
    where = say(" (frame {n})", n=view.frame) if expl.is_video else ""
    figs: dict[str, viz.Figure | None] = {}
    title = say("'{token}' — {view}", token=token, view=desc + where)
    words = viz.html.describe_grid(grids[f], token)
    caption = f"{note.replace('**', '')} {words}" if note else words
    uris = expl.picture_uris()
    figs["heatmap"] = viz.Figure(None, f"{note}\n\n{words}" if note else words, viz.html.heat_grid(
        uris[f], grids[f], token, title, caption, view.cmap, view.opacity, selected=view.patch,
        name=f"attention-step{i + 1}"))

    if want("layers"):
        _multiples(figs, expl, att, view, layer, head, f, token, where)
    if want("rollout"):
        _rollout(figs, expl, att, view, i, f, token)
    figs["share"] = viz.Figure(None, "", viz.html.share(image_share(att, expl.layout), token))
    figs["topk"] = viz.Figure(None, "", viz.html.topk(expl.top[i], token, i))

    if expl.is_video:
        total = float(grids.sum()) or 1.0
        split = [float(g.sum()) / total for g in grids]
        figs["frames"] = viz.Figure(None, "", viz.html.frames(uris, grids, split, token, view.cmap, view.opacity))
    else:
        figs["frames"] = None
    if want("vision"):
        _vision(figs, expl, view, f, where)
    return figs


def render_png(expl: Exploration, view: View) -> dict[str, viz.Figure]:
    """The first view's figures as pictures (PIL, drawn on the server) for PNG export: the heatmap, top-k, shares
    and, for a video, the frame strip. The page shows the same numbers drawn by the browser (`render`)."""
    view = view.normalised(expl)
    i, f = view.token, view.frame - 1
    att, token = expl.steps[i], expl.tokens[i]
    grids, desc, _ = _main_maps(expl, att, _index(view.layer), _index(view.head), view, _describe(view))
    where = say(" (frame {n})", n=view.frame) if expl.is_video else ""
    figs = {"heatmap": viz.heatmap(expl.frames[f], grids[f], token, view.opacity, view.cmap, desc + where),
            "topk": viz.topk_bar(expl.top[i], token, i),
            "share": viz.share_bar(image_share(att, expl.layout), token)}
    if expl.is_video:
        total = float(grids.sum()) or 1.0
        figs["frames"] = viz.frame_strip(expl.frames, grids, [float(g.sum()) / total for g in grids], token,
                                         view.opacity, view.cmap)
    return figs


def _multiples(figs, expl, att, view, layer, head, f, token, where) -> None:
    layer_maps = [_maps(expl, att, l, head, view)[f] for l in range(expl.num_layers)]
    layer_titles = [say("layer {n}", n=l + 1) for l in range(expl.num_layers)]
    figs["layers"] = viz.small_multiples(
        expl.frames[f], layer_maps, layer_titles,
        say("all {n} decoder layers for '{token}'{where} ({head})", n=expl.num_layers, token=token, where=where,
            head=_head_text(view.head)),
        view.shared_scale, view.opacity, view.cmap, highlight=None if layer == "mean" else layer)
    figs["layers"].caption += " " + viz.html.peaks(layer_maps, layer_titles)
    head_maps = [_maps(expl, att, layer, h, view)[f] for h in range(expl.num_heads)]
    which = say("averaged over layers") if layer == "mean" else say("of layer {n}", n=view.layer)
    figs["heads"] = viz.small_multiples(
        expl.frames[f], head_maps, [say("head {n}", n=h + 1) for h in range(expl.num_heads)],
        say("all {n} heads {which} for '{token}'{where}", n=expl.num_heads, which=which, token=token, where=where),
        view.shared_scale, view.opacity, view.cmap,
        highlight=head if isinstance(head, int) else None)
    figs["heads"].caption += " " + viz.html.peaks(head_maps, [say("head {n}", n=h + 1) for h in range(expl.num_heads)])


def _rollout(figs, expl, att, view, i, f, token) -> None:
    if expl.rollout is None:
        figs["rollout"] = None
        return
    raw = default_view(att, expl.layout)[f]
    rolled = expl.rollout[i][f]
    pair = viz.small_multiples(expl.frames[f], [raw, rolled], [say("raw attention"), say("rollout")], "", False,
                               view.opacity, view.cmap, ncols=2)
    figs["rollout"] = viz.Figure(pair.image, say(
        "Raw attention of '{token}' (left, mean over layers and heads) beside attention rollout (right: attention "
        "multiplied through all layers with the residual path). Attention is not explanation: these show where "
        "information could flow, not why the model chose the word.", token=token) + " " +
        viz.html.peaks([raw, rolled], [say("raw attention"), say("rollout")]))


def _vision(figs, expl, view, f, where) -> None:
    if expl.vision_cls:
        vhead = view.head if view.head in ("mean", "max") else "mean"
        vmaps = vision_cls_maps(expl.vision_cls, expl.layout, vhead)
        figs["vision"] = viz.small_multiples(
            expl.frames[f], [m[f] for m in vmaps], [say("vision layer {n}", n=l + 1) for l in range(len(vmaps))],
            say("the vision encoder's own attention{where}: how its CLS token reads the patches in each of its {n} "
                "layers ({head}), before any text exists", where=where, n=len(vmaps), head=_head_text(vhead)),
            view.shared_scale,
            view.opacity, view.cmap)
        figs["vision"].caption += " " + viz.html.peaks([m[f] for m in vmaps],
                                                       [say("vision layer {n}", n=l + 1) for l in range(len(vmaps))])
    else:
        figs["vision"] = None


def mask_figure(expl: Exploration) -> tuple[viz.Figure, list[str]]:
    return viz.mask_diagram(expl.mask, expl.segments,
                            title=say("Mask of {name}", name=expl.model_name or say("the model")))


def token_summary(expl: Exploration, view: View) -> str:
    """One line about the selected token, for the scrubber."""
    view = view.normalised(expl)
    i = view.token
    top = join(f"{t} {p:.2f}" for t, p in expl.top[i][:3])
    return say("Step {step} of {n}: **{token}** — the top candidates were {top}.", step=i + 1, n=len(expl.tokens),
               token=expl.tokens[i], top=top)


__all__ = ["Exploration", "View", "render", "render_png", "mask_figure", "token_summary"]
