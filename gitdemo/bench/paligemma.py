"""`python -m gitdemo bench-paligemma`: our PaliGemma against the reference, on the same random weights.

The checkpoint is written in the reference's file layout (`save_pretrained` names, sharded behind
an index) with random bfloat16 weights of the chosen shape (--size 3b: google/paligemma-3b-pt-224,
2.9 B parameters, 5.9 GB), without ever building a full model in memory. Each implementation then
runs alone in a fresh subprocess (so peak memory is its own), in bfloat16 on the CPU:
  load time, peak RSS (and its growth over the process before loading, against the weights' size),
  time to first token (image + 256 image tokens + prompt, prefilled) and per-token greedy decode.
Needs `transformers` (a test dependency). Medians over --repeats runs.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from ..io.checkpoint import read_config_json
from .common import FirstTokenTimer, compare_table, run_side, status_mb, time_stream, timings

PROMPT_TOKENS = 12  # <bos> + a short prompt + "\n", after the image tokens
SHARD_BYTES = 2 * 1024**3

SIGLIP_SO400M = dict(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27, num_attention_heads=16,
                     patch_size=14, image_size=224, vision_use_head=False)
GEMMA_2B = dict(model_type="gemma", hidden_size=2048, intermediate_size=16384, num_hidden_layers=18,
                num_attention_heads=8, num_key_value_heads=1, vocab_size=257216)
SIZES = {
    "3b": dict(vision_config=SIGLIP_SO400M, text_config=GEMMA_2B),  # google/paligemma-3b-pt-224
    # the full vocabulary and widths, a few layers: minutes instead of tens of minutes on 2 cores
    "small": dict(vision_config=dict(SIGLIP_SO400M, num_hidden_layers=4),
                  text_config=dict(GEMMA_2B, num_hidden_layers=3)),
    "tiny": dict(vision_config=dict(SIGLIP_SO400M, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                    num_attention_heads=4),
                 text_config=dict(GEMMA_2B, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                  num_attention_heads=4, head_dim=16, vocab_size=1024)),
}


# ----------------------------------------------------------------------------- the checkpoint
def _saved_name(key: str) -> str:
    """transformers 5.x module names -> the names its save_pretrained writes (and the Hub files use)."""
    for new, old in (("model.language_model.", "language_model.model."), ("model.vision_tower.", "vision_tower."),
                     ("model.multi_modal_projector.", "multi_modal_projector.")):
        if key.startswith(new):
            return old + key[len(new):]
    return key


def write_checkpoint(folder: Path, size: str) -> int:
    """Random bf16 weights, shaped by the reference on the meta device, written shard by shard. Returns bytes."""
    from safetensors.torch import save_file
    from transformers import PaliGemmaConfig, PaliGemmaForConditionalGeneration

    spec = SIZES[size]
    vocab = spec["text_config"]["vocab_size"]
    cfg = PaliGemmaConfig(vision_config=dict(spec["vision_config"]), text_config=dict(spec["text_config"]),
                          image_token_index=vocab - 64 if vocab > 1024 else vocab - 1,
                          projection_dim=spec["text_config"]["hidden_size"])
    with torch.device("meta"):
        shapes = {k: v.shape for k, v in PaliGemmaForConditionalGeneration(cfg).state_dict().items()
                  if k != "lm_head.weight"}  # tied: the files leave it out
    cfg.dtype = torch.bfloat16
    cfg.save_pretrained(folder)
    g = torch.Generator().manual_seed(0)
    shards, current, used, total = [], {}, 0, 0
    for key, shape in shapes.items():
        t = (torch.zeros(shape, dtype=torch.bfloat16) if "norm" in key and len(shape) == 1 else
             (torch.randn(shape, generator=g) * 0.02).to(torch.bfloat16))
        current[_saved_name(key)] = t
        used += t.numel() * 2
        if used >= SHARD_BYTES:
            shards.append(current)
            total += used
            current, used = {}, 0
    if current:
        shards.append(current)
        total += used
    weight_map = {}
    for i, shard in enumerate(shards):
        name = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, str(folder / name), metadata={"format": "pt"})
        weight_map.update({k: name for k in shard})
    (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": total},
                                                                     "weight_map": weight_map}))
    return total


def _inputs(cfg_json: dict):
    v, t = cfg_json["vision_config"], cfg_json["text_config"]
    n = (v["image_size"] // v["patch_size"]) ** 2
    g = torch.Generator().manual_seed(1)
    prompt = torch.randint(3, 1000, (1, PROMPT_TOKENS), generator=g)
    prompt[0, 0] = 2  # <bos>
    ids = torch.cat([torch.full((1, n), cfg_json["image_token_index"]), prompt], 1)
    pixels = torch.randn(1, 3, v["image_size"], v["image_size"], generator=g)
    return dict(input_ids=ids, attention_mask=torch.ones_like(ids), token_type_ids=torch.zeros_like(ids),
                pixel_values=pixels), t["vocab_size"]


# ----------------------------------------------------------------------------- one implementation
def _load(which: str, folder: Path, inputs: dict, new_tokens: int):
    """(model, run) where run() -> (total seconds, seconds to the first new token) for one greedy answer."""
    if which == "ours":
        import gitdemo

        model = gitdemo.load_model(folder, progress=False)  # bfloat16 by default

        def run():
            return time_stream(model.stream(**inputs, max_new_tokens=new_tokens, eos_token_id=-1))
    else:
        from transformers.models.paligemma.modeling_paligemma import PaliGemmaForConditionalGeneration

        model = PaliGemmaForConditionalGeneration.from_pretrained(folder, dtype=torch.bfloat16).eval()

        def run():
            timer = FirstTokenTimer()
            t0 = time.perf_counter()
            with torch.inference_mode():
                out = model.generate(**inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                                     do_sample=False, streamer=timer)
            assert out.shape[1] == inputs["input_ids"].shape[1] + new_tokens
            return time.perf_counter() - t0, timer.first - t0
    return model, run


def measure(which: str, folder: Path, repeats: int, new_tokens: int) -> dict:
    """Load time, memory and timings of one implementation, alone in this process (a subprocess)."""
    inputs, _ = _inputs(read_config_json(folder))
    if which == "ours":  # code imported before the baseline, on both sides
        import gitdemo.generation  # noqa: F401
        import gitdemo.models.paligemma  # noqa: F401
    else:
        import transformers.models.paligemma.modeling_paligemma  # noqa: F401
    base = status_mb("VmRSS")
    t0 = time.perf_counter()
    _, run = _load(which, folder, inputs, new_tokens)
    load = time.perf_counter() - t0
    after_load = status_mb("VmRSS")
    run()  # warm-up (and the first touch of the memory-mapped weights)
    runs = [run() for _ in range(repeats)]
    peak = status_mb("VmHWM")
    return {"load_s": load, "peak_rss_mb": peak, "base_rss_mb": base, "loaded_rss_mb": after_load,
            "growth_mb": peak - base, **timings(runs, new_tokens)}


def measure_interleaved(folder: Path, repeats: int, new_tokens: int) -> dict:
    """Both implementations in one process, runs alternating, so background load hits both alike.
    (Both map the same files, so the weights' pages are shared in memory.)"""
    inputs, _ = _inputs(read_config_json(folder))
    runs = {w: _load(w, folder, inputs, new_tokens)[1] for w in ("reference", "ours")}
    for run in runs.values():
        run()  # warm-up
    times = {w: [] for w in runs}
    for _ in range(repeats):
        for w, run in runs.items():
            times[w].append(run())
    return {w: timings(t, new_tokens) for w, t in times.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gitdemo bench-paligemma", description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="3b",
                        help="3b: PaliGemma-3B-224 shapes; small: full widths and vocabulary, few layers")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--new-tokens", type=int, default=8)
    parser.add_argument("--folder", help="reuse (or keep) the random checkpoint in this folder")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--separate-timings", action="store_true",
                        help="time each side in its own process instead of alternating runs in one")
    parser.add_argument("--_one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._one:
        which, folder = args._one[0], Path(args._one[1])
        result = (measure_interleaved(folder, args.repeats, args.new_tokens) if which == "both" else
                  measure(which, folder, args.repeats, args.new_tokens))
        print(json.dumps(result))
        return 0
    tmp = None
    if args.folder:
        folder = Path(args.folder)
        folder.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory()
        folder = Path(tmp.name)
    try:
        if not (folder / "model.safetensors.index.json").is_file():
            write_checkpoint(folder, args.size)
        weights_mb = sum(f.stat().st_size for f in folder.glob("*.safetensors")) / 1024**2
        results = {}
        sides = ("reference", "ours") if args.separate_timings else ("reference", "ours", "both")
        for which in sides:
            repeats = 1 if which != "both" and not args.separate_timings else args.repeats
            try:
                results[which] = run_side(["bench-paligemma", "--repeats", str(repeats), "--new-tokens",
                                           str(args.new_tokens), "--_one", which, str(folder)])
            except RuntimeError as exc:
                print(exc, file=sys.stderr)
                return 1
        if "both" in results:  # timings from the alternating runs
            for which in ("reference", "ours"):
                results[which].update(results["both"][which])
    finally:
        if tmp is not None:
            tmp.cleanup()
    r, o = results["reference"], results["ours"]
    rows = [("model load (s)", "load_s", "{:.2f}"), ("peak memory (MB RSS)", "peak_rss_mb", "{:.0f}"),
            ("memory growth over the process before loading (MB)", "growth_mb", "{:.0f}"),
            ("time to first token (s)", "first_token_s", "{:.2f}"), ("per-token decode (ms)", "per_token_ms", "{:.0f}")]
    how = "each side alone" if args.separate_timings else "runs alternating in one process"
    lines = [f"size: {args.size}, weights: {weights_mb:.0f} MB bfloat16, threads: {torch.get_num_threads()}, "
             f"new tokens: {args.new_tokens}, repeats: {args.repeats} (medians; timings: {how})", "",
             *compare_table(rows, r, o)]
    lines += ["", f"gitdemo memory growth / weights: {o['growth_mb'] / weights_mb:.2f} "
                  f"(reference: {r['growth_mb'] / weights_mb:.2f}); target <= 1.15"]
    if args.json:
        print(json.dumps({"size": args.size, "weights_mb": weights_mb, "reference": r, "ours": o}))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
