"""The Lesson tab: the 10-minute attention lesson inside the app, read from assets/lessons/attention.yaml
(`ui.lessons`; how to write another: docs/lessons.md).

Each step shows its title, what to look at and a question in the page's language; "Show the answer" reveals the
answer; "Set up this step" puts the app in the step's state with one click: it fills the target tab's inputs (the
example picture or video, the model, the question or prompt), selects that tab (`gr.Tabs(selected=...)`, so
`build_demo` hands this tab the Tabs), then presses the tab's own run button in the page (the same event a student's
click runs, so the explorer builds as usual). The explorer's selection (token, layer, head, view, panel) is the
explorer's `want` (token, layer, head) and its view; see EXPLORER_HOOK.
"""
from __future__ import annotations

import html

import gradio as gr

from ...io.assets import ASSETS
from ...lang import current, say, use
from .. import lessons
from ..i18n import on_language, tr

# The explorer's part of a step (EXPLORER_HOOK): "Set up this step" also sets the target explorer's `want` (the
# step's token as its word or number, its layer and head, which that explorer's build applies when the answer
# arrives, as for a shared link) and its heatmap view.

# in the page: press the target tab's run button once the inputs are set (the same event as a student's click)
CLICK_RUN = """(target) => {
  // a tab's content is mounted when it is first selected: wait (up to 10 s) for its run button to be on screen
  let tries = 0;
  const press = () => {
    const button = target ? document.getElementById(target) : null;
    if (button && button.offsetParent !== null) { button.scrollIntoView({block: 'nearest'}); button.click(); }
    else if (target && tries++ < 100) setTimeout(press, 100);
  };
  press();
  return [];
}"""


class Handle:
    """The tab's components, for `wire` (build_demo calls it once every tab exists)."""

    def __init__(self, lesson: lessons.Lesson, **components):
        self.lesson = lesson
        self.__dict__.update(components)


def _lang() -> str:
    return current()


def step_markdown(lesson: lessons.Lesson, i: int, lang: str | None = None) -> str:
    """Title, what to look at and the question of step i (from 0), in the page's language (escaped: data)."""
    lang = lang or _lang()
    s = lesson.steps[i]
    esc = html.escape
    return (f"### {esc(s.text('title', lang))}\n\n**{esc(say('What to look at'))}:** {esc(s.text('look', lang))}\n\n"
            f"**{esc(say('Question'))}:** {esc(s.text('question', lang))}")


def setting_line(state: lessons.State) -> str:
    """The step's state in words (what the explorer opens on, and the panel to open by hand)."""
    token = say("token {n}", n=state.token) if isinstance(state.token, int) else f"'{state.token}'"
    layer = say("mean over layers") if state.layer == "mean" else say("layer {n}", n=state.layer)
    head = {"mean": say("mean over heads"), "max": say("max over heads")}.get(state.head) or \
        say("head {n}", n=state.head)
    line = say("In the explorer: {token}, {layer}, {head}.", token=token, layer=layer, head=head)
    if state.panel == "mechanism":
        line += " " + say("Then open 'Attention step by step'.")
    elif state.panel == "knobs":
        line += " " + say("Then open 'The sampling knobs, live'.")
    return line


def _index(value, lesson) -> int:
    return int(min(max(int(value or 1), 1), len(lesson.steps))) - 1


def build():
    lesson = lessons.load(lessons.DEFAULT)
    n = len(lesson.steps)
    with gr.Tab(tr("Lesson"), id="lesson") as tab:
        title = gr.Markdown(f"## {html.escape(lesson.text('title'))}\n\n{html.escape(lesson.text('intro'))}",
                            elem_id="lesson-title")
        step = gr.Slider(1, n, value=1, step=1, precision=0, label=tr("Lesson step"), elem_id="lesson-step")
        with gr.Row():
            prev = gr.Button(tr("Previous step"), elem_id="lesson-prev")
            nxt = gr.Button(tr("Next step"), elem_id="lesson-next")
        body = gr.Markdown(step_markdown(lesson, 0, "en"), elem_id="lesson-body")
        setup = gr.Button(tr("Set up this step in the app (one click)"), variant="primary", elem_id="lesson-setup")
        where = gr.Markdown(setting_line(lesson.steps[0].state), elem_id="lesson-where")
        reveal = gr.Button(tr("Show the answer"), elem_id="lesson-reveal")
        answer = gr.Markdown("", elem_id="lesson-answer")
        target = gr.Textbox("", visible=False, elem_id="lesson-target")  # the run button to press (for CLICK_RUN)
        wanted = gr.State(None)
    return Handle(lesson, tab=tab, title=title, step=step, prev=prev, next=nxt, body=body, setup=setup, where=where,
                  reveal=reveal, answer=answer, target=target, wanted=wanted)


def wire(handle: Handle, tabs: gr.Tabs, demo: gr.Blocks, targets: dict | None = None) -> None:
    """Connect the tab: its own buttons, and "Set up this step" to the other tabs' inputs (found by elem_id)."""
    lesson = handle.lesson
    by_id = {b.elem_id: b for b in demo.blocks.values() if getattr(b, "elem_id", None)}
    fields = [(tab, name, by_id[eid]) for tab, spec in lessons.TARGETS.items() if spec["run"] in by_id
              for name, eid in spec.items() if name != "run" and eid and eid in by_id]
    common = dict(api_visibility="private", queue=False, show_progress="hidden")

    def show(value, lang=None):
        i = _index(value, lesson)
        lang = lang or _lang()
        head = f"## {html.escape(lesson.text('title', lang))}\n\n{html.escape(lesson.text('intro', lang))}"
        with use(lang):
            return i + 1, head, step_markdown(lesson, i, lang), setting_line(lesson.steps[i].state), ""

    outs = [handle.step, handle.title, handle.body, handle.where, handle.answer]
    handle.step.input(show, [handle.step], outs, **common)
    handle.prev.click(lambda v: show(_index(v, lesson)), [handle.step], outs, **common)
    handle.next.click(lambda v: show(_index(v, lesson) + 2), [handle.step], outs, **common)
    # in the page's language once it is known (the revealed answer stays as it is)
    handle.tab.select(lambda v: show(v)[1:4], [handle.step], outs[1:4], **common)
    on_language(lambda code, v: show(v, code)[1:4], [handle.step], outs[1:4])

    def reveal(value):
        s = lesson.steps[_index(value, lesson)]
        return f"**{html.escape(say('Answer'))}:** {html.escape(s.text('answer', _lang()))}"

    handle.reveal.click(reveal, [handle.step], [handle.answer], **common)

    def setup(value):
        i = _index(value, lesson)
        state = lesson.steps[i].state
        spec = lessons.TARGETS[state.tab]
        if spec["run"] not in by_id:
            raise gr.Error(say("This step needs a tab this server does not show."))
        values = []
        for tab, name, _ in fields:
            if tab != state.tab:
                values.append(gr.skip())
            elif name == "image":
                values.append(str(ASSETS / "examples" / state.example))
            elif name == "model":
                values.append(state.model)
            elif name in lessons.FIXED:  # greedy, the app's default precision: the answer the step was written on
                values.append(lessons.FIXED[name])
            else:
                values.append(state.question)
        for key in explorers:  # the explorer opens on the step's token, layer, head and view
            token = {"word": state.token} if isinstance(state.token, str) else {"token": state.token - 1}
            values += ([{**token, "layer": state.layer, "head": state.head}, state.view] if key == state.tab
                       else [gr.skip(), gr.skip()])
        return [gr.Tabs(selected=state.tab), spec["run"], {"tab": state.tab, "settings_for": i + 1}, *values]

    explorers = {key: t.explorer for key, t in (targets or {}).items()}
    wants = [c for e in explorers.values() for c in (e.want, e.map)]
    handle.setup.click(setup, [handle.step], [tabs, handle.target, handle.wanted, *(c for _, _, c in fields), *wants],
                       api_visibility="private", show_progress="hidden").then(
        None, [handle.target], None, js=CLICK_RUN, api_visibility="private", queue=False)


__all__ = ["build", "wire", "Handle", "step_markdown", "setting_line", "CLICK_RUN"]
