"""The Class tab: a student joins a class with its code; the teacher opens a class and watches its wall.

Student: type the code (or open the link `?room=CODE`), Join; every caption, VQA answer and PaliGemma answer
made while joined goes to the class wall (the room box on those tabs shows the code); My posts lists this
page's posts, any of which can be withdrawn; Leave stops posting.
Teacher: Open a new class gives the code (large, to project), the students' link, and the private teacher
link (`?room=CODE#key=KEY`: the key stays in the address's fragment, which browsers never send to a server)
and key, to open the wall on another device. The wall refreshes itself every few seconds while it is open
(a `gr.Timer`: one tiny server event per tick for the teacher's page only, which does nothing while the wall
is not on screen, and nothing is redrawn unless a post came or went); pick a word and every post that says it shows its map, on one colour scale.

The rooms are `gitdemo.serving.rooms` (memory only); the endpoints and the tabs' room boxes `ui.room_api`;
the wall's HTML `ui.wall`.
"""
from __future__ import annotations

import html

import gradio as gr

from ...lang import say
from ...serving.rooms import ROOMS, normalise_code, shown_code
from .. import room_api, wall
from ..controls import guard
from ..i18n import tr

TICK_S = 4.0  # the wall's refresh period while it is open
NO_WORD = ""  # the picker's "no word": the pictures themselves
# the timer's tick sends whether the wall is on screen (the Class tab shown, the browser tab visible)
SHOWN_JS = """(state, word, shown) => {
  const wall = document.getElementById('room-wall');
  return [state, word, !!wall && wall.offsetParent !== null && document.visibilityState === 'visible'];
}"""
# the address: a student's `?room=CODE`, a teacher's `#key=KEY` (read in the browser, never sent by the browser)
ADDRESS_JS = """() => {
  const q = new URLSearchParams(window.location.search), h = new URLSearchParams(window.location.hash.slice(1));
  return [q.get('room') || '', h.get('key') || ''];
}"""


def _links(code: str, key: str, request) -> tuple[str, str]:
    """The students' link and the teacher's, on the address the page was served from."""
    headers = getattr(request, "headers", None) or {}
    host = headers.get("x-forwarded-host") or headers.get("host") or "localhost:7860"
    proto = headers.get("x-forwarded-proto") or ("http" if host.startswith(("localhost", "127.")) else "https")
    base = f"{proto.split(',')[0].strip()}://{host.split(',')[0].strip()}/"
    return f"{base}?room={code}", f"{base}?room={code}#key={key}"


def big_code(code: str) -> str:
    label = html.escape(say("Class code"))
    return (f'<div class="room-code" role="status" aria-label="{label}: {" ".join(shown_code(code))}">'
            f'<span class="room-code-label">{label}</span><br><span class="room-code-text">'
            f'{html.escape(shown_code(code))}</span></div>')


# ----------------------------------------------------------------------------- student
def student_join(code, request: gr.Request):
    """Join: the code goes to every tab's room box (shown), the status says so."""
    code = ROOMS.join(code, client=room_api.who(request)[1])
    status = say("You are in class **{code}**: every caption, answer and PaliGemma answer you make now is posted to "
                 "the class wall. Leave the class to stop.", code=shown_code(code))
    boxes = [gr.update(value=code, visible=True) for _ in room_api.BOXES]
    return (status, gr.update(visible=True), *boxes, *my_posts(code, request))


def student_leave():
    boxes = [gr.update(value="", visible=False) for _ in room_api.BOXES]
    return (say("You are not in a class: nothing you make is posted."), gr.update(visible=False), *boxes,
            gr.update(choices=[], value=None), say("No posts of yours in this class."))


def my_posts(code, request: gr.Request):
    """(the picker of this page's posts, a line saying how many)."""
    posts = ROOMS.mine(code, room_api.who(request)[0]) if normalise_code(code) else []
    choices = [(f"{n}. {p.text or '…'}", p.id) for n, p in enumerate(posts, 1)]
    line = say("{n} of your posts are on the class wall.", n=len(posts)) if posts else \
        say("No posts of yours in this class.")
    return gr.update(choices=choices, value=None), line


def student_withdraw(code, post_id, request: gr.Request):
    if not post_id:
        raise room_api.RoomError(say("Pick one of your posts first."))
    session, client = room_api.who(request)
    ROOMS.withdraw(code, post_id, owner=session, client=client)
    return my_posts(code, request)


# ----------------------------------------------------------------------------- teacher
def teacher_open(request: gr.Request):
    room = ROOMS.open()
    student, teacher = _links(room.code, room.teacher_key, request)
    return (big_code(room.code), student, teacher, room.code, room.teacher_key, *show_wall(room.code, room.teacher_key,
                                                                                         NO_WORD, request))


def show_wall(code, key, word, request: gr.Request, last: int = -1):
    """(state, timer, word picker, counts, wall, close button): the wall of a room, for its teacher."""
    version, posts = ROOMS.wall(code, key, client=room_api.who(request)[1])
    choices = wall.word_choices(posts)
    word = word if word in choices else NO_WORD
    picker = gr.update(choices=[(say("no word: the pictures"), NO_WORD)] + [(w, w) for w in choices], value=word)
    return ({"code": normalise_code(code), "key": key, "version": version, "word": word}, gr.Timer(active=True),
            picker, wall.counts_html(posts, word or None), wall.wall_html(posts, word or None), gr.update(visible=True))


def tick(state, word, shown, request: gr.Request):
    """The timer: nothing while the wall is not on screen; a redraw only when the room changed (or the word did);
    a room that ended stops the timer."""
    if not shown:
        return (gr.skip(),) * 6
    if not state or not state.get("code"):
        return gr.skip(), gr.Timer(active=False), gr.skip(), gr.skip(), gr.skip(), gr.skip()
    try:
        version = ROOMS.version(state["code"], state["key"], client=room_api.who(request)[1])
    except room_api.RoomError:
        return None, gr.Timer(active=False), gr.skip(), gr.skip(), say("This class has ended."), gr.skip()
    if version == state.get("version") and (word or NO_WORD) == state.get("word"):
        return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
    return show_wall(state["code"], state["key"], word or NO_WORD, request)


def pick_word(state, word, request: gr.Request):
    if not state or not state.get("code"):
        return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
    return show_wall(state["code"], state["key"], word or NO_WORD, request)


def teacher_close(state, request: gr.Request):
    if not state or not state.get("code"):
        raise room_api.RoomError(say("Open a class (or show its wall) first."))
    n = ROOMS.close(state["code"], state["key"], client=room_api.who(request)[1])
    return (None, gr.Timer(active=False), gr.update(choices=[], value=None), "",
            say("The class is closed: its {n} posts are gone from the server.", n=n), gr.update(visible=False), "",
            "", "")


def from_address(code, key, request: gr.Request):
    """A page opened with `?room=CODE` joins; with `#key=KEY` too, it shows that room's wall (on the Class tab)."""
    n = len(room_api.BOXES)
    skip_student = (gr.skip(),) * (2 + n + 2)
    skip_teacher = (gr.skip(),) * 8
    if not normalise_code(code):
        return (*skip_student, *skip_teacher, gr.skip())
    try:
        if key:
            wall_now = show_wall(code, key, NO_WORD, request)
            return (*skip_student, normalise_code(code), key, *wall_now, gr.Tabs(selected="class"))
        return (*student_join(code, request), *skip_teacher, gr.skip())
    except room_api.RoomError as exc:
        gr.Warning(str(exc))
        return (*skip_student, *skip_teacher, gr.skip())


# ----------------------------------------------------------------------------- layout
def build() -> None:
    with gr.Tab(tr("Class"), id="class", elem_id="class"):
        gr.Markdown(tr("A class together: students join with the teacher's code and everything they caption or ask "
                       "is gathered on the teacher's wall, where one word's maps from the whole class sit side by "
                       "side. Posts live only in the server's memory and are gone when the class closes."))
        with gr.Group():
            gr.Markdown(tr("## Student: join a class"))
            with gr.Row():
                code = gr.Textbox(label=tr("Class code"), placeholder="ABCD-2345", max_lines=1,
                                  elem_id="room-join-code")
                join = gr.Button(tr("Join the class"), variant="primary", elem_id="room-join")
            status = gr.Markdown(tr("You are not in a class: nothing you make is posted."), elem_id="room-status")
            leave = gr.Button(tr("Leave the class"), visible=False, elem_id="room-leave")
            mine = gr.Radio([], label=tr("My posts: pick one to withdraw it"), elem_id="room-mine")
            mine_line = gr.Markdown("", elem_id="room-mine-line")
            with gr.Row():
                refresh = gr.Button(tr("Show my posts"), elem_id="room-mine-refresh")
                withdraw = gr.Button(tr("Withdraw this post"), variant="stop", elem_id="room-withdraw")
        with gr.Group():
            gr.Markdown(tr("## Teacher: open a class and watch its wall"))
            open_ = gr.Button(tr("Open a new class"), variant="primary", elem_id="room-open")
            big = gr.HTML("", elem_id="room-code-big")
            with gr.Row():
                student_link = gr.Textbox(label=tr("Link for students"), buttons=["copy"], max_lines=1,
                                          interactive=False, elem_id="room-student-link")
                teacher_link = gr.Textbox(label=tr("Teacher link (private: it opens the wall)"), buttons=["copy"],
                                          max_lines=1, interactive=False, elem_id="room-teacher-link")
            with gr.Accordion(tr("Show the wall of a class already open (for example on another device)"),
                              open=False, elem_id="room-teacher-acc"):
                with gr.Row():
                    t_code = gr.Textbox(label=tr("Class code"), max_lines=1, elem_id="room-teacher-code")
                    t_key = gr.Textbox(label=tr("Teacher key"), type="password", max_lines=1,
                                       elem_id="room-teacher-key")
                show = gr.Button(tr("Show the wall"), elem_id="room-show")
            state = gr.State(None)  # this teacher page's room {code, key, version, word}
            timer = gr.Timer(TICK_S, active=False)
            shown = gr.Checkbox(False, visible=False)  # filled in by the browser at each tick (SHOWN_JS)
            word = gr.Radio([], label=tr("Pick a word: every post that says it shows its map"), elem_id="room-word")
            counts = gr.HTML("", elem_id="room-counts")
            wall_box = gr.HTML("", elem_id="room-wall", css_template=wall.CSS)
            close = gr.Button(tr("Close the class (removes every post)"), variant="stop", visible=False,
                              elem_id="room-close")

    boxes = list(room_api.BOXES)
    private = dict(api_visibility="private", show_progress="hidden")
    student_out = [status, leave, *boxes, mine, mine_line]
    wall_out = [state, timer, word, counts, wall_box, close]
    join.click(guard(student_join), code, student_out, **private)
    code.submit(guard(student_join), code, student_out, **private)
    leave.click(guard(student_leave), None, student_out, **private)
    first = boxes[0] if boxes else code
    refresh.click(guard(my_posts), first, [mine, mine_line], **private)
    withdraw.click(guard(student_withdraw), [first, mine], [mine, mine_line], **private)
    open_.click(guard(teacher_open), None, [big, student_link, teacher_link, t_code, t_key, *wall_out], **private)
    show.click(guard(show_wall), [t_code, t_key, word], wall_out, **private)
    timer.tick(guard(tick), [state, word, shown], wall_out, queue=False, js=SHOWN_JS, **private)
    word.input(guard(pick_word), [state, word], wall_out, **private)
    close.click(guard(teacher_close), state, [*wall_out, big, student_link, teacher_link], **private)
    return student_out, [t_code, t_key, *wall_out]


def wire_address(demo, outputs, tabs) -> None:
    """`?room=` and `#key=` in the address, read once the page has loaded (call after `build`, with the app's
    `gr.Tabs`: a teacher's link opens the Class tab)."""
    student_out, teacher_out = outputs
    code, key = gr.Textbox(visible=False), gr.Textbox(visible=False)
    demo.load(guard(from_address), [code, key], [*student_out, *teacher_out, tabs], js=ADDRESS_JS,
              api_visibility="private", show_progress="hidden")


__all__ = ["build", "wire_address", "student_join", "student_leave", "my_posts", "student_withdraw", "teacher_open",
           "show_wall", "tick", "pick_word", "teacher_close", "from_address", "big_code", "TICK_S", "SHOWN_JS"]
