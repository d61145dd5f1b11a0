"""`python -m gitdemo caption/video ... --json`: the output contract users' scripts rely on."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def cli(*args, timeout=180):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "gitdemo", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("imgs")
    rng = np.random.default_rng(0)
    paths = []
    for i, size in enumerate([(64, 48), (40, 90)]):
        p = folder / f"img{i}.png"
        Image.fromarray(rng.integers(0, 255, (*size[::-1], 3), dtype=np.uint8)).save(p)
        paths.append(p)
    bad = folder / "notes.png"
    bad.write_text("this is not an image")
    return paths, bad


def test_caption_json_contract(tiny_git_dir, images):
    paths, bad = images
    out = cli("caption", *paths, bad, "--model", tiny_git_dir, "--max-new-tokens", "4", "--json")
    assert out.returncode == 1, out.stderr  # one bad input -> status 1, the others still run
    rows = [json.loads(line) for line in out.stdout.strip().splitlines()]
    assert [r["input"] for r in rows] == [str(p) for p in [*paths, bad]]
    assert "error" in rows[2] and "image" in rows[2]["error"].lower()
    import gitdemo
    from gitdemo.processing import open_image

    model, processor = gitdemo.load_model(tiny_git_dir), gitdemo.load_processor(tiny_git_dir)
    for row, path in zip(rows[:2], paths):
        assert row["grid"] == [4, 4] and row["frames"] == 1
        ids = model.generate(pixel_values=processor.image_processor([open_image(path)]), max_new_tokens=4)[0, 1:]
        ids = [int(i) for i in ids if i != model.config.eos_token_id][: len(row["tokens"])]
        assert [t["id"] for t in row["tokens"]] == ids
        assert row["text"] == processor.tokenizer.decode(ids)
        for t in row["tokens"]:
            grid = np.array(t["attention"])
            assert grid.shape == (4, 4)
            assert abs(grid.sum() - 1) < 1e-4 and (grid >= 0).all()


def test_question_and_beams(tiny_git_dir, images):
    paths, _ = images
    out = cli("caption", paths[0], "--model", tiny_git_dir, "--question", "what is it?", "--beams", "2",
              "--max-new-tokens", "3", "--json")
    assert out.returncode == 0, out.stderr
    row = json.loads(out.stdout)
    assert isinstance(row["text"], str) and len(row["tokens"]) <= 3


def test_plain_text_output_and_missing_model(tiny_git_dir, images, tmp_path):
    paths, _ = images
    out = cli("caption", paths[0], "--model", tiny_git_dir, "--max-new-tokens", "3")
    assert out.returncode == 0 and "{" not in out.stdout
    out = cli("caption", paths[0], "--model", tmp_path / "nothing-here")
    assert out.returncode == 2 and "error:" in out.stderr


def test_video_json(tmp_path, tiny_git_dir):
    """Video through the CLI on a video checkpoint: frames x rows x cols grids."""
    import shutil

    import torch
    transformers = pytest.importorskip("transformers")
    from gitdemo.shapes import draw_video, write_video

    folder = tmp_path / "video-model"
    shutil.copytree(tiny_git_dir, folder)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["num_image_with_embedding"] = 3
    torch.manual_seed(1)
    transformers.GitForCausalLM(transformers.GitConfig(**{k: v for k, v in cfg.items()
                                                         if k not in ("architectures", "transformers_version")})
                                ).save_pretrained(folder)
    clip = draw_video(np.random.default_rng(0))
    write_video(tmp_path / "clip.mp4", clip.frames)
    out = cli("video", tmp_path / "clip.mp4", "--model", folder, "--max-new-tokens", "3", "--json")
    assert out.returncode == 0, out.stderr
    row = json.loads(out.stdout)
    assert row["frames"] == 3 and row["grid"] == [4, 4]
    assert np.array(row["tokens"][0]["attention"]).shape == (3, 4, 4)
    audio = tmp_path / "noise.mp4"
    audio.write_bytes(b"\x00" * 1000)
    out = cli("video", audio, "--model", folder, "--json")
    assert out.returncode == 1 and "error" in json.loads(out.stdout)


def test_side_command_options(capsys):
    from gitdemo.__main__ import main

    for command, words in (("train", ["--recipe", "--arch", "--out", "--minutes", "--replay"]),
                           ("eval", ["--model", "--scenes", "--videos", "--format", "--md", "--json"]),
                           ("bench", ["--size", "--repeats", "--json"]),
                           ("bench-paligemma", ["--size", "--new-tokens", "--folder", "--separate-timings"]),
                           ("examples", ["--paligemma"])):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        assert all(w in text for w in words), (command, text)
