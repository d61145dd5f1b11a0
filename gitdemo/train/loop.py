"""The one training loop both families share: AdamW with linear warm-up and cosine decay (over
steps, or over a wall-time budget with `--minutes`), gradient clipping, float32 on the CPU, the
log, the quick checks and the checkpoints. A family (`git.GitRun`, `paligemma.PaliGemmaRun`)
supplies the model, the probe head and one step's loss."""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch

from .report import write_report


def lr_at(step: int, args, progress: float | None = None) -> float:
    """Linear warm-up over `warmup` steps, then cosine decay to min_lr_frac x lr.

    `progress` in [0, 1] (time-budgeted runs) replaces step / steps for the decay.
    """
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    t = (step - args.warmup) / max(1, args.steps - args.warmup) if progress is None else progress
    return args.lr * (args.min_lr_frac + (1 - args.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


def progress_at(elapsed: float, args, start: float | None) -> float | None:
    """Decay progress of a time-budgeted run (`--minutes`): the share of the budget used since warm-up."""
    if not args.minutes or start is None:
        return None
    return min(1.0, max(0.0, (elapsed - start) / max(1.0, args.minutes * 60 - start)))


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def optimizer(model, aux_head, weight_decay: float, lr: float, embed_key: str) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not on embeddings: names containing `embed_key`);
    the probe head, when there is one, trains alongside (its weight decayed, its bias not)."""
    named = list(model.named_parameters())
    decay = [p for n, p in named if p.ndim >= 2 and embed_key not in n]
    no_decay = [p for n, p in named if not (p.ndim >= 2 and embed_key not in n)]
    if aux_head is not None:
        decay.append(aux_head.weight)
        no_decay.append(aux_head.bias)
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.98))


def _status(rec: dict, done: int, args, el: float) -> str:
    left = (args.steps - done) / (done / el)
    if args.minutes:
        left = min(left, args.minutes * 60 - el)
    return (f"step {done:5d}/{args.steps}  loss {rec['lm']:.4f}  "
            + " ".join(f"{k[3:]} {rec[k]:.3f}" for k in sorted(rec) if k.startswith("lm_"))
            + (f"  ground {rec['ground_frac']:.2f}" if "ground_frac" in rec else "")
            + (f"  patch {rec['patch_acc']:.2f}" if "patch_acc" in rec else "")
            + f"  lr {rec['lr']:.2e}  {done / el:.2f} steps/s  {el / 60:.1f} min, ~{max(left, 0) / 60:.1f} min left")


def run(family, args, argv=()) -> dict:
    """Train `family` (built from `args`) and write its folder `args.out`; returns the log."""
    model, aux_head = family.model, family.aux_head
    model.train()
    opt = optimizer(model, aux_head, args.weight_decay, args.lr, family.embed_key)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    n_params = sum(p.numel() for p in model.parameters())
    log = {"argv": list(argv), "args": vars(args), "parameters": n_params, "history": [], "evals": [],
           "machine": f"{os.cpu_count()} CPU cores ({cpu_name()}), torch {torch.__version__}, "
                      f"{args.threads} threads, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}, float32"}
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    say(f"training {n_params / 1e6:.2f} M parameters ({family.name}) for at most {args.steps} steps -> {out}")
    replay = None
    if getattr(args, "replay", None):  # the exact schedule of an earlier time-budgeted run: the same training
        replay = json.loads(Path(args.replay).read_text())["progress_trace"]
        args.steps = len(replay)
    trace: list = []
    log["progress_trace"] = trace
    t0 = time.time()
    acc: dict[str, list[float]] = {}
    warm_end = None  # seconds at the end of warm-up (time-budgeted runs decay over the rest)
    step = 0
    for step in range(args.steps):
        el = time.time() - t0
        if step == args.warmup:
            warm_end = el
        prog = replay[step] if replay else progress_at(el, args, warm_end)
        trace.append(prog)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, args, prog)
        opt.zero_grad(set_to_none=True)
        parts = family.step(step)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        for k, v in parts.items():
            acc.setdefault(k, []).append(v)
        done = step + 1
        if done % args.log_every == 0 or done == args.steps:
            el = time.time() - t0
            rec = {"step": done, "seconds": round(el, 1), "lr": opt.param_groups[0]["lr"],
                   **{k: float(np.mean(v)) for k, v in acc.items()}}
            log["history"].append(rec)
            acc = {}
            say(_status(rec, done, args, el))
        if args.eval_every and (done % args.eval_every == 0 or done == args.steps):
            log["evals"].append({"step": done, **family.quick_eval()})
            say(f"  quick check @ {done}: {json.dumps(log['evals'][-1])}")
        if args.save_every and done % args.save_every == 0 and done != args.steps:
            finish(family, out, log, done, time.time() - t0)
        if args.minutes and not replay and time.time() - t0 > args.minutes * 60:
            say(f"time budget of {args.minutes} min reached at step {done}")
            break
    done = step + 1
    if not log["evals"] or log["evals"][-1]["step"] != done:  # the report ends on a check of the final weights
        log["evals"].append({"step": done, **family.quick_eval()})
    seconds = time.time() - t0
    finish(family, out, log, done, seconds)
    say(f"done: {done} steps in {seconds / 60:.1f} min; quick check {json.dumps(log['evals'][-1])}; "
        f"checkpoint in {out}")
    return log


def finish(family, out: Path, log: dict, steps_done: int, seconds: float) -> None:
    """Write the checkpoint, training_log.json and the report as they stand after `steps_done` steps."""
    log["steps_done"] = steps_done
    log["seconds"] = seconds
    family.model.eval()
    family.save(out)
    (Path(out) / "training_log.json").write_text(json.dumps(log, indent=1) + "\n")
    write_report(out, log, family.name)
    family.model.train()
