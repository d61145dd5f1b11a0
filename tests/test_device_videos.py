"""Videos as phones, cameras and screen recorders make them: each gives upright frames or a sentence (issue 24).

Every clip is encoded here with PyAV's own encoders (64 x 64 or smaller, a few frames, so the whole file
runs in seconds): H.264, HEVC, VP9, AV1, MPEG-4 part 2, MJPEG; 10-bit H.264 / HEVC / AV1; a phone clip
stored sideways with a display matrix; variable frame rate; one frame; no frames; cut mid-stream. The
frames carry their own number (`test_video.numbered_frame`), so a test can tell which frame it got.
"""
import logging
import struct
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere
sys.path.insert(0, str(Path(__file__).resolve().parent))

av = pytest.importorskip("av")

from gitdemo.errors import InputError  # noqa: E402
from gitdemo.io import images, video  # noqa: E402
from gitdemo.io.video import frame_indices, read_frames  # noqa: E402
from test_video import frame_number, numbered_frame  # noqa: E402

QUIET = {"libx265": {"x265-params": "log-level=error"}, "libsvtav1": {"svtav1-params": "log-level=1"}}


def has_encoder(codec: str) -> bool:
    try:
        av.Codec(codec, "w")
        return True
    except Exception:  # noqa: BLE001 - not in this wheel
        return False


def encode(path, frames, codec="libx264", pix_fmt="yuv420p", rate=24, pts_ms=None):
    """Write `frames` (RGB arrays); `pts_ms` gives each frame's time in ms (variable frame rate)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate, options=QUIET.get(codec, {}))
        stream.height, stream.width = frames[0].shape[:2] if frames else (64, 64)
        stream.pix_fmt = pix_fmt
        if pts_ms is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        out.start_encoding()
        for i, a in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(a, format="rgb24")
            if pts_ms is not None:
                frame.pts, frame.time_base = pts_ms[i], Fraction(1, 1000)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def numbered(n, size=64):
    return [numbered_frame(i, size, size) for i in range(n)]


CODECS = [("h264", "libx264", "mp4", "yuv420p"), ("hevc", "libx265", "mp4", "yuv420p"),
          ("vp9", "libvpx-vp9", "webm", "yuv420p"), ("av1", "libsvtav1", "mp4", "yuv420p"),
          ("mpeg4", "mpeg4", "mp4", "yuv420p"), ("mjpeg", "mjpeg", "avi", "yuvj420p"),
          ("h264-10bit", "libx264", "mp4", "yuv420p10le"), ("hevc-10bit", "libx265", "mkv", "yuv420p10le"),
          ("av1-10bit", "libsvtav1", "mkv", "yuv420p10le")]


@pytest.mark.parametrize("name,codec,ext,pix_fmt", CODECS, ids=[c[0] for c in CODECS])
def test_every_device_codec_gives_the_right_frames(tmp_path, name, codec, ext, pix_fmt):
    if not has_encoder(codec):
        pytest.skip(f"this PyAV wheel has no {codec} encoder")
    path = encode(tmp_path / f"{name}.{ext}", numbered(12), codec, pix_fmt)
    with av.open(str(path)) as c:  # the file really is what the case says
        assert c.streams.video[0].codec_context.pix_fmt == pix_fmt
    got = read_frames(path, 6)
    assert got.indices == frame_indices(12, 6)
    assert [frame_number(f) for f in got.frames] == got.indices
    assert all(f.mode == "RGB" and f.size == (64, 64) for f in got.frames)


def set_display_matrix(path, matrix):
    """Write a 3x3 display matrix into the MP4's track header (`tkhd`), as a phone does for a sideways clip."""
    data = bytearray(Path(path).read_bytes())
    i = data.index(b"tkhd")
    offset = i + 8 + (32 if data[i + 4] == 1 else 20) + 16  # version/flags, times and ids, then layer/volume
    data[offset: offset + 36] = struct.pack(">9i", *matrix)
    Path(path).write_bytes(bytes(data))


def test_phone_clip_with_a_display_matrix_comes_out_upright(tmp_path):
    upright = np.zeros((64, 32, 3), np.uint8)  # 32 wide, 64 tall; a bright block in the top-left corner
    upright[:16, :16] = 255
    sensor = np.asarray(Image.fromarray(upright).rotate(90, expand=True))  # what the camera stored: 64 x 32
    path = encode(tmp_path / "phone.mp4", [sensor] * 4)
    set_display_matrix(path, (0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000))  # "turn 90 degrees clockwise"
    got = read_frames(path, 2)
    for frame in got.frames:
        a = np.asarray(frame.convert("L"), np.float64)
        assert frame.size == (32, 64)
        assert a[2:14, 2:14].mean() > 200 and a[2:14, 18:30].mean() < 50 and a[50:62, 2:14].mean() < 50


def test_variable_frame_rate_spreads_the_frames_over_time(tmp_path):
    rng = np.random.default_rng(3)
    steps = rng.choice([10, 33, 100, 250], 59)
    times = np.concatenate([[0], np.cumsum(steps)]).astype(int)
    path = encode(tmp_path / "vfr.mp4", numbered(60), rate=30, pts_ms=list(times))
    got = read_frames(path, 6)
    numbers = [frame_number(f) for f in got.frames]
    assert len(got.frames) == 6 and numbers == sorted(numbers) and len(set(numbers)) == 6
    picked = times[numbers] / 1000.0  # when each returned frame is shown
    duration = times[-1] / 1000.0
    wanted = (np.arange(6) + 0.5) * duration / 6
    assert np.all(np.abs(picked - wanted) <= duration / 6), (picked, wanted)


def test_single_frame_is_repeated_and_said(tmp_path):
    got = read_frames(encode(tmp_path / "one.mp4", numbered(1)), 6)
    assert got.total_frames == 1 and [frame_number(f) for f in got.frames] == [0] * 6
    assert "only 1 frame" in got.note


@pytest.mark.parametrize("ext,codec,pix_fmt", [("mp4", "libx264", "yuv420p"), ("webm", "libvpx-vp9", "yuv420p"),
                                               ("avi", "mjpeg", "yuvj420p")])
def test_zero_frames_is_a_sentence(tmp_path, ext, codec, pix_fmt):
    path = encode(tmp_path / f"zero.{ext}", [], codec, pix_fmt)
    assert path.stat().st_size > 0
    with pytest.raises(InputError, match="frame|damaged"):
        read_frames(path, 6)


@pytest.mark.parametrize("ext,codec,pix_fmt", [("mkv", "libx265", "yuv420p"), ("avi", "mjpeg", "yuvj420p"),
                                               ("mp4", "libsvtav1", "yuv420p"), ("webm", "libvpx-vp9", "yuv420p")])
def test_cut_mid_stream_gives_frames_or_a_sentence(tmp_path, ext, codec, pix_fmt):
    if not has_encoder(codec):
        pytest.skip(f"this PyAV wheel has no {codec} encoder")
    data = encode(tmp_path / f"whole.{ext}", numbered(40), codec, pix_fmt).read_bytes()
    for fraction in (0.1, 0.5, 0.9):
        cut = tmp_path / f"cut.{ext}"
        cut.write_bytes(data[: int(len(data) * fraction)])
        try:
            got = read_frames(cut, 6)
        except InputError as exc:
            assert str(exc).strip()
            continue
        assert len(got.frames) == 6 and 0 < got.total_frames <= 40
        assert [frame_number(f) for f in got.frames] == got.indices, (ext, fraction)


def test_audio_only_and_text_files_are_sentences(tmp_path):
    path = tmp_path / "voice.m4a"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=16000)
        for k in range(10):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, k * 1024
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    with pytest.raises(InputError, match="audio file"):
        read_frames(path, 6)


def test_an_unexpected_decoder_error_is_a_sentence_logged_once_without_the_name(tmp_path, monkeypatch, caplog):
    path = encode(tmp_path / "class-7b-secret.mp4", numbered(4))

    def broken(*args, **kwargs):
        raise struct.error("unpack requires a buffer of 4 bytes")

    monkeypatch.setattr(video, "_read", broken)
    images._logged.discard(("video", "error"))
    with caplog.at_level(logging.WARNING, logger="gitdemo.io"):
        for _ in range(3):
            with pytest.raises(InputError, match="could not be decoded"):
                read_frames(path, 6)
    assert len([r for r in caplog.records if r.name == "gitdemo.io"]) == 1
    assert "secret" not in caplog.text


def test_a_codec_ffmpeg_cannot_decode_is_a_sentence(tmp_path):
    """A Matroska file whose codec id no decoder knows (the H.264 id overwritten in place)."""
    data = encode(tmp_path / "clip.mkv", numbered(6)).read_bytes()
    assert data.count(b"V_MPEG4/ISO/AVC") == 1
    (tmp_path / "odd.mkv").write_bytes(data.replace(b"V_MPEG4/ISO/AVC", b"V_QQQQQ/ISO/QQQ"))
    with pytest.raises(InputError, match="video codec .* this server cannot decode"):
        read_frames(tmp_path / "odd.mkv", 6)
