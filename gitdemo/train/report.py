"""training_report.md and training_curves.png of a run, for either family (the log's `args.arch`)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from .images import FRAMES


def _curves(folder: Path, log: dict, git: bool) -> None:
    """Loss per task, (GIT) attention mass on the named object, and the quick checks over the steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hist, ev = log["history"], log.get("evals", [])
    fig, axes = plt.subplots(1, 3 if git else 2, figsize=(15, 4) if git else (10, 3.4))
    steps = [h["step"] for h in hist]
    keys = sorted({k for h in hist for k in h if k.startswith("lm_")})
    for k in (["lm"] if git else []) + keys:
        vals = [(h["step"], h[k]) for h in hist if k in h]
        if vals:
            axes[0].plot(*zip(*vals), label=k if git else k[3:], lw=2 if k == "lm" else 1)
    axes[0].set_yscale("log")
    axes[0].set_title("LM loss (per task)" if git else "training loss (suffix tokens)")
    axes[0].set_xlabel("step")
    axes[0].legend(fontsize=7)
    if git:
        g = [(h["step"], h["ground_frac"]) for h in hist if "ground_frac" in h]
        if g:
            axes[1].plot(*zip(*g), color="C3")
        axes[1].set_ylim(0, 1)
        axes[1].set_title("attention mass on the named object")
        axes[1].set_xlabel("step")
        axes[0].set_xlim(0, max(steps) if steps else 1)
    last = axes[-1]
    for k in ("caption1", "caption2", "video_caption") if git else ("caption", "answer", "detect"):
        vals = [(e["step"], e[k]) for e in ev if k in e]
        if vals:
            last.plot(*zip(*vals), marker="o", label=k)
    last.set_ylim(0, 1)
    if git:
        last.set_title("greedy caption accuracy (quick check)")
    else:
        last.set_title("quick check (exact match; detect: found, IoU >= 0.5)", fontsize=9)
    last.set_xlabel("step")
    if ev:
        last.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / "training_curves.png", dpi=90)
    plt.close(fig)


def _git_lines(log: dict) -> list[str]:
    a = log["args"]
    g = a["image_size"] // a["patch_size"]
    return [
        f"- parameters: {log['parameters'] / 1e6:.2f} M; image {a['image_size']} px, patch {a['patch_size']} "
        f"({g}x{g} grid); vision {a['vision_layers']}x{a['vision_dim']}, decoder {a['layers']}x{a['dim']}; "
        f"{FRAMES} temporal embeddings",
        f"- per step: {a['batch']} images (caption + one question each); every {a['video_every']} step(s) "
        f"{a['video_batch']} clips (caption + one question each); two-object share {a['p_two']}; fresh scenes "
        f"every step, augmented (JPEG/chroma subsampling, blur, sub-pixel shifts, colour shifts, noise)",
        f"- AdamW lr {a['lr']} (warm-up {a['warmup']} steps, cosine to {a['min_lr_frac']}x), weight decay "
        f"{a['weight_decay']}, grad clip 1.0; grounding weight {a['ground_weight']}; "
        f"patch-probe weight {a.get('aux_weight', 0.0)}; answer-token weight {a.get('question_weight', 1.0)}; "
        f"seed {a['seed']}",
        *([f"- continued from the checkpoint in `{a['init']}` (temporal embeddings re-drawn: "
           f"{a.get('reinit_temporal')}, patch positions x{a.get('scale_positions')})"] if a.get("init") else []),
        f"- final quick check (greedy, clean scenes): {json.dumps(log['evals'][-1] if log.get('evals') else {})}",
    ]


def _paligemma_lines(log: dict) -> list[str]:
    a = log["args"]
    g = a["image_size"] // a["patch_size"]
    return [
        f"- parameters: {log['parameters'] / 1e6:.2f} M; image {a['image_size']} px, patch {a['patch_size']} "
        f"({g}x{g} image tokens); SigLIP-style vision {a['vision_layers']}x{a['vision_dim']}, Gemma decoder "
        f"{a['layers']}x{a['dim']} ({a['kv_heads']} key/value head(s)), tied embeddings",
        f"- per step: {a['batch']} fresh augmented scenes (two-object share {a['p_two']}), each with rows "
        f"`caption en`, `answer en <question>` and {a.get('detect_rows', 1)} x `detect <label>` (distinct labels; "
        f"15% of labels match nothing)",
        f"- AdamW lr {a['lr']} (warm-up {a['warmup']} steps, cosine to {a['min_lr_frac']}x), weight decay "
        f"{a['weight_decay']}, grad clip 1.0; <loc> loss: -log of the mass near the true bin (Gaussian weights, "
        f"sigma {a['loc_sigma']}); seed {a['seed']}",
        *([f"- training-only patch probe on the projected image tokens (row, column, covering object), weight "
           f"{a['aux_weight']}; its head is not saved"] if a.get("aux_weight") else []),
        *([f"- continued from the checkpoint in `{a['init']}` (a second phase: warm-up and decay again)"]
          if a.get("init") else []),
        f"- final quick check (32 clean scenes; captions and answers exact match, detect: objects found with "
        f"IoU >= 0.5 and extra boxes, per true object): {json.dumps(log['evals'][-1] if log.get('evals') else {})}",
    ]


def write_report(folder: Path, log: dict, name: str) -> None:
    """training_report.md (and the curves) from a run's log."""
    folder = Path(folder)
    git = log["args"].get("arch", "git") == "git"
    try:
        _curves(folder, log, git)
    except Exception as exc:  # noqa: BLE001 - the report must not kill a finished training
        print(f"(no curves: {exc})", file=sys.stderr)
    a = log["args"]
    budget = f" (time budget {a['minutes']} min)" if a.get("minutes") and not a.get("replay") else f" of {a['steps']}"
    lines = [
        f"# {name}: training report", "",
        f"- command: `python -m gitdemo train {' '.join(log['argv'])}`",
        f"- machine: {log['machine']}",
        f"- steps: {log['steps_done']}{budget}, wall time {log['seconds'] / 60:.1f} min "
        f"({log['steps_done'] / max(log['seconds'], 1e-9):.2f} steps/s)",
        *(_git_lines(log) if git else _paligemma_lines(log)),
        "", "![curves](training_curves.png)", "",
        "Full evaluation: `python -m gitdemo eval --model <this folder>` (see eval.md).", "",
    ]
    (folder / "training_report.md").write_text("\n".join(lines))
