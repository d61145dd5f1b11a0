"""`python -m gitdemo bench`: our GIT against the reference, side by side in one run.

Same random git-base-sized weights (written by the reference in its own layout), same image,
same threads. Needs `transformers` (a test dependency). Reports medians over --repeats runs:
  load time and peak memory (each side in a fresh subprocess), end-to-end greedy caption of
  20 new tokens, time to first token, per-token decode, the same with attention recording,
  beam search with 3 beams, and the memory-bandwidth floor for one decode step.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from .common import FirstTokenTimer, compare_table, run_side, status_mb, time_call, time_stream, timings

NEW_TOKENS = 20


def write_checkpoint(folder: Path, size: str) -> None:
    """Random weights of git-base's shapes (or a small model) saved by the reference."""
    from transformers import GitConfig, GitForCausalLM

    torch.manual_seed(0)
    cfg = GitConfig() if size == "base" else GitConfig(
        vision_config=dict(hidden_size=192, intermediate_size=768, num_hidden_layers=4, num_attention_heads=4),
        hidden_size=256, num_hidden_layers=2, num_attention_heads=4, intermediate_size=1024)
    GitForCausalLM(cfg).save_pretrained(folder)


def _pixels(image_size: int) -> torch.Tensor:
    return torch.randn(1, 3, image_size, image_size, generator=torch.Generator().manual_seed(1))


# ----------------------------------------------------------------------------- one implementation
def _time_ours(model, px):
    return time_stream(model.stream(pixel_values=px, max_new_tokens=NEW_TOKENS, eos_token_id=-1))


def _time_reference(model, px):
    timer = FirstTokenTimer()
    t0 = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(pixel_values=px, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, streamer=timer)
    t1 = time.perf_counter()
    assert out.shape[1] == NEW_TOKENS + 1
    return t1 - t0, timer.first - t0


def measure(which: str, folder: Path, repeats: int) -> dict:
    """Everything for one implementation, in this process (called in a subprocess for memory)."""
    t0 = time.perf_counter()
    if which == "ours":
        import gitdemo

        model = gitdemo.load_model(folder, progress=False)
    else:
        from transformers import GitForCausalLM

        model = GitForCausalLM.from_pretrained(folder).eval()
    load = time.perf_counter() - t0
    px = _pixels(model.config.vision_config.image_size)
    timer = _time_ours if which == "ours" else _time_reference
    timer(model, px)  # warm-up
    runs = [timer(model, px) for _ in range(repeats)]
    if which == "ours":
        rec = lambda: model.generate(pixel_values=px, max_new_tokens=NEW_TOKENS, eos_token_id=-1,  # noqa: E731
                                     output_attentions=True, return_dict=True)
        beam = lambda: model.generate(pixel_values=px, max_new_tokens=NEW_TOKENS, num_beams=3)  # noqa: E731
    else:
        def rec():
            with torch.inference_mode():
                model.generate(pixel_values=px, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS,
                               output_attentions=True, return_dict_in_generate=True)

        def beam():
            with torch.inference_mode():
                model.generate(pixel_values=px, max_new_tokens=NEW_TOKENS, num_beams=3)
    rec()
    recorded = [time_call(rec) for _ in range(repeats)]
    beams = [time_call(beam) for _ in range(max(1, repeats // 2))]
    t = timings(runs, NEW_TOKENS)
    return {
        "load_s": load,
        "peak_rss_mb": status_mb("VmHWM"),
        "caption_s": t["total_s"],
        "first_token_s": t["first_token_s"],
        "per_token_ms": t["per_token_ms"],
        "caption_recording_s": statistics.median(recorded),
        "beam3_s": statistics.median(beams),
    }


# ----------------------------------------------------------------------------- the bandwidth floor
def bandwidth_gbs() -> float:
    """Measured copy bandwidth (read + write bytes per second) on a 512 MB tensor."""
    src = torch.ones(128 * 1024 * 1024)
    dst = torch.empty_like(src)
    dst.copy_(src)
    best = min(time_call(lambda: dst.copy_(src)) for _ in range(5))
    return 2 * src.numel() * 4 / best / 1e9


def decode_bytes(folder: Path) -> int:
    """Weight bytes one decode step must read: the text decoder layers and the LM head."""
    from safetensors import safe_open

    total = 0
    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        for key in f.keys():
            if key.startswith("git.encoder.") or key.startswith("output."):
                n = 1
                for d in f.get_slice(key).get_shape():
                    n *= d
                total += n * 4
    return total


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gitdemo bench", description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=["base", "small"], default="base", help="git-base shapes or a small model")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--classroom", type=int, metavar="N",
                        help="instead: N simultaneous /caption requests to the app (see bench/classroom.py)")
    parser.add_argument("--_one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._one:
        print(json.dumps(measure(args._one[0], Path(args._one[1]), args.repeats)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_checkpoint(folder, args.size)
        results = {}
        for which in ("reference", "ours"):
            try:
                results[which] = run_side(["bench", "--repeats", str(args.repeats), "--_one", which, str(folder)])
            except RuntimeError as exc:
                print(exc, file=sys.stderr)
                return 1
        bw = bandwidth_gbs()
        step_bytes = decode_bytes(folder)
        floor_ms = step_bytes / (bw * 1e9) * 1000
    r, o = results["reference"], results["ours"]
    rows = [
        ("model load (s)", "load_s", "{:.2f}"),
        ("peak memory (MB RSS)", "peak_rss_mb", "{:.0f}"),
        (f"caption, {NEW_TOKENS} new tokens, greedy (s)", "caption_s", "{:.3f}"),
        ("time to first token (s)", "first_token_s", "{:.3f}"),
        ("per-token decode (ms)", "per_token_ms", "{:.1f}"),
        ("caption with attention recorded (s)", "caption_recording_s", "{:.3f}"),
        ("beam search, 3 beams (s)", "beam3_s", "{:.3f}"),
    ]
    lines = [f"threads: {torch.get_num_threads()}, size: {args.size}, repeats: {args.repeats} (medians)", "",
             *compare_table(rows, r, o)]
    overhead = o["caption_recording_s"] / o["caption_s"] - 1
    lines += ["", f"attention recording overhead (gitdemo): {100 * overhead:+.1f}%",
              f"memory bandwidth (copy): {bw:.1f} GB/s; weights read per decode step: {step_bytes / 1e6:.0f} MB",
              f"bandwidth floor per decode step: {floor_ms:.1f} ms; gitdemo measured {o['per_token_ms']:.1f} ms "
              f"({floor_ms / o['per_token_ms'] * 100:.0f}% of the floor's speed)"]
    if args.json:
        print(json.dumps({"reference": r, "ours": o, "bandwidth_gbs": bw, "floor_ms": floor_ms}))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
