"""Lessons are data: a YAML file in assets/lessons/ (how to write one: docs/lessons.md), read and checked here.

A lesson has a title, an intro and 6-8 steps; every text is given in English, Arabic and Simplified Chinese
(`en`, `ar`, `zh-CN`). Each step says what to look at, asks a question, reveals a short answer, and puts the app
in its state with one click (`state`: the tab, an example picture or video, the model, the question or prompt,
then the explorer's token, layer, head and view, and optionally the explorer panel it is about).
PyYAML comes with Gradio (a dependency of gradio itself), so reading YAML adds no dependency. Nothing here
imports Gradio: the Lesson tab (`tabs/lesson.py`) shows what this module returns.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from ..io.assets import ASSETS

LESSONS = ASSETS / "lessons"
DEFAULT = LESSONS / "attention.yaml"
EXAMPLES = ASSETS / "examples"
LANGS = ("en", "ar", "zh-CN")
TEXTS = ("title", "look", "question", "answer")
VIEWS = ("attention", "rollout", "relevancy")  # the explorer's maps (explain.maps.VIEWS)
PANELS = ("", "mechanism", "knobs", "patches", "mask", "faithfulness")
# the tabs a step can set up: their input components (by elem_id) and the button that runs them
TARGETS = {
    tab: dict(image=image, model=f"{tab}-model", question=question, decoding=f"{tab}-decoding",
              precision=f"{tab}-precision", run=f"{tab}-run")
    for tab, image, question in (("caption", "caption-image", None), ("vqa", "vqa-image", "vqa-question"),
                                 ("video", "video-input", "video-question"),
                                 ("paligemma", "paligemma-image", "paligemma-prompt"))
}
# what a step sets besides its own state: the decoding and precision its answer was checked with
FIXED = {"decoding": "greedy", "precision": "auto"}
VIDEO = (".mp4", ".webm", ".mov")
MIN_STEPS, MAX_STEPS = 6, 8


class LessonError(ValueError):
    """A lesson file that cannot be used, with the step and field that are wrong."""


@dataclass(frozen=True)
class State:
    """What one click sets: the tab's inputs, then the explorer's selection."""

    tab: str
    example: str  # a file name in assets/examples
    model: str  # a value of the tab's model menu
    question: str  # GIT's question, PaliGemma's prompt; "" for a caption
    token: str | int  # a word of the answer (its first occurrence) or its number from 1
    layer: str  # "mean" or a number from 1
    head: str  # "mean", "max" or a number from 1
    view: str  # one of VIEWS
    panel: str = ""  # the explorer panel the step is about (one of PANELS)

    @property
    def path(self) -> Path:
        return EXAMPLES / self.example


@dataclass(frozen=True)
class Step:
    texts: dict  # field -> {lang: text}
    state: State

    def text(self, field: str, lang: str = "en") -> str:
        return self.texts[field].get(_lang(lang)) or self.texts[field]["en"]


@dataclass(frozen=True)
class Lesson:
    title: dict
    intro: dict
    steps: tuple[Step, ...]

    def text(self, field: str, lang: str = "en") -> str:
        return getattr(self, field).get(_lang(lang)) or getattr(self, field)["en"]


def _lang(code: str) -> str:
    """The server's language codes ("en", "ar", "zh") -> the file's ("en", "ar", "zh-CN")."""
    return "zh-CN" if str(code).lower().startswith("zh") else ("ar" if str(code).lower().startswith("ar") else "en")


def _texts(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise LessonError(f"{where}: give the text in {', '.join(LANGS)} (a mapping), not {type(value).__name__}.")
    missing = [lang for lang in LANGS if not str(value.get(lang) or "").strip()]
    if missing:
        raise LessonError(f"{where}: the text in {', '.join(missing)} is missing.")
    return {lang: str(value[lang]).strip() for lang in LANGS}


def _choice(value, words: tuple[str, ...], where: str) -> str:
    text = str(value if value is not None else words[0]).strip().lower()
    if text in words or (text.isdigit() and int(text) >= 1):
        return text
    raise LessonError(f"{where}: '{value}' is not one of {', '.join(words)} or a number from 1.")


def _state(raw, where: str, models) -> State:
    if not isinstance(raw, dict):
        raise LessonError(f"{where}: 'state' must be a mapping.")
    tab = str(raw.get("tab") or "")
    if tab not in TARGETS:
        raise LessonError(f"{where}: tab '{tab}' is not one of {', '.join(TARGETS)}.")
    example = str(raw.get("example") or "")
    if not example or "/" in example or "\\" in example or not (EXAMPLES / example).is_file():
        raise LessonError(f"{where}: example '{example}' is not a file in assets/examples.")
    if (tab == "video") != example.lower().endswith(VIDEO):
        raise LessonError(f"{where}: the {tab} tab needs {'a video' if tab == 'video' else 'a picture'}, "
                          f"not '{example}'.")
    model = str(raw.get("model") or "")
    allowed = models(tab)
    if model not in allowed:
        raise LessonError(f"{where}: model '{model}' is not in the {tab} tab's menu ({', '.join(allowed)}).")
    question = str(raw.get("question") or "").strip()
    if tab in ("vqa", "paligemma") and not question:
        raise LessonError(f"{where}: the {tab} tab needs a question or prompt.")
    if tab == "caption" and question:
        raise LessonError(f"{where}: the caption tab takes no question.")
    token = raw.get("token", 1)
    if isinstance(token, bool) or not (isinstance(token, int) and token >= 1 or isinstance(token, str) and token.strip()):
        raise LessonError(f"{where}: token must be a word of the answer or its number from 1.")
    view = str(raw.get("view") or "attention")
    if view not in VIEWS:
        raise LessonError(f"{where}: view '{view}' is not one of {', '.join(VIEWS)}.")
    panel = str(raw.get("panel") or "")
    if panel not in PANELS:
        raise LessonError(f"{where}: panel '{panel}' is not one of {', '.join(p for p in PANELS if p)}.")
    return State(tab, example, model, question, token.strip() if isinstance(token, str) else int(token),
                 _choice(raw.get("layer"), ("mean",), f"{where} layer"),
                 _choice(raw.get("head"), ("mean", "max"), f"{where} head"), view, panel)


def menu_models(tab: str) -> list[str]:
    """The values of a tab's model menu (the embedded models are always among them when they ship)."""
    from . import registry

    return [value for _, value in registry.dropdown_choices(tab)]


def parse(data, models=menu_models) -> Lesson:
    """A lesson from the YAML's data, checked field by field (LessonError names the step and the field)."""
    if not isinstance(data, dict):
        raise LessonError("A lesson file is a mapping with title, intro and steps.")
    steps = data.get("steps")
    if not isinstance(steps, list) or not MIN_STEPS <= len(steps) <= MAX_STEPS:
        raise LessonError(f"A lesson has {MIN_STEPS} to {MAX_STEPS} steps, not "
                          f"{len(steps) if isinstance(steps, list) else 'none'}.")
    parsed = []
    for i, raw in enumerate(steps, 1):
        where = f"step {i}"
        if not isinstance(raw, dict):
            raise LessonError(f"{where}: a step is a mapping.")
        texts = {field: _texts(raw.get(field), f"{where} {field}") for field in TEXTS}
        parsed.append(Step(texts, _state(raw.get("state"), f"{where} state", models)))
    return Lesson(_texts(data.get("title"), "title"), _texts(data.get("intro"), "intro"), tuple(parsed))


def load(path: str | Path = DEFAULT, models=menu_models) -> Lesson:
    """Read and check a lesson file."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise LessonError(f"{Path(path).name} cannot be read as YAML: {exc}") from None
    return parse(data, models)


def token_index(state: State, tokens: list[str]) -> int:
    """The explorer's token index (from 0) a step names: its number, or the first token that is its word."""
    if isinstance(state.token, int):
        if state.token > len(tokens):
            raise LessonError(f"token {state.token}: the answer has only {len(tokens)} tokens.")
        return state.token - 1
    words = [t.strip().lower() for t in tokens]
    word = state.token.strip().lower()
    if word not in words:
        raise LessonError(f"token '{state.token}' is not in the answer ({' '.join(words)}).")
    return words.index(word)


def explorer_settings(state: State, tokens: list[str]) -> dict:
    """What the explorer should select once the step's answer is there: {"token" (index from 0), "layer", "head"
    (menu values: "mean", "max" or "1".."n"), "view" (the heatmap's map), "panel" (the accordion to open, or "")}."""
    return {"token": token_index(state, tokens), "layer": state.layer, "head": state.head, "view": state.view,
            "panel": state.panel}


__all__ = ["LESSONS", "DEFAULT", "LANGS", "TARGETS", "FIXED", "LessonError", "State", "Step", "Lesson", "parse", "load",
           "token_index", "explorer_settings", "menu_models"]
