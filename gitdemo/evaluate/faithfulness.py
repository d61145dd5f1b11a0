"""`python -m gitdemo faithfulness [--model DIR] [--scenes N] [--seed S] [--json]`: do the explorer's maps
point at what the model used? (the deletion test of `gitdemo.explain.faithfulness` on fresh Shapes scenes)

For each fresh scene the model captions the image (greedy); for every colour or shape word of that caption,
each view (raw attention, rollout, relevancy) ranks the patches, the top 10% are hidden (painted in the
image's mean colour) and the drop in that word's probability is compared with hiding 10% random patches
(the mean over 8 draws). The table gives the mean drops over all such words.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch

from .. import shapes
from ..explain import faithfulness as fa

STREAM = 0xFA17  # scenes drawn from [seed, STREAM]: a stream neither training nor `eval` uses
FRACTION = 0.1
DRAWS = 8


def measure(model_folder=None, n_scenes: int = 50, seed: int = 2024, progress: bool = False) -> dict:
    """{"default_view", "views": {view: {"drop_top", "drop_random", "tokens"}}} plus details."""
    from .. import load_model, load_processor
    from ..pipeline import inputs as pipeline_inputs

    t0 = time.time()
    model = load_model(model_folder, progress=False)
    processor = load_processor(model_folder)
    rng = np.random.default_rng([seed, STREAM])
    words = set(shapes.COLOURS) | set(shapes.SHAPES)
    top = {v: [] for v in fa.VIEWS}
    rand: list[float] = []
    prompt = "caption en" if pipeline_inputs.family(model) == "paligemma" else None
    for i in range(n_scenes):
        scene = shapes.draw_scene(rng)
        inputs = pipeline_inputs.prepare(model, processor, [scene.image], prompt)
        ids = fa.greedy_answer(model, processor, inputs)
        steps = [j for j, t in enumerate(ids) if pipeline_inputs.token_text(processor, t).strip() in words]
        if not steps:
            continue
        d = fa.deletion(model, inputs, ids, steps, (FRACTION,), DRAWS, seed=seed * 100003 + i)
        for v in fa.VIEWS:
            top[v] += d.drop[v][0]
        rand += d.random[0]
        if progress and (i + 1) % 10 == 0:
            print(f"  {i + 1}/{n_scenes} scenes ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
    r = float(np.mean(rand)) if rand else float("nan")
    views = {v: {"drop_top": float(np.mean(top[v])) if top[v] else float("nan"), "drop_random": r,
                 "tokens": len(top[v])} for v in fa.VIEWS}
    return {"default_view": fa.DEFAULT_VIEW, "views": views, "scenes": n_scenes, "seed": seed,
            "model": str(model_folder or "embedded:git-shapes"), "seconds": time.time() - t0}


def table(result: dict) -> str:
    lines = ["| view | drop, top 10% hidden | drop, random 10% hidden | ratio | tokens |",
             "| --- | --- | --- | --- | --- |"]
    for v, s in result["views"].items():
        ratio = s["drop_top"] / s["drop_random"] if s["drop_random"] > 0 else float("inf")
        mark = " (default)" if v == result["default_view"] else ""
        lines.append(f"| {fa.VIEW_TITLES[v]}{mark} | {s['drop_top']:.3f} | {s['drop_random']:.3f} | "
                     f"{ratio:.1f}x | {s['tokens']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="python -m gitdemo faithfulness", description=__doc__.split("\n")[0])
    p.add_argument("--model", default=None, help="model folder (default: the embedded assets/models/git-shapes)")
    p.add_argument("--scenes", type=int, default=50)
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--json", action="store_true",
                   help='print {"default_view": name, "views": {name: {"drop_top", "drop_random", "tokens"}}}')
    args = p.parse_args(argv)
    torch.manual_seed(0)
    res = measure(args.model, max(1, args.scenes), args.seed, progress=not args.json)
    if args.json:
        print(json.dumps({"default_view": res["default_view"], "views": res["views"]}))
    else:
        print(f"{res['model']}: {res['scenes']} scenes, seed {res['seed']}, {res['seconds']:.0f} s")
        print(table(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
