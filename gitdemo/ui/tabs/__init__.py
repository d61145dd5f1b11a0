"""One module per tab; each has `build()` (render it inside `gr.Tabs`) and its API handler(s)."""
from . import caption, classroom, compare, lesson, mask, paligemma, video, vqa

TABS = (caption, vqa, video, mask, paligemma, compare, lesson, classroom)  # in the order the app shows them

__all__ = ["TABS", "caption", "vqa", "video", "mask", "paligemma", "compare", "lesson", "classroom"]
