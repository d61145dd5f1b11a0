"""Command line: python -m gitdemo {caption,video,train,eval,bench,bench-paligemma,examples} ...

  caption IMAGE... [--model ID_OR_PATH] [--question TEXT] [--max-new-tokens N] [--beams N] [--precision P] [--json]
  video VIDEO...   [--model ID_OR_PATH] [--question TEXT] [--max-new-tokens N] [--beams N] [--precision P] [--json]
  bench --precision [--size base|small] [--scenes N]: int8 / fp32 / reference speed and caption agreement
  train, eval, bench, bench-paligemma, examples: see `python -m gitdemo COMMAND --help`

With --json, one JSON object per input on its own line: {"input", "text", "tokens": [{"text",
"id", "attention"}], "grid": [rows, cols], "frames"}; `attention` is the app's default view
for that token (rows x cols; frames x rows x cols for a video). A bad input gives
{"input", "error"} and the exit status 1; the other inputs still run.
"""
from __future__ import annotations

import argparse
import json
import os
import sys


def _describe(args, kind: str) -> int:
    from . import load_model, load_processor
    from .errors import GitDemoError
    from .pipeline import run

    try:
        model = load_model(args.model, progress=not args.json, precision=args.precision)
        processor = load_processor(args.model)
    except GitDemoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    status = 0
    for path in args.inputs:
        try:
            if kind == "video":
                from .io.video import read_frames

                frames = read_frames(path, model.config.num_frames).frames
            else:
                from .processing import open_image

                frames = [open_image(path)]
            result = run(model, processor, frames, question=args.question, max_new_tokens=args.max_new_tokens,
                         num_beams=args.beams, record=args.json)
        except GitDemoError as exc:
            status = 1
            if args.json:
                print(json.dumps({"input": path, "error": str(exc)}), flush=True)
            else:
                print(f"{path}: error: {exc}", file=sys.stderr)
            continue
        if args.json:
            print(json.dumps({"input": path, **result.to_json()}), flush=True)
        else:
            print(f"{path}: {result.text}" if len(args.inputs) > 1 else result.text, flush=True)
    return status


def _forward(module: str, argv: list[str]) -> int:
    import importlib

    return importlib.import_module(f"gitdemo.{module}").main(argv) or 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough = {"train": "train.cli", "eval": "evaluate.cli", "bench": "bench.git",
                   "bench-paligemma": "bench.paligemma", "examples": "evaluate.examples", "faithfulness": "evaluate.faithfulness"}
    if argv[:1] == ["bench"] and any(a.split("=")[0] == "--classroom" for a in argv):
        passthrough["bench"] = "bench.classroom"  # the classroom load test against the app
    if argv[:1] == ["bench"] and "--precision" in argv:  # int8 / fp32 / reference speed and agreement
        return _forward("bench.precision", [a for a in argv[1:] if a != "--precision"])
    if argv and argv[0] in passthrough:
        return _forward(passthrough[argv[0]], argv[1:])
    parser = argparse.ArgumentParser(prog="python -m gitdemo", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, what in (("caption", "image file(s)"), ("video", "video file(s)")):
        p = sub.add_parser(name, help=f"caption or question {what}")
        p.add_argument("inputs", nargs="+", metavar=name.upper() if name == "video" else "IMAGE", help=what)
        p.add_argument("--model", default=None, help="Hub id or folder (default: the embedded Shapes model)")
        p.add_argument("--question", default=None, help="ask a question instead of captioning")
        p.add_argument("--max-new-tokens", type=int, default=20)
        p.add_argument("--beams", type=int, default=1)
        p.add_argument("--precision", default=None, help="fp32 (exact), bf16, fp16 or int8 (fast on CPUs); "
                       "default: the checkpoint's own dtype")
        p.add_argument("--json", action="store_true", help="one JSON object per input, with attention grids")
    for name in passthrough:
        sub.add_parser(name, help=f"see python -m gitdemo {name} --help")
    args = parser.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return _describe(args, args.command)


if __name__ == "__main__":
    sys.exit(main())
