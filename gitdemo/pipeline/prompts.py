"""What the user typed -> the text a model reads: GIT's optional question, PaliGemma's task prompts.

GIT: no question means a caption (the prompt is just [CLS]); a question is answered after it.
PaliGemma: every call needs a prompt, typed freely or built from a task ("detect cat ; dog").
"""
from __future__ import annotations

from ..errors import InputError
from ..processing.paligemma import MAX_PROMPT_CHARS, TASKS, task_prompt

MAX_QUESTION_CHARS = 1000
# what the PaliGemma tab's task menu offers: (label, task key of paligemma_processing.TASKS)
TASK_CHOICES = [("caption", "caption"), ("describe", "describe"), ("answer a question", "answer"),
                ("detect objects", "detect"), ("segment objects", "segment"), ("read text (OCR)", "ocr")]


def _words(text) -> str:
    """Runs of whitespace (newlines, tabs) become one space; the ends are trimmed."""
    return " ".join(str("" if text is None else text).split())


def clean_question(question, required: bool = False) -> str | None:
    """GIT's question: None when there is none (a caption is wanted), unless `required` (the VQA tab)."""
    question = _words(question)
    if not question:
        if required:
            raise InputError("Type a question first (to describe the image instead, use the Caption tab).")
        return None
    if len(question) > MAX_QUESTION_CHARS:
        raise InputError(f"The question is {len(question)} characters long; keep it under {MAX_QUESTION_CHARS}.")
    return question


def build_prompt(task: str | None, text: str = "", lang: str = "en", free_prompt: str | None = None) -> str:
    """The free prompt when one is typed, else the task's prompt ("detect cat ; dog")."""
    free = _words(free_prompt)
    if free:
        return free
    if not task:
        raise InputError("Choose a task or type a prompt (for example 'caption en').")
    return task_prompt(task, text or "", lang or "en")


def clean_prompt(prompt) -> str:
    """PaliGemma's prompt: text, not empty, not too long."""
    if not isinstance(prompt, str):
        raise InputError("The prompt must be text.")
    prompt = _words(prompt)
    if not prompt:
        raise InputError("Type a prompt first, or build one with the task menu (for example 'caption en').")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InputError(f"The prompt is {len(prompt)} characters long; keep it under {MAX_PROMPT_CHARS}.")
    return prompt


__all__ = ["MAX_QUESTION_CHARS", "MAX_PROMPT_CHARS", "TASKS", "TASK_CHOICES", "clean_question", "build_prompt",
           "clean_prompt"]
