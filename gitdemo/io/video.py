"""Video file -> the few frames a GIT video checkpoint reads (6 for git-base-vatex), with PyAV.

Which frames: the clip's N frames are cut into `num_frames` equal segments and the frame at
the centre of each is taken:  index_i = floor((i + 0.5) * N / num_frames),  i = 0 .. num_frames-1.
(N=48, 6 frames -> 4, 12, 20, 28, 36, 44.) A clip shorter than `num_frames` gets the same rule,
which repeats its frames evenly (3 frames, 6 wanted -> 0, 0, 1, 1, 2, 2), and says so in `note`.

How: N comes from the container (`stream.frames`) or, when it does not say (WebM, some MKV),
from counting packets, which reads the file but decodes nothing. A short clip (N <= 4 x
num_frames) is decoded front to back. A longer one is read by seeking: jump to the keyframe
before each wanted timestamp and decode forward to it, so a 10-minute video costs a few dozen
decoded frames, not 18,000. If seeking fails (no timestamps, a demuxer that cannot seek) the
clip is decoded front to back after all. `VideoFrames.decoded` counts the frames decoded.

A variable-frame-rate clip (phones record these) is read the same way: a frame's index is its
time x the average rate, so the frames are spread evenly in time, and `indices` count at that rate.

Frames come back upright (the display-matrix rotation of phone videos is applied) and no larger
than `max_side` pixels on their long side (1024 by default: the processor shrinks them to 224
or 480 anyway, and six 4K frames would cost 150 MB).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

from PIL import Image

from ..errors import InputError
from ..lang import say
from .images import log_unexpected, reason

SEEK_FACTOR = 4  # seek only when the clip has more than SEEK_FACTOR x num_frames frames
MIN_SEEK_GAP = 16  # a target fewer frames ahead than this is reached by decoding forward


@dataclass
class VideoFrames:
    frames: list[Image.Image]  # RGB, upright, long side <= max_side
    indices: list[int]  # index (0-based, presentation order) of each returned frame in the clip
    fps: float | None  # average frame rate, if the container says
    duration: float | None  # seconds, if known
    total_frames: int  # N, the frames in the clip
    decoded: int  # frames actually decoded (far below total_frames when seeking worked)
    seeked: bool  # whether the frames were found by seeking
    note: str = ""  # for the user: repeated frames, downscaling


class _SeekFailed(Exception):
    pass


def frame_indices(total: int, num_frames: int) -> list[int]:
    """Centres of `num_frames` equal segments of a `total`-frame clip (see the module docstring)."""
    return [min(total - 1, math.floor((i + 0.5) * total / num_frames)) for i in range(num_frames)]


def _name(path) -> str:
    return f"'{os.path.basename(os.fspath(path))}'"


def _no_frames(path) -> InputError:
    return InputError(say("{name} has a video stream, but no frame of it decodes: it is empty or damaged. Export "
                          "the clip again.", name=_name(path)))


def _open(path):
    import av

    if not os.path.isfile(path):
        raise InputError(say("No video file at {path}.", path=os.fspath(path)))
    if os.path.getsize(path) == 0:
        raise InputError(say("{name} is empty (0 bytes); upload the video again.", name=_name(path)))
    try:
        container = av.open(os.fspath(path))
    except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(say("{name} is not a video file that can be read, or it is damaged (try an MP4, WebM or "
                             "GIF).", name=_name(path))) from exc
    if not container.streams.video:
        audio = bool(container.streams.audio)
        container.close()
        if audio:
            raise InputError(say("{name} has no video stream (is it an audio file?).", name=_name(path)))
        raise InputError(say("{name} holds no video frames (was the recording empty?); record or export the clip "
                             "again.", name=_name(path)))
    stream = container.streams.video[0]
    if stream.codec_context is None or not stream.codec_context.is_decoder:  # a codec this FFmpeg cannot decode
        codec = getattr(stream.codec_context, "name", None) or "unknown"
        container.close()
        raise InputError(say("{name} uses a video codec ({codec}) this server cannot decode; export it as an MP4 "
                             "(H.264) and upload that.", name=_name(path), codec=codec))
    stream.thread_type = "AUTO"
    return container, stream


def _to_pil(frame, max_side: int) -> Image.Image:
    """An RGB PIL image of a decoded frame: downscaled in the scaler, then rotated upright."""
    w, h = frame.width, frame.height
    scale = min(1.0, max_side / max(w, h))
    if scale < 1.0:
        image = frame.to_image(width=max(1, round(w * scale)), height=max(1, round(h * scale)), interpolation="AREA")
    else:
        image = frame.to_image()
    rotation = getattr(frame, "rotation", 0) or 0  # degrees counter-clockwise, from the display matrix
    return image.rotate(rotation, expand=True) if rotation % 360 else image


def _frame_index(frame, start: int, time_base, fps: float) -> int:
    if frame.pts is None:
        raise _SeekFailed("frame without a timestamp")
    return round(float((frame.pts - start) * time_base) * fps)


def _read_seeking(path, wanted: list[int], fps: float, max_side: int):
    """{index: (actual index, image)} by seeking to the keyframe before each target; + frames decoded.

    A decoded frame's index is its timestamp x fps (exact at a constant frame rate).

    The distance from the keyframe a seek lands on to its target is remembered (`gap`): a target
    closer than that to where decoding already is is reached by decoding forward instead, so a
    clip with sparse keyframes never costs much more than decoding it once.
    """
    container, stream = _open(path)
    with container:
        start = stream.start_time or 0
        found, decoded, pos, gap, frames = {}, 0, None, 0, None
        for target in sorted(set(wanted)):
            just_seeked = pos is None or target - pos > max(gap, MIN_SEEK_GAP)
            if just_seeked:
                container.seek(start + int(target / fps / stream.time_base), stream=stream, backward=True)
                frames = container.decode(stream)
            last = None
            for frame in frames:
                decoded += 1
                idx = _frame_index(frame, start, stream.time_base, fps)
                if just_seeked:
                    gap, just_seeked = max(gap, target - idx), False
                pos, last = idx, frame
                if idx >= target:
                    break
            if last is None:
                raise _SeekFailed(f"nothing decoded after seeking to frame {target}")
            found[target] = (pos, _to_pil(last, max_side))  # the clip's last frame if it ended early
    return found, decoded


def _read_sequential(path, wanted: list[int], max_side: int):
    """{index: (index, image)} decoding front to back; + frames decoded (= the clip's real length)."""
    container, stream = _open(path)
    want, found, decoded = set(wanted), {}, 0
    with container:
        try:
            for i, frame in enumerate(container.decode(stream)):
                decoded = i + 1
                if i in want:
                    found[i] = (i, _to_pil(frame, max_side))
                if want and len(found) == len(want):
                    break
        except Exception:  # noqa: BLE001 - a corrupt tail: keep what decoded before it
            if decoded == 0:
                raise _no_frames(path) from None
    return found, decoded


def read_frames(path: str | os.PathLike, num_frames: int, max_side: int = 1024) -> VideoFrames:
    """`num_frames` frames spread evenly over the clip at `path` (any format FFmpeg reads, GIF included).

    Every failure is an InputError with a sentence; a decoder error no damaged file should cause is
    also logged once (without the file's name)."""
    import av

    if num_frames < 1:
        raise InputError(f"num_frames must be at least 1, got {num_frames}.")
    path = os.fspath(path)
    try:
        return _read(path, num_frames, max_side)
    except InputError:
        raise
    except MemoryError as exc:
        raise InputError(say("{name} needs more memory to decode than the server can spare; downscale it and try "
                             "again.", name=_name(path))) from exc
    except Exception as exc:  # noqa: BLE001 - every decoder failure becomes a sentence
        if not isinstance(exc, (av.FFmpegError, OSError, ValueError, EOFError)):
            log_unexpected("video", exc)
        raise InputError(say("{name} could not be decoded ({reason}); the file may be truncated or damaged: upload "
                             "it again, or export it as an MP4 (H.264).", name=_name(path),
                             reason=reason(exc))) from exc


def _read(path: str, num_frames: int, max_side: int) -> VideoFrames:
    import av

    container, stream = _open(path)
    with container:
        fps = float(stream.average_rate or stream.guessed_rate or 0) or None
        shrunk = max(stream.width or 0, stream.height or 0) > max_side
        if stream.duration is not None:
            duration = float(stream.duration * stream.time_base)
        else:
            duration = container.duration / av.time_base if container.duration else None
        total = stream.frames
        if not total:
            try:
                total = sum(1 for packet in container.demux(stream) if packet.size)
            except av.FFmpegError:
                total = 0
    found, decoded, seeked = None, 0, False
    wanted = frame_indices(total, num_frames) if total else []
    if total > SEEK_FACTOR * num_frames and fps:
        try:
            found, decoded = _read_seeking(path, wanted, fps, max_side)
            seeked = True
        except Exception:  # noqa: BLE001 - any seeking trouble: decode front to back instead
            found = None
    if found is None:
        decoded = 0
        if not total:  # no count at all: one pass to count, then pick
            _, total = _read_sequential(path, [], max_side)
            decoded, wanted = total, frame_indices(total, num_frames) if total else []
        found, n = _read_sequential(path, wanted, max_side)
        decoded += n
        if total and n and len(found) < len(set(wanted)):  # the container overstated: n is the real length
            total, wanted = n, frame_indices(n, num_frames)
            found, more = _read_sequential(path, wanted, max_side)
            decoded += more
    if not found or total == 0:
        raise _no_frames(path)
    notes = []
    if total < num_frames:
        notes.append(f"The clip has only {total} frame(s); each is repeated to make the {num_frames} "
                     f"the model reads.")
    if shrunk:
        notes.append(f"Frames were downscaled to at most {max_side} pixels on the long side.")
    return VideoFrames(frames=[found[i][1] for i in wanted], indices=[found[i][0] for i in wanted], fps=fps,
                       duration=duration, total_frames=total, decoded=decoded, seeked=seeked, note=" ".join(notes))


__all__ = ["VideoFrames", "read_frames", "frame_indices"]
