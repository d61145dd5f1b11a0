"""The class rooms in the app: the room box of each generation tab, posting a result, and the public endpoints.

A generation tab (Caption, Visual QA, PaliGemma) takes one more input, last: `room_input(key)`, a text box
that holds the class code while the page is joined (hidden otherwise; the Class tab fills it). Its handler
calls `check(room)` before it runs the model (a wrong code costs nothing and counts against the client) and
`post(room, image, payload, ...)` on its last update: the result goes to the room and the JSON says
`room_post: {"id", "key"}` (or `room_error` when the room ended meanwhile: the answer is still shown).

Endpoints (hidden components, like `/patch_readers`): `/room_open()` -> {"code", "teacher_key", ...};
`/room_wall(code, teacher_key)` -> {"code", "posts": [...], ...}; `/room_withdraw(code, id, key)`;
`/room_close(code, teacher_key)`. The rooms themselves: `gitdemo.serving.rooms` (memory only).
"""
from __future__ import annotations

import sys

import gradio as gr

from ..lang import say
from ..serving.rooms import ROOMS, UNKNOWN, RoomError, normalise_code, shown_code, thumbnail
from .controls import guard
from .i18n import tr

BOXES: list = []  # every tab's room box, in build order (the Class tab's join and leave update them all)


def room_input(key: str) -> gr.Textbox:
    """The tab's room box: hidden until the page joins a class, then it shows the code it posts to."""
    box = gr.Textbox("", label=tr("Class code (your results are posted to the class wall)"), max_lines=1,
                     interactive=False, visible=False, elem_id=f"{key}-room", elem_classes=["room-box"])
    BOXES.append(box)
    return box


def who(request=None) -> tuple[str | None, str | None]:
    """(session, client) of the request being served: the session owns its posts, the client is rate-limited.
    The client is the address the nearest proxy saw (the last X-Forwarded-For entry; a client cannot forge it)."""
    if request is None:
        context = sys.modules.get("gradio.context")
        try:
            request = context.LocalContext.request.get(None) if context else None
        except Exception:  # noqa: BLE001 - outside a Gradio request: no session, no client
            request = None
    if request is None:
        return None, None
    headers = getattr(request, "headers", None) or {}
    forwarded = [h.strip() for h in str(headers.get("x-forwarded-for", "") or "").split(",") if h.strip()]
    host = forwarded[-1] if forwarded else getattr(getattr(request, "client", None), "host", None)
    return getattr(request, "session_hash", None), host


def joined(room) -> str:
    """The normalised code of `room`, '' when not joined; a RoomError for a code that is not open."""
    if not normalise_code(room):
        return ""
    return ROOMS.join(room, client=who()[1])


def check(room) -> None:
    """Before a generation: a code that is not open stops it with a clear message (nothing runs)."""
    try:
        joined(room)
    except RoomError as exc:
        if str(exc) != say(UNKNOWN):  # too many tries: that sentence as it is
            raise
        raise RoomError(say("No class with this code is open (it may have ended): leave the class in the Class tab "
                            "to go on without it.")) from None


def _result(payload) -> bool:
    """A generation's finished JSON (not `gr.skip()`, which is a dict too)."""
    return isinstance(payload, dict) and "__type__" not in payload and "tokens" in payload


def post(room, image, payload, crop: bool = True, task: str = "caption"):
    """Post a finished result to the room when joined; returns the payload with `room_post` (or `room_error`)."""
    if not _result(payload) or not normalise_code(room):
        return payload
    session, client = who()
    try:
        payload["room_post"] = ROOMS.post(room, payload, thumbnail(image, crop), owner=session, client=client,
                                          task=task)
    except RoomError as exc:  # the answer is still the student's; the wall did not get it
        payload["room_error"] = str(exc)
        gr.Warning(str(exc))
    return payload


def posting(room, image, updates, task: str):
    """A GIT tab's stream of (text, payload) updates, its final payload posted to the room."""
    check(room)
    for text, payload in updates:
        yield text, post(room, image, payload, task=task) if _result(payload) else payload


# ----------------------------------------------------------------------------- the endpoints
def room_open() -> dict:
    """Open a class room: its code (for students) and its teacher key (for the wall; keep it private)."""
    room = ROOMS.open()
    return {"code": room.code, "shown_code": shown_code(room.code), "teacher_key": room.teacher_key,
            "expires_in_s": round(ROOMS.expires_in(room.code)), "max_posts": ROOMS.max_posts}


def room_wall(code, teacher_key) -> dict:
    """The room's posts (teacher only): {"code", "version", "posts": [{"id", "text", "tokens", "model", ...}]}."""
    version, posts = ROOMS.wall(code, teacher_key, client=who()[1])
    return {"code": normalise_code(code), "version": version, "posts": [p.to_json() for p in posts],
            "expires_in_s": round(ROOMS.expires_in(code))}


def room_withdraw(code, post_id, key) -> dict:
    """Withdraw one post with the key its generation returned (`room_post.key`)."""
    session, client = who()
    ROOMS.withdraw(code, post_id, key=key, client=client)
    return {"withdrawn": str(post_id)}


def room_close(code, teacher_key) -> dict:
    """Close the room: every post is dropped at once."""
    n = ROOMS.close(code, teacher_key, client=who()[1])
    return {"closed": normalise_code(code), "posts_removed": n}


def register_api() -> None:
    """The four room endpoints on hidden components (call inside the app's `gr.Blocks`)."""
    common = dict(queue=False, show_progress="hidden")
    with gr.Group(visible=False):
        code = gr.Textbox(label="Code")
        key = gr.Textbox(label="Teacher key")
        post_id = gr.Textbox(label="Post id")
        post_key = gr.Textbox(label="Post key")
        out = gr.JSON(label="Room")
        buttons = [gr.Button(name) for name in ("open", "wall", "withdraw", "close")]
    buttons[0].click(guard(room_open), None, out, api_name="room_open", **common)
    buttons[1].click(guard(room_wall), [code, key], out, api_name="room_wall", **common)
    buttons[2].click(guard(room_withdraw), [code, post_id, post_key], out, api_name="room_withdraw", **common)
    buttons[3].click(guard(room_close), [code, key], out, api_name="room_close", **common)


__all__ = ["BOXES", "room_input", "who", "joined", "check", "post", "posting", "room_open", "room_wall",
           "room_withdraw", "room_close", "register_api"]
