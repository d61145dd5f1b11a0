"""The language of the texts the server writes (figure titles and captions, status lines, notices, errors).

The browser translates the labels (`gr.I18n`, `gitdemo.ui.i18n`); text made on the server needs the
user's language on the server. The page tells it: `gitdemo.ui.i18n` reads the language the page shows
(at load, and again after a switch in Gradio's settings panel) and sends it to `remember(session, code)`;
`current()` then finds it from the Gradio request being served (its session). Anything else (the API,
the command line, the tests) gets English unless it asks with `use("ar")`.

`say(english, **values)` is the one call: the English template, translated when the current language has
an entry in `MESSAGES`, then formatted. A missing entry shows English.
"""
from __future__ import annotations

import contextlib
import re
import sys
import threading
from collections import OrderedDict
from contextvars import ContextVar

from .app_text import APP_TEXT
from .explorer_text import EXPLORER_TEXT
from .figure_text import FIGURE_TEXT
from .input_text import INPUT_TEXT
from .mechanism_text import MECH_TEXT
from .room_text import ROOM_TEXT

LANGS = ("en", "ar", "zh")  # what the server writes in; the browser's zh-CN is "zh"
RTL = {"ar"}
# English template -> (Arabic, Simplified Chinese); "{name}" fields are filled by `say`
MESSAGES: dict[str, tuple[str, str]] = {**FIGURE_TEXT, **APP_TEXT, **EXPLORER_TEXT, **INPUT_TEXT, **ROOM_TEXT,
                                         **MECH_TEXT}

_override: ContextVar[str | None] = ContextVar("gitdemo_lang", default=None)
_sessions: OrderedDict[str, str] = OrderedDict()
_lock = threading.Lock()
MAX_SESSIONS = 20_000  # oldest forgotten first; a forgotten session reads English until its page syncs again


def normalise(code) -> str:
    """'ar-EG' -> 'ar', 'zh-CN' / 'zh-Hans' / 'zh' -> 'zh', anything else -> 'en'."""
    base = re.split(r"[-_]", str(code or "").strip().lower())[0]
    return base if base in LANGS else "en"


def remember(session: str | None, code) -> str:
    """Record the language a page shows (keyed by its Gradio session); returns the normalised code."""
    lang = normalise(code)
    if session:
        with _lock:
            _sessions.pop(session, None)
            _sessions[session] = lang
            while len(_sessions) > MAX_SESSIONS:
                _sessions.popitem(last=False)
    return lang


def forget(session: str | None) -> None:
    with _lock:
        _sessions.pop(session or "", None)


def _session() -> str | None:
    """The session of the Gradio request this thread serves, if any (Gradio sets it around each call)."""
    context = sys.modules.get("gradio.context")  # never import gradio from here: viz and the CLI do not need it
    if context is None:
        return None
    try:
        request = context.LocalContext.request.get(None)
    except Exception:  # noqa: BLE001 - an internal of Gradio: without it, English
        return None
    return getattr(request, "session_hash", None) if request is not None else None


def current() -> str:
    """The language to write in now: `use(...)` if active, else the page's (Gradio request), else English."""
    forced = _override.get()
    if forced:
        return forced
    session = _session()
    if session:
        with _lock:
            return _sessions.get(session, "en")
    return "en"


def is_rtl(lang: str | None = None) -> bool:
    return (lang or current()) in RTL


@contextlib.contextmanager
def use(code):
    """Write in `code` inside the block (tests, cached examples, the CLI)."""
    token = _override.set(normalise(code))
    try:
        yield
    finally:
        _override.reset(token)


def template(english: str, lang: str | None = None) -> str:
    """The template of `english` in `lang` (default: the current language); English when there is no entry."""
    lang = lang or current()
    if lang == "en":
        return english
    entry = MESSAGES.get(english)
    return entry[LANGS.index(lang) - 1] if entry else english


def say(english: str, **values) -> str:
    """`english` in the current language, with `values` filled in (`str.format` fields)."""
    text = template(english)
    return text.format(**values) if values else text


def join(parts) -> str:
    """A list written out: "a, b, c" in English, "a، b" in Arabic, "a、b" in Chinese."""
    sep = {"ar": "، ", "zh": "、"}.get(current(), ", ")
    return sep.join(str(p) for p in parts)


__all__ = ["LANGS", "MESSAGES", "normalise", "remember", "forget", "current", "is_rtl", "use", "template", "say",
           "join"]
