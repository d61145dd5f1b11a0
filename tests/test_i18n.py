"""The translation tables (no browser): every key has Arabic and Chinese, every key the code uses is in its table,
the fields of every template agree, and the server writes in the language of the page that asked."""
from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from gitdemo import lang
from gitdemo.lang import MESSAGES
from gitdemo.ui.i18n import TABLE, local, translations

ROOT = Path(__file__).resolve().parent.parent
SAME_EVERYWHERE = {"PaliGemma"}  # a proper noun: the same text in every language


def _keys(names: tuple[str, ...]) -> dict[str, str]:
    """Literal first arguments of calls to `names` (tr(...), say(...)) in gitdemo/: key -> file."""
    out = {}
    for path in sorted((ROOT / "gitdemo").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
                if name in names:
                    out.setdefault(node.args[0].value, str(path.relative_to(ROOT)))
    return out


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


@pytest.mark.parametrize("table", ["TABLE", "MESSAGES"])
def test_every_key_has_arabic_and_chinese(table):
    entries = TABLE if table == "TABLE" else MESSAGES
    lacking = sorted(k for k, v in entries.items()
                     if len(v) != 2 or not all(isinstance(t, str) and t.strip() for t in v))
    assert not lacking, f"{table} keys lacking a language: {lacking}"
    # a template made of fields and punctuation ("{scale}.") may stay as it is; one with words may not
    words = sorted(k for k, v in entries.items() if k in v and k not in SAME_EVERYWHERE and
                   any(ch.isalpha() for ch in "".join(text for text, *_ in string.Formatter().parse(k))))
    assert not words, f"{table} entries still English in a language: {words}"


# the top-level names of Gradio's own translations (gradio/templates/frontend/assets/en-*.js): a key of ours with
# one of these names would be looked up as Gradio's group of messages and show "[object Object]"
GRADIO_NAMESPACES = {"_name", "annotated_image", "audio", "blocks", "chat_interface", "chatbot", "checkbox", "code",
                     "color_picker", "common", "dataframe", "dropdown", "errors", "file", "highlighted_text", "image",
                     "image_editor", "label", "login", "number", "plot", "radio", "slider", "status", "upload_text",
                     "video"}


def test_no_key_is_one_of_gradios_own_message_groups():
    assert not sorted(GRADIO_NAMESPACES & set(TABLE))


def test_every_tr_key_used_in_the_code_is_in_the_table():
    missing = {k: f for k, f in _keys(("tr", "marker", "local")).items() if k not in TABLE}
    assert not missing, f"tr()/marker() keys missing from the table: {missing}"


def test_every_say_key_used_in_the_code_is_in_the_messages():
    missing = {k: f for k, f in _keys(("say",)).items() if k not in MESSAGES}
    assert not missing, f"say() keys missing from gitdemo.lang.MESSAGES: {missing}"


def test_texts_passed_by_name_are_in_the_tables():
    """The keys the code hands over in a variable (lessons, menu labels, segment names) are covered too."""
    from gitdemo.explain.faithfulness import VIEW_TITLES
    from gitdemo.models.precision import LABELS
    from gitdemo.pipeline.answers import LOC_EXPLANATION
    from gitdemo.pipeline.decoding import DECODING
    from gitdemo.pipeline.prompts import TASK_CHOICES
    from gitdemo.ui import OFFLINE, faithful, notices, registry
    from gitdemo.ui.patches import PatchPanel
    from gitdemo.ui.tabs import paligemma
    from gitdemo.viz.mask import _VERDICT

    ui = [faithful.LESSON, PatchPanel.HINT, paligemma.INTRO, paligemma.COMING, paligemma.MASK_LESSON, OFFLINE,
          LOC_EXPLANATION, "Text", *DECODING, *(label for label, _ in TASK_CHOICES), *VIEW_TITLES.values(),
          *(v for k, v in LABELS.items() if v != k), "**No PaliGemma model is available here:** the Hub cannot be reached and none is cached. "
          + registry.HOW_TO_GET_ONE]
    for p in LABELS:
        ui.append(f"auto: {LABELS[p]} for Hub models, exact for the embedded ones")
    for task in ("caption", "vqa", "video", "mask", "paligemma"):
        ui += [label for label, value in registry.dropdown_choices(task) if label != value]
    for slot in ("Attention over the image", "Next-token probabilities", "Image vs text", "Sampled frames", "Layers",
                 "Heads", "Raw vs rollout", "Vision encoder", "Attention mask"):
        ui.append(slot)
    assert sorted(set(ui) - set(TABLE)) == []
    server = [*_VERDICT.values(), "image", "video", "prompt", "output", "answer", *VIEW_TITLES.values(),
              notices.EMPTY, notices.EMBEDDED_HINT, notices.WORLD, LOC_EXPLANATION]
    assert sorted(set(server) - set(MESSAGES)) == []


def test_fields_agree_in_every_language():
    bad = {k: v for k, v in MESSAGES.items() if any(_fields(t) != _fields(k) for t in v)}
    assert not bad, f"templates whose fields differ between languages: {list(bad)}"
    # the browser's table has no fields: a brace there would be shown as it is, in every language alike
    assert not [k for k, v in TABLE.items() if any(_fields(t) != _fields(k) for t in v)]


def test_translations_for_gradio():
    t = translations()
    assert set(t) == {"en", "ar", "zh-CN", "zh"} and t["zh"] is t["zh-CN"]
    assert t["ar"]["Precision"] == "الدقة" and t["en"]["Precision"] == "Precision"


def test_say_follows_the_language_asked_for():
    key = "Step {step}: next-token probabilities"
    assert lang.say(key, step=2) == "Step 2: next-token probabilities"
    with lang.use("ar-EG"):
        assert lang.current() == "ar" and lang.is_rtl()
        assert lang.say(key, step=2) == "الخطوة 2: احتمالات الرمز التالي"
        assert lang.say("a text with no entry") == "a text with no entry"
        assert local("Precision") == "الدقة"
    with lang.use("zh-CN"):
        assert lang.say(key, step=2).startswith("第 2 步") and lang.join(["a", "b"]) == "a、b"
    assert lang.normalise("fr") == "en" and lang.normalise("zh-Hans") == "zh" and lang.normalise(None) == "en"


def test_the_server_writes_in_the_language_of_the_page_that_asked(monkeypatch):
    """A Gradio request carries its session; the page's language was recorded for that session."""
    from types import SimpleNamespace

    from gradio.context import LocalContext

    lang.remember("page-1", "zh-CN")
    lang.remember("page-2", "ar")
    try:
        token = LocalContext.request.set(SimpleNamespace(session_hash="page-1"))
        assert lang.current() == "zh"
        LocalContext.request.reset(token)
        token = LocalContext.request.set(SimpleNamespace(session_hash="page-2"))
        assert lang.current() == "ar"
        with lang.use("en"):  # cached examples and the API's English notice
            assert lang.current() == "en"
        LocalContext.request.reset(token)
        token = LocalContext.request.set(SimpleNamespace(session_hash="a-script"))  # never synced: English
        assert lang.current() == "en"
        LocalContext.request.reset(token)
    finally:
        lang.forget("page-1")
        lang.forget("page-2")
    assert lang.current() == "en"


def test_figures_in_arabic_and_chinese():
    import warnings

    import numpy as np
    from PIL import Image

    from gitdemo import viz

    image = Image.new("RGB", (64, 64), (200, 200, 200))
    grid = np.arange(16, dtype=float).reshape(4, 4)
    with lang.use("ar"):
        fig = viz.heatmap(image, grid, "circle")
        assert fig.caption.startswith("أين نظر «circle»") and fig.image.width > 300
        bar = viz.topk_bar([("circle", 0.7), ("square", 0.2)], "circle", 0)
        assert "الخطوة 1" in bar.caption
    with lang.use("zh"), warnings.catch_warnings():
        if viz.figures.cjk_font():  # with a CJK font, no glyph is missing
            warnings.simplefilter("error")
        share = viz.share_bar({"image": 0.6, "cls": 0.3, "text": 0.1}, "circle")
        assert share.caption.startswith("“circle”把 60%")
        multi = viz.small_multiples(image, [grid, grid], ["第 1 层", "第 2 层"], "全部")
        assert multi.caption.startswith("全部;")


def test_arabic_in_pil_figures_without_raqm(monkeypatch):
    """Without Pillow's raqm layout, Arabic is drawn by matplotlib's renderer (shaped), not letter by letter."""
    from PIL import Image

    from gitdemo.viz import figures

    monkeypatch.setattr(figures, "_raqm", lambda: False)
    canvas = Image.new("RGB", (300, 30), "white")
    figures.draw_text(canvas, (4, 4), "الطبقة 1", 13, 290)
    dark = [x for x in range(300) if min(canvas.getpixel((x, y))[0] for y in range(30)) < 128]
    assert dark and dark[-1] > 200  # drawn, and right-aligned in its width


def test_paligemma_prompt_follows_the_page_language():
    from gitdemo.ui.tabs import paligemma as tab

    hub = "google/paligemma-3b-mix-224"
    assert tab.follow_language("ar", hub, "caption", "", "en", "caption en") == ("ar", "caption ar")
    assert tab.follow_language("zh-CN", hub, "answer", "what is it?", "en", "answer en what is it?") == \
        ("zh", "answer zh what is it?")
    assert tab.follow_language("ar", tab.registry.EMBEDDED_PALI, "caption", "", "ar", "caption ar") == \
        ("en", "caption en")  # the embedded one reads English only
    import gradio as gr

    kept = (gr.skip(), gr.skip())
    assert tab.follow_language("ar", hub, "caption", "", "en", "detect cat") == kept  # a prompt the user chose
    assert tab.follow_language("ar", hub, "caption", "", "fr", "caption fr") == kept  # a language the user typed
    assert tab.build_prompt("caption", "", "ar") == "caption ar"  # the task menu (it used to call itself)


def test_bold_text_closes_in_every_language():
    """Markdown closes `**` after punctuation only before a space or punctuation: "**离线:**无法" stays unbolded
    with its asterisks shown, so the colon goes outside ("**离线**:无法")."""
    import re

    bad = [t for entries in (TABLE, MESSAGES) for v in entries.values() for t in v
           if re.search(r"[^\w\s*]\*\*[^\s\W]", t)]
    assert not bad, bad
