"""`python -m gitdemo bench --precision`: how fast each precision is, and how far it moves the answers.

Speed: the reference (transformers, float32) and gitdemo at fp32 and int8 (and bf16 with --with-bf16), all
on the same random git-base-sized weights written by the reference, in one process, the sides taking
turns each repeat (a busy shared machine then slows them alike); greedy caption of 20 new tokens and
beam search with 3 beams; medians.
Agreement: the embedded models on fresh Shapes scenes (a stream no training or evaluation used):
% of greedy and beam-3 captions identical to exact fp32, and, teacher-forced on fp32's greedy caption,
the share of positions whose top-1 token agrees and the largest absolute logit difference.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

NEW_TOKENS = 20
AGREE_STREAM = 1313  # a seed stream of its own: scenes no training or evaluation run drew


# ----------------------------------------------------------------------------- speed
def speed(size: str, repeats: int, precisions: list[str], cpu_time: bool = False) -> dict:
    """{side: {"greedy_s", "beam3_s"}} medians; sides: "reference" and each gitdemo precision. cpu_time:
    this process's CPU seconds instead of wall seconds (fairer on a machine others are using; run it with
    OMP_NUM_THREADS=1 so that CPU time is the time one core would take)."""
    from transformers import GitForCausalLM

    import gitdemo

    from .git import _pixels, write_checkpoint

    with tempfile.TemporaryDirectory() as tmp:
        write_checkpoint(Path(tmp), size)
        sides = {"reference": GitForCausalLM.from_pretrained(tmp).eval()}
        sides.update({p: gitdemo.load_model(tmp, precision=p, progress=False) for p in precisions})
    px = _pixels(sides["reference"].config.vision_config.image_size)

    def greedy(name, model):
        if name == "reference":
            return model.generate(pixel_values=px, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS)
        return model.generate(pixel_values=px, max_new_tokens=NEW_TOKENS, eos_token_id=-1)

    def beam(name, model):
        if name == "reference":
            return model.generate(pixel_values=px, max_new_tokens=NEW_TOKENS, num_beams=3)
        return model.generate(pixel_values=px, max_new_tokens=NEW_TOKENS, num_beams=3)

    clock = time.process_time if cpu_time else time.perf_counter

    def timed(fn, *args) -> float:
        t0 = clock()
        fn(*args)
        return clock() - t0

    runs = {name: {"greedy_s": [], "beam3_s": []} for name in sides}
    with torch.inference_mode():
        for name, model in sides.items():  # warm-up
            greedy(name, model)
            beam(name, model)
        for _ in range(repeats):
            for name, model in sides.items():
                runs[name]["greedy_s"].append(timed(greedy, name, model))
                runs[name]["beam3_s"].append(timed(beam, name, model))
    return {name: {k: statistics.median(v) for k, v in r.items()} for name, r in runs.items()}


# ----------------------------------------------------------------------------- agreement
def agreement(folder: str | None, prompt: str | None, n_scenes: int, seed: int, precision: str = "int8") -> dict:
    """`precision` against exact fp32 on `n_scenes` fresh Shapes scenes (see the module docstring)."""
    import gitdemo

    from .. import shapes
    from ..generation import teacher_forced
    from ..pipeline import inputs as pipeline_inputs
    from ..pipeline import run

    processor = gitdemo.load_processor(folder)
    exact = gitdemo.load_model(folder, precision="fp32", progress=False)
    fast = gitdemo.load_model(folder, precision=precision, progress=False)
    rng = np.random.default_rng([seed, AGREE_STREAM])
    same_greedy = same_beam = agree = positions = 0
    max_diff, t_exact, t_fast, differ = 0.0, 0.0, 0.0, []
    for _ in range(n_scenes):
        image = shapes.draw_scene(rng).image
        texts = {}
        for name, model in (("exact", exact), ("fast", fast)):
            t0 = time.perf_counter()
            greedy = run(model, processor, [image], prompt, max_new_tokens=NEW_TOKENS, record=False)
            beam = run(model, processor, [image], prompt, max_new_tokens=NEW_TOKENS, num_beams=3, record=False)
            elapsed = time.perf_counter() - t0
            t_exact, t_fast = (t_exact + elapsed, t_fast) if name == "exact" else (t_exact, t_fast + elapsed)
            texts[name] = (greedy, beam.text)
        (g_exact, b_exact), (g_fast, b_fast) = texts["exact"], texts["fast"]
        same_greedy += g_exact.text == g_fast.text
        same_beam += b_exact == b_fast
        if g_exact.text != g_fast.text and len(differ) < 5:
            differ.append((g_exact.text, g_fast.text))
        ids = [t.id for t in g_exact.tokens]
        if not ids:
            continue
        inputs = pipeline_inputs.prepare(exact, processor, [image], prompt)
        seq = torch.cat([inputs.input_ids, torch.tensor([ids])], dim=1)
        logits = [teacher_forced(m, inputs.pixel_values, seq, inputs.input_ids.shape[1], inputs.attention_mask,
                                 inputs.token_type_ids).logits[0].float() for m in (exact, fast)]
        agree += int((logits[0].argmax(-1) == logits[1].argmax(-1)).sum())
        positions += len(ids)
        max_diff = max(max_diff, float((logits[0] - logits[1]).abs().max()))
    return {"scenes": n_scenes, "greedy_identical": same_greedy / n_scenes, "beam3_identical": same_beam / n_scenes,
            "top1_agreement": agree / max(positions, 1), "max_logit_diff": max_diff,
            "speedup": t_exact / max(t_fast, 1e-9), "examples_differing": differ}


def batched_agreement(folder: str | None, prompt: str | None, n_scenes: int, seed: int, precision: str,
                      burst: int = 30) -> dict:
    """Greedy captions served by the batching engine (bursts of `burst` requests at once) against the same
    model's captions alone, on fresh scenes: the share that is identical. fp32 rows are independent; int8
    quantizes each Linear's input with one scale per call, so a batch's rows touch each other a little."""
    import threading

    import gitdemo

    from .. import serving, shapes
    from ..pipeline import run, run_stream

    processor = gitdemo.load_processor(folder)
    model = gitdemo.load_model(folder, precision=precision, progress=False)
    rng = np.random.default_rng([seed, AGREE_STREAM, 2])
    images = [shapes.draw_scene(rng).image for _ in range(n_scenes)]
    alone = [run(model, processor, [im], prompt, max_new_tokens=NEW_TOKENS, record=False).text for im in images]
    batched = [""] * n_scenes

    def ask(i: int) -> None:
        for result in run_stream(model, processor, [images[i]], prompt, max_new_tokens=NEW_TOKENS, record=False,
                                 streamer=serving.stream):
            batched[i] = result.text

    rows = 0
    for start in range(0, n_scenes, burst):
        threads = [threading.Thread(target=ask, args=(i,)) for i in range(start, min(start + burst, n_scenes))]
        engine = serving.engine_for(model)
        engine.max_rows = 0
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rows = max(rows, engine.max_rows)
    same = sum(a == b for a, b in zip(alone, batched))
    return {"scenes": n_scenes, "identical": same / max(n_scenes, 1), "largest_batch": rows,
            "examples_differing": [(a, b) for a, b in zip(alone, batched) if a != b][:3]}


# ----------------------------------------------------------------------------- the report
def report(size: str, repeats: int, n_scenes: int, seed: int, with_bf16: bool = False, say=print,
           cpu_time: bool = False) -> str:
    """The two tables as markdown; each piece is also handed to `say` as soon as it is measured."""
    from ..io.assets import ASSETS

    precisions = ["fp32", "int8"] + (["bf16"] if with_bf16 else [])
    s = speed(size, repeats, precisions, cpu_time)
    ref = s["reference"]
    lines = [f"threads: {torch.get_num_threads()}, size: {size}, repeats: {repeats} (medians), "
             f"quantized engine: {torch.backends.quantized.engine}, clock: {'CPU' if cpu_time else 'wall'} seconds", "",
             "| side | greedy caption, 20 tokens (s) | vs reference | beam-3 caption (s) | vs reference |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for name, r in s.items():
        label = "reference (transformers, fp32)" if name == "reference" else f"gitdemo {name}"
        lines.append(f"| {label} | {r['greedy_s']:.3f} | {ref['greedy_s'] / r['greedy_s']:.2f}x | "
                     f"{r['beam3_s']:.3f} | {ref['beam3_s'] / r['beam3_s']:.2f}x |")
    say("\n".join(lines), flush=True)
    done = len(lines)
    if n_scenes <= 0:
        return "\n".join(lines)
    lines += ["", f"Agreement with exact fp32 on {n_scenes} fresh Shapes scenes (seed {seed}):", "",
              "| model | greedy identical | beam-3 identical | top-1 agreement (teacher-forced) | max logit diff "
              "| fp32 / int8 wall time |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    notes = []
    for label, folder, prompt in (("embedded GIT, int8", ASSETS / "models" / "git-shapes", None),
                                  ("embedded PaliGemma, int8", ASSETS / "models" / "paligemma-shapes", "caption en")):
        a = agreement(str(folder), prompt, n_scenes, seed)
        lines.append(f"| {label} | {100 * a['greedy_identical']:.1f}% | {100 * a['beam3_identical']:.1f}% | "
                     f"{100 * a['top1_agreement']:.2f}% | {a['max_logit_diff']:.3f} | {a['speedup']:.2f}x faster |")
        say("\n".join(lines[done:]), flush=True)
        done = len(lines)
        notes += [f"- {label}: fp32 `{e}` -> int8 `{f}`" for e, f in a["examples_differing"]]
    if notes:
        lines += ["", "Greedy captions that differed (at most 5 per model):", "", *notes]
        say("\n".join(lines[done:]), flush=True)
        done = len(lines)
    lines += ["", f"Served by the batching engine in bursts of 30 against alone, the same precision, {n_scenes} "
              f"other fresh scenes:", "", "| model | precision | greedy identical | largest batch |",
              "| --- | --- | ---: | ---: |"]
    notes = []
    for label, folder, prompt in (("embedded GIT", ASSETS / "models" / "git-shapes", None),
                                  ("embedded PaliGemma", ASSETS / "models" / "paligemma-shapes", "caption en")):
        for precision in ("fp32", "int8"):
            b = batched_agreement(str(folder), prompt, n_scenes, seed, precision)
            lines.append(f"| {label} | {precision} | {100 * b['identical']:.1f}% | {b['largest_batch']} |")
            notes += [f"- {label} {precision}: alone `{x}` -> batched `{y}`" for x, y in b["examples_differing"]]
            say("\n".join(lines[done:]), flush=True)
            done = len(lines)
    if notes:
        lines += ["", "Batched captions that differed (at most 3 per row):", "", *notes]
        say("\n".join(lines[done:]), flush=True)
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m gitdemo bench --precision", description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=["base", "small"], default="base")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scenes", type=int, default=200, help="fresh Shapes scenes for the agreement table")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--with-bf16", action="store_true", help="also time gitdemo bf16")
    parser.add_argument("--cpu-time", action="store_true", help="CPU seconds, not wall seconds (a shared machine)")
    args = parser.parse_args(argv)
    report(args.size, args.repeats, args.scenes, args.seed, args.with_bf16, cpu_time=args.cpu_time)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
