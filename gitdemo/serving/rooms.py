"""Class rooms: a teacher opens a room, students post their results to it, the teacher's wall shows them.

Everything lives in this process's memory, per room, and nowhere else: nothing of a room is written to disk
or logged, and a room's posts are dropped when the teacher closes it or when it expires
(`GITDEMO_ROOM_HOURS`, default 2). What a school needs, and where it is kept:

- codes that cannot be guessed: 8 characters from a 31-letter alphabet without look-alikes (0/O, 1/I/L),
  drawn by `secrets` (31^8 = 8.5e11 codes against at most `GITDEMO_ROOMS` open rooms), and every client that
  gives wrong codes or keys more than `FAILS_PER_MINUTE` times a minute is refused for a minute;
- a teacher key (`secrets.token_urlsafe`) for the wall and for closing; a key per post for withdrawing it
  (the page that posted it may also withdraw it by its session);
- bounds: posts per room (`GITDEMO_ROOM_POSTS`, default 300), bytes per room (thumbnails and grids,
  `GITDEMO_ROOM_MB`, default 16), tokens per post (64), rooms per server (`GITDEMO_ROOMS`, default 20), each
  with a sentence at the bound;
- one lock around every change and every read, so thirty students posting at once lose nothing.

A wrong key and an unknown, closed or expired code get the same sentence: nobody learns whether a code
exists without its key. Gradio-free; the app's handlers are in `gitdemo.ui.room_api`.
"""
from __future__ import annotations

import hmac
import io
import itertools
import os
import secrets
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..lang import say

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: a code read off a projector is typed right
CODE_LEN = 8
FAILS_PER_MINUTE = 30  # wrong codes or keys from one client (a whole class behind one school address mistyping)
MAX_TOKENS = 64  # tokens kept per post (PaliGemma may write more; the wall shows words)
THUMB = 96  # side of the thumbnail, in pixels: what the model saw, small
UNKNOWN = "No class with this code (and key) is open: check what you typed, or the class has ended."


class RoomError(InputError):
    """A room that cannot be used as asked: unknown, ended, full, or a wrong key."""


def _env(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name) or default)
    except ValueError:
        return default


def normalise_code(code) -> str:
    """'abcd-efgh ' -> 'ABCDEFGH' (spaces and dashes dropped, upper case)."""
    return "".join(ch for ch in str(code or "").upper() if ch.isalnum())


def shown_code(code: str) -> str:
    """'ABCDEFGH' -> 'ABCD-EFGH', easier to read aloud and to type."""
    return f"{code[:4]}-{code[4:]}" if len(code) == CODE_LEN else code


def thumbnail(image, crop: bool = True) -> bytes:
    """A small JPEG of what the model saw: centre-cropped to a square (GIT's CLIP crop) or squashed to one
    (PaliGemma resizes the whole picture), `THUMB` pixels a side."""
    from PIL import Image

    im = image.convert("RGB")
    if crop:
        side = min(im.size)
        left, top = (im.width - side) // 2, (im.height - side) // 2
        im = im.crop((left, top, left + side, top + side))
    im = im.resize((THUMB, THUMB), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=80)
    return buf.getvalue()


@dataclass
class Token:
    text: str
    grid: np.ndarray | None  # (rows, cols) float32: the token's default map over the patches (sums to 1)
    share: dict | None = None  # {"image", "cls", "text"}: where its attention went (mean over layers and heads)


@dataclass
class Post:
    id: str
    key: str
    owner: str | None  # the Gradio session that posted it (never shown; lets that page withdraw it)
    text: str
    tokens: list[Token]
    model: str
    precision: str | None
    task: str
    question: str | None
    thumbnail: bytes
    created: float

    @property
    def nbytes(self) -> int:
        grids = sum(t.grid.nbytes for t in self.tokens if t.grid is not None)
        words = sum(len(t.text) for t in self.tokens) + len(self.text) + len(self.question or "")
        return grids + words + len(self.thumbnail)

    def to_json(self) -> dict:
        import base64

        return {"id": self.id, "text": self.text, "model": self.model, "precision": self.precision, "task": self.task,
                "question": self.question, "created": round(self.created, 3),
                "thumbnail": "data:image/jpeg;base64," + base64.b64encode(self.thumbnail).decode(),
                "tokens": [{"text": t.text, "attention": None if t.grid is None else np.round(t.grid, 5).tolist(),
                            "share": t.share} for t in self.tokens]}


def tokens_from_result(result: dict) -> list[Token]:
    """The tokens of a generation's JSON (`/caption`, `/vqa`, `/paligemma`) with their default grids."""
    out = []
    for t in (result.get("tokens") or [])[:MAX_TOKENS]:
        grid = t.get("attention")
        arr = None if grid is None else np.asarray(grid, dtype=np.float32)
        if arr is not None and arr.ndim == 3:  # a video's frames: not posted, but keep the first frame if given
            arr = arr[0]
        share = t.get("share") if isinstance(t.get("share"), dict) else None
        if share is not None:
            share = {k: float(share[k]) for k in ("image", "cls", "text") if k in share}
        out.append(Token(str(t.get("text", "")), arr if arr is not None and arr.ndim == 2 else None, share))
    return out


@dataclass
class Room:
    code: str
    teacher_key: str
    created: float
    expires: float
    posts: OrderedDict = field(default_factory=OrderedDict)  # id -> Post, in the order they came
    version: int = 0  # +1 on every change: the wall redraws only when it moved
    nbytes: int = 0


class Rooms:
    """Every open room of this server (one instance, `ROOMS`); tests make their own with small bounds."""

    def __init__(self, max_rooms: int | None = None, max_posts: int | None = None, hours: float | None = None,
                 max_bytes: int | None = None, clock=time.monotonic):
        self.max_rooms = int(max_rooms or _env("GITDEMO_ROOMS", 20))
        self.max_posts = int(max_posts or _env("GITDEMO_ROOM_POSTS", 300))
        self.hours = float(hours or _env("GITDEMO_ROOM_HOURS", 2))
        self.max_bytes = int(max_bytes or _env("GITDEMO_ROOM_MB", 16) * 2**20)
        self.clock = clock
        self._rooms: dict[str, Room] = {}
        self._fails: OrderedDict[str, deque] = OrderedDict()  # client -> times of its recent wrong codes / keys
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ inside the lock
    def _sweep(self) -> None:
        now = self.clock()
        for code in [c for c, r in self._rooms.items() if r.expires <= now]:
            self._rooms.pop(code).posts.clear()

    def _check_client(self, client: str | None) -> None:
        times = self._fails.get(client or "")
        now = self.clock()
        while times and times[0] <= now - 60:
            times.popleft()
        if times is not None and len(times) >= FAILS_PER_MINUTE:
            raise RoomError(say("Too many wrong codes or keys from here: wait a minute, then try again."))

    def _fail(self, client: str | None, message: str = UNKNOWN):
        times = self._fails.pop(client or "", None) or deque()
        times.append(self.clock())
        self._fails[client or ""] = times
        while len(self._fails) > 10_000:  # bounded: the oldest clients are forgotten
            self._fails.popitem(last=False)
        return RoomError(say(message))

    def _room(self, code, client: str | None, teacher_key: str | None = None) -> Room:
        """The open room of `code` (and of `teacher_key`, when given), else a RoomError (counted as a failure)."""
        self._sweep()
        self._check_client(client)
        room = self._rooms.get(normalise_code(code))
        if room is None or (teacher_key is not None and not hmac.compare_digest(str(teacher_key).strip().encode(),
                                                                                  room.teacher_key.encode())):
            raise self._fail(client)
        return room

    # ------------------------------------------------------------------ what the app calls
    def open(self) -> Room:
        """A new room with a fresh code and teacher key."""
        with self._lock:
            self._sweep()
            if len(self._rooms) >= self.max_rooms:
                raise RoomError(say("This server already holds as many open classes as it can ({n}): close one, or "
                                    "wait until one ends.", n=self.max_rooms))
            code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LEN))
            while code in self._rooms:
                code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LEN))
            now = self.clock()
            room = Room(code, secrets.token_urlsafe(18), now, now + self.hours * 3600)
            self._rooms[code] = room
            return room

    def join(self, code, client: str | None = None) -> str:
        """The room's code if it is open (what a student's page keeps), else a RoomError."""
        with self._lock:
            return self._room(code, client).code

    def post(self, code, result: dict, thumb: bytes, owner: str | None = None, client: str | None = None,
             task: str = "caption") -> dict:
        """Add one result to the room: {"id", "key"} (the key withdraws it)."""
        tokens = tokens_from_result(result)  # outside the lock: the conversion is the slow part
        text = str(result.get("plain_text") or result.get("text") or "")
        question = result.get("question") or result.get("prompt")
        with self._lock:
            room = self._room(code, client)
            if len(room.posts) >= self.max_posts:
                raise RoomError(say("This class's wall is full ({n} posts): the teacher can open a new class.",
                                    n=self.max_posts))
            post = Post(f"p{next(self._ids)}", secrets.token_urlsafe(12), owner, text, tokens,
                        str(result.get("model") or ""), result.get("precision"), task,
                        None if question is None else str(question), bytes(thumb), time.time())
            if room.nbytes + post.nbytes > self.max_bytes:
                raise RoomError(say("This class's wall is full ({n} posts): the teacher can open a new class.",
                                    n=len(room.posts)))
            room.posts[post.id] = post
            room.nbytes += post.nbytes
            room.version += 1
            return {"id": post.id, "key": post.key}

    def wall(self, code, teacher_key, client: str | None = None) -> tuple[int, list[Post]]:
        """(version, posts) of the room, for its teacher only."""
        with self._lock:
            room = self._room(code, client, teacher_key=teacher_key or "")
            return room.version, list(room.posts.values())

    def version(self, code, teacher_key, client: str | None = None) -> int:
        with self._lock:
            return self._room(code, client, teacher_key=teacher_key or "").version

    def mine(self, code, owner: str | None) -> list[Post]:
        """The posts of one page (its session) in the room; none when the room has ended."""
        with self._lock:
            self._sweep()
            room = self._rooms.get(normalise_code(code))
            return [p for p in room.posts.values() if owner and p.owner == owner] if room else []

    def withdraw(self, code, post_id, key: str | None = None, owner: str | None = None,
                 client: str | None = None) -> None:
        """Remove one post: by its key (the API) or by the session that posted it (the page)."""
        with self._lock:
            room = self._room(code, client)
            post = room.posts.get(str(post_id or "").strip())
            by_key = post is not None and key and hmac.compare_digest(str(key).strip().encode(), post.key.encode())
            if post is None or not (by_key or (owner and post.owner == owner)):
                raise self._fail(client, "No post with this id and key is in this class.")
            del room.posts[post.id]
            room.nbytes -= post.nbytes
            room.version += 1

    def close(self, code, teacher_key, client: str | None = None) -> int:
        """End the room: its posts are dropped at once. Returns how many there were."""
        with self._lock:
            room = self._room(code, client, teacher_key=teacher_key or "")
            del self._rooms[room.code]
            n = len(room.posts)
            room.posts.clear()  # gone now, even while a request still holds the room
            room.nbytes, room.version = 0, room.version + 1
            return n

    def expires_in(self, code) -> float:
        with self._lock:
            room = self._rooms.get(normalise_code(code))
            return max(0.0, room.expires - self.clock()) if room else 0.0

    def nbytes(self) -> int:
        """Bytes held by every open room's posts (thumbnails, grids, texts)."""
        with self._lock:
            self._sweep()
            return sum(r.nbytes for r in self._rooms.values())

    def __len__(self) -> int:
        with self._lock:
            self._sweep()
            return len(self._rooms)


ROOMS = Rooms()

__all__ = ["ROOMS", "Rooms", "Room", "Post", "Token", "RoomError", "normalise_code", "shown_code", "thumbnail",
           "tokens_from_result", "ALPHABET", "CODE_LEN", "FAILS_PER_MINUTE", "UNKNOWN"]
