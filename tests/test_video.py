"""gitdemo.io.video: which frames are picked, seeking on long clips, and the errors users can cause.

Every test video is written here with PyAV; each frame shows its own number as a 4 x 4 grid of
black/white blocks (bit b of the number -> block b), which survives lossy H.264 / VP9 / GIF coding.
"""
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

av = pytest.importorskip("av")

from gitdemo.errors import InputError  # noqa: E402
from gitdemo.io import video  # noqa: E402
from gitdemo.io.video import VideoFrames, frame_indices, read_frames  # noqa: E402


def numbered_frame(i, w=64, h=64):
    a = np.zeros((h, w, 3), np.uint8)
    bh, bw = h // 4, w // 4
    for bit in range(16):
        r, c = divmod(bit, 4)
        a[r * bh:(r + 1) * bh, c * bw:(c + 1) * bw] = 255 * ((i >> bit) & 1)
    return a


def frame_number(image):
    a = np.asarray(image.convert("L"), dtype=np.float64)
    bh, bw = a.shape[0] // 4, a.shape[1] // 4
    return sum(int(a[r * bh + bh // 4:(r + 1) * bh - bh // 4, c * bw + bw // 4:(c + 1) * bw - bw // 4].mean() > 128)
               << (r * 4 + c) for r in range(4) for c in range(4))


def write_video(path, n, codec="libx264", fps=24, gop=12, size=(64, 64), pix_fmt="yuv420p", options=None):
    with av.open(str(path), "w", options=options or {}) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt, stream.gop_size = pix_fmt, gop
        if codec == "libx264":
            stream.options = {"crf": "12", "bf": "2"}  # B-frames: decode order != presentation order
        for i in range(n):
            for packet in stream.encode(av.VideoFrame.from_ndarray(numbered_frame(i, *size), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def write_audio(path, codec):
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=16000)
        step = 1152 if codec == "mp3" else 1024
        for k in range(20):
            t = (np.arange(step) + k * step) / 16000
            frame = av.AudioFrame.from_ndarray(np.sin(2 * np.pi * 440 * t)[None].astype(np.float32) * 0.3,
                                               format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, k * step
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    gif_frames = [Image.fromarray(numbered_frame(i)) for i in range(10)]
    gif_frames[0].save(d / "anim.gif", save_all=True, append_images=gif_frames[1:], duration=[40, 80] * 5, loop=0)
    return {
        "mp4": write_video(d / "clip.mp4", 48),
        "webm": write_video(d / "clip.webm", 48, codec="libvpx-vp9"),
        "long": write_video(d / "long.mp4", 600, gop=12),
        "faststart": write_video(d / "faststart.mp4", 600, options={"movflags": "faststart"}),  # index first
        "short": write_video(d / "short.mp4", 3),
        "wide": write_video(d / "wide.mp4", 4, size=(1600, 96)),
        "gif": d / "anim.gif",
        "m4a": write_audio(d / "sound.m4a", "aac"),
        "mp3": write_audio(d / "sound.mp3", "mp3"),
    }


def test_index_rule():
    assert frame_indices(48, 6) == [4, 12, 20, 28, 36, 44]
    assert frame_indices(3, 6) == [0, 0, 1, 1, 2, 2]
    assert frame_indices(1, 4) == [0, 0, 0, 0]
    assert frame_indices(7, 1) == [3]
    for n in (5, 17, 600, 9999):
        idx = frame_indices(n, 6)
        assert idx == sorted(idx) and 0 <= idx[0] and idx[-1] < n


@pytest.mark.parametrize("kind", ["mp4", "webm"])
def test_picks_the_expected_frames(clips, kind):
    got = read_frames(clips[kind], 6)
    assert isinstance(got, VideoFrames)
    assert got.indices == [4, 12, 20, 28, 36, 44]
    assert [frame_number(f) for f in got.frames] == got.indices  # the pixels really are those frames
    assert got.total_frames == 48 and got.fps == pytest.approx(24)
    assert got.duration == pytest.approx(2.0, abs=0.05)
    assert all(f.mode == "RGB" and f.size == (64, 64) for f in got.frames) and got.note == ""


def test_long_video_is_read_by_seeking(clips):
    got = read_frames(clips["long"], 6)
    assert got.seeked and got.total_frames == 600
    assert got.indices == frame_indices(600, 6) == [50, 150, 250, 350, 450, 550]
    assert [frame_number(f) for f in got.frames] == got.indices
    assert got.decoded < 600 // 5, got.decoded  # keyframe every 12 frames: ~ a dozen decoded per target


def test_sequential_fallback_when_seeking_fails(clips, monkeypatch):
    def broken(*args, **kwargs):
        raise video._SeekFailed("pretend this demuxer cannot seek")

    monkeypatch.setattr(video, "_read_seeking", broken)
    got = read_frames(clips["long"], 6)
    assert not got.seeked and got.indices == [50, 150, 250, 350, 450, 550]
    assert [frame_number(f) for f in got.frames] == got.indices


def test_short_clip_repeats_frames_and_says_so(clips):
    got = read_frames(clips["short"], 6)
    assert got.indices == [0, 0, 1, 1, 2, 2] and len(got.frames) == 6
    assert [frame_number(f) for f in got.frames] == got.indices
    assert "only 3 frame" in got.note and "repeated" in got.note


def test_animated_gif_is_a_video(clips):
    got = read_frames(clips["gif"], 6)
    assert got.total_frames == 10 and got.indices == frame_indices(10, 6)
    assert [frame_number(f) for f in got.frames] == got.indices


def test_huge_frames_are_downscaled(clips):
    got = read_frames(clips["wide"], 2, max_side=1024)
    assert all(f.size == (1024, 61) for f in got.frames)  # 1600 x 96 -> long side 1024
    assert "downscaled" in got.note


def test_rotation_is_applied():
    class Frame:  # a decoded phone-video frame stored sideways, with a -90 degree display matrix
        width, height, rotation = 40, 20, -90

        def to_image(self, **kwargs):
            return Image.new("RGB", (self.width, self.height))

    assert video._to_pil(Frame(), 1024).size == (20, 40)


@pytest.mark.parametrize("kind", ["m4a", "mp3"])
def test_audio_only_file(clips, kind):
    with pytest.raises(InputError, match="no video stream"):
        read_frames(clips[kind], 6)


def test_bad_files(tmp_path, clips):
    (tmp_path / "notes.mp4").write_text("definitely not a video\n" * 50)
    (tmp_path / "empty.webm").write_bytes(b"")
    data = clips["long"].read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 3])  # the index (moov) is at the end: unreadable
    for name, message in [("notes.mp4", "not a video"), ("empty.webm", "empty"), ("cut.mp4", "damaged"),
                          ("missing.mp4", "No video file")]:
        with pytest.raises(InputError, match=message):
            read_frames(tmp_path / name, 6)
    with pytest.raises(InputError):
        read_frames(clips["mp4"], 0)


def test_truncated_webm_keeps_what_decodes(tmp_path, clips):
    data = clips["webm"].read_bytes()
    (tmp_path / "cut.webm").write_bytes(data[: len(data) // 2])
    got = read_frames(tmp_path / "cut.webm", 6)
    assert 0 < got.total_frames < 48 and len(got.frames) == 6
    assert [frame_number(f) for f in got.frames] == got.indices


def test_interrupted_download_uses_the_frames_that_exist(tmp_path, clips):
    """The index (at the front) promises 600 frames; only the first few are in the file."""
    data = clips["faststart"].read_bytes()
    (tmp_path / "partial.mp4").write_bytes(data[: int(len(data) * 0.4)])
    got = read_frames(tmp_path / "partial.mp4", 6)
    assert 0 < got.total_frames < 600 and got.indices == frame_indices(got.total_frames, 6)
    assert [frame_number(f) for f in got.frames] == got.indices
