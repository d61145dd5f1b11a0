"""Lessons are data (gitdemo.ui.lessons, assets/lessons/*.yaml): every step of the shipped lesson is valid in all three
languages, points at a shipped example and a model of its tab's menu, and names a token the model really writes there
(greedy, as the tab runs it), within the model's layers and heads; the checker names what is wrong."""
from __future__ import annotations

import copy
import functools
import re

import pytest
import yaml

from gitdemo.ui import lessons

SHIPPED = sorted(lessons.LESSONS.glob("*.yaml"))


@functools.lru_cache(maxsize=None)
def _answer(tab: str, example: str, model: str, question: str):
    """(tokens, layers, heads) of what the tab writes for this state (greedy, like its default decoding)."""
    from gitdemo.explain import faithfulness as fa
    from gitdemo.pipeline import inputs as pipeline_inputs
    from gitdemo.ui import registry
    from gitdemo.ui.controls import open_images, open_video

    loaded = registry.CACHE.get(model)
    path = str(lessons.EXAMPLES / example)
    if tab == "paligemma":
        images = open_images(path)[0]
    elif tab == "video":
        images = open_video(path, loaded.model.config.num_frames).frames
    else:
        images = open_images(path)
    inputs = pipeline_inputs.prepare(loaded.model, loaded.processor, images, question or None)
    ids = fa.greedy_answer(loaded.model, loaded.processor, inputs)
    cfg = getattr(loaded.model.config, "text_config", loaded.model.config)
    tokens = [pipeline_inputs.token_text(loaded.processor, i) for i in ids]
    return tokens, loaded.model.num_decoder_layers(), cfg.num_attention_heads


def test_a_lesson_ships():
    assert lessons.DEFAULT in SHIPPED


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_step_is_complete_in_three_languages(path):
    lesson = lessons.load(path)
    assert lessons.MIN_STEPS <= len(lesson.steps) <= lessons.MAX_STEPS
    for step in lesson.steps:
        for field in lessons.TEXTS:
            texts = [step.text(field, lang) for lang in ("en", "ar", "zh")]
            assert all(texts) and len(set(texts)) == 3, (field, texts)  # translated, not copied
        assert re.search(r"[\u0600-\u06ff]", step.text("look", "ar")) and re.search(r"[\u4e00-\u9fff]",
                                                                                    step.text("look", "zh"))
        assert step.state.path.is_file()


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_step_names_a_token_the_model_writes(path):
    for i, step in enumerate(lessons.load(path).steps, 1):
        s = step.state
        tokens, layers, heads = _answer(s.tab, s.example, s.model, s.question)
        settings = lessons.explorer_settings(s, tokens)  # raises when the token is not in the answer
        assert 0 <= settings["token"] < len(tokens), i
        assert s.layer == "mean" or 1 <= int(s.layer) <= layers, (i, s.layer, layers)
        assert s.head in ("mean", "max") or 1 <= int(s.head) <= heads, (i, s.head, heads)
        if isinstance(s.token, str):  # what the step's text names is what it selects
            assert f"'{s.token}'" in step.text("look") + step.text("question"), i


@pytest.fixture()
def raw():
    return yaml.safe_load(lessons.DEFAULT.read_text(encoding="utf-8"))


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["steps"][2]["look"].pop("ar"), "step 3 look: the text in ar is missing"),
    (lambda d: d["steps"][0]["state"].update(example="nope.png"), "step 1 state: example 'nope.png'"),
    (lambda d: d["steps"][0]["state"].update(example="../../app.py"), "is not a file in assets/examples"),
    (lambda d: d["steps"][1]["state"].update(tab="nowhere"), "step 2 state: tab 'nowhere'"),
    (lambda d: d["steps"][1]["state"].update(model="someone/else"), "model 'someone/else' is not in the caption"),
    (lambda d: d["steps"][0]["state"].update(example="video_00000.mp4"), "needs a picture"),
    (lambda d: d["steps"][0]["state"].update(head="median"), "'median' is not one of mean, max"),
    (lambda d: d["steps"][0]["state"].update(view="saliency"), "view 'saliency'"),
    (lambda d: d["steps"][4]["state"].update(question=""), "needs a question or prompt"),
    (lambda d: d.update(steps=d["steps"][:3]), "6 to 8 steps, not 3"),
])
def test_the_checker_names_what_is_wrong(raw, edit, message):
    data = copy.deepcopy(raw)
    edit(data)
    with pytest.raises(lessons.LessonError, match=re.escape(message)):
        lessons.parse(data)


def test_token_by_word_or_number():
    state = lessons.load().steps[0].state
    assert lessons.token_index(state, ["a", " green", " square"]) == 2
    numbered = lessons.State(**{**state.__dict__, "token": 2})
    assert lessons.explorer_settings(numbered, ["a", "b"])["token"] == 1
    with pytest.raises(lessons.LessonError, match="only 2 tokens"):
        lessons.token_index(lessons.State(**{**state.__dict__, "token": 3}), ["a", "b"])
    with pytest.raises(lessons.LessonError, match="not in the answer"):
        lessons.token_index(state, ["a", "circle"])


def test_the_tab_escapes_and_follows_the_language():
    from gitdemo import lang
    from gitdemo.ui.tabs.lesson import setting_line, step_markdown

    lesson = lessons.load()
    evil = lessons.Lesson(lesson.title, lesson.intro, (lessons.Step(
        {**lesson.steps[0].texts, "look": {"en": "<img src=x onerror=alert(1)>", "ar": "x", "zh-CN": "y"}},
        lesson.steps[0].state),) + lesson.steps[1:])
    assert "<img" not in step_markdown(evil, 0, "en") and "&lt;img" in step_markdown(evil, 0, "en")
    with lang.use("ar"):
        assert step_markdown(lesson, 1, "ar").startswith("### 2.") and "السؤال" in step_markdown(lesson, 1, "ar")
        assert "الطبقة 2" in setting_line(lesson.steps[1].state)
    assert "'circle'" in setting_line(lesson.steps[1].state) and "Attention step by step" in \
        setting_line(lesson.steps[1].state)
