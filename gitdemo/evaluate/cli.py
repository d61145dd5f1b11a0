"""`python -m gitdemo eval [--model DIR] ...`: score a Shapes model on fresh scenes (and clips), print
the SHAPES_WORLD.md table; the model folder's type picks the GIT or the PaliGemma evaluation."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from .git import evaluate, table
from .harness import model_type


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="python -m gitdemo eval", description="Score a Shapes GIT (or, given a PaliGemma folder, "
                                "the Shapes PaliGemma) on fresh scenes.")
    p.add_argument("--model", default=None, help="model folder (default: the embedded assets/models/git-shapes)")
    p.add_argument("--scenes", type=int, default=500)
    p.add_argument("--videos", type=int, default=100, help="fresh clips (GIT only; PaliGemma reads images)")
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--format", default="mp4", choices=("mp4", "webm"), help="video container/codec to write")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--md", default=None, help="also write the table (and details) to this Markdown file")
    p.add_argument("--json", action="store_true", help="print the whole result as JSON after the table")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.model and model_type(args.model) == "paligemma":  # the embedded PaliGemma's table
        from . import paligemma as pg

        res = pg.evaluate(args.model, args.scenes, args.seed, progress=True)
        printed, md = pg.report(res, argv)
        print(printed)
        if args.md:
            Path(args.md).write_text(md)
        if args.json:
            print(json.dumps(res, indent=1))
        return 0 if all(res["passed"].values()) else 1
    res = evaluate(args.model, args.scenes, args.videos, args.seed, progress=True, video_format=args.format)
    text = table(res)
    print(text)
    kinds = ", ".join(f"{k} {100 * v:.1f}%" for k, v in sorted(res["question_kinds"].items()))
    print(f"\nimage questions by kind: {kinds}")
    print(f"{res['scenes']} scenes, {res['videos']} videos ({args.format}), seed {res['seed']}, "
          f"{res['seconds']:.0f} s")
    if args.md:
        md = [f"# Evaluation of {res['model']}", "",
              f"`python -m gitdemo eval {' '.join(argv)}` - {res['scenes']} fresh scenes (PNG) and "
              f"{res['videos']} fresh videos ({args.format}), seed {res['seed']} (a stream training never uses), "
              f"{res['seconds']:.0f} s.", "", text, "", f"Image questions by kind: {kinds}.", ""]
        if res["failures"]:
            md += ["Some misses (want -> got):", ""] + [f"- `{f['want']}` -> `{f['got']}`" for f in res["failures"][:20]]
        Path(args.md).write_text("\n".join(md) + "\n")
    if args.json:
        print(json.dumps(res, indent=1))
    return 0 if all(res["passed"].values()) else 1
