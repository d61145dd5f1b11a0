"""`python -m gitdemo train [--arch paligemma] [--recipe NAME] --out DIR ...`: options, recipes, dispatch."""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from .recipes import RECIPES


def add_shared_options(p, warmup: int, p_two: float, layers: int) -> None:
    """The options both families take: schedule, data mix, sizes, threads, logging."""
    p.add_argument("--recipe", default=None, choices=sorted(RECIPES),
                   help="a shipped run's settings (see gitdemo/train/recipes.py); explicit flags override")
    p.add_argument("--out", required=True, help="model folder to write (Hugging Face layout)")
    p.add_argument("--replay", default=None, metavar="training_log.json",
                   help="re-run a time-budgeted training exactly: same steps, same LR at every step")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--init", default=None, metavar="DIR", help="start from this checkpoint's weights (same shapes)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--min-lr-frac", type=float, default=0.03)
    p.add_argument("--warmup", type=int, default=warmup)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--p-two", type=float, default=p_two, help="share of two-object scenes")
    p.add_argument("--augment", type=float, default=1.0, help="probability an input gets augmented at all")
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--patch-size", type=int, default=32)
    p.add_argument("--vision-dim", type=int, default=192)
    p.add_argument("--vision-layers", type=int, default=4)
    p.add_argument("--dim", type=int, default=192)
    p.add_argument("--layers", type=int, default=layers)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--log-every", type=int, default=25)
    p.add_argument("--aux-weight", type=float, default=0.0,
                   help="weight of the training-only patch probe (each image token: its row, column and "
                        "which object covers it); not saved in the checkpoint")
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--quiet", action="store_true")


def git_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gitdemo train", description="Train the embedded Shapes GIT "
                                "(--arch paligemma: the embedded PaliGemma, see `train --arch paligemma --help`).")
    p.add_argument("--arch", default="git", choices=["git", "paligemma"], help="which model family to train")
    p.add_argument("--steps", type=int, default=4000)
    p.add_argument("--minutes", type=float, default=None,
                   help="time budget: the LR decays over this wall time and training stops when it is spent "
                        "(at most --steps); the schedule actually used is saved (progress_trace) for --replay")
    p.add_argument("--temporal-std", type=float, default=1.0, help="init std of the frame embeddings")
    p.add_argument("--position-std", type=float, default=0.02,
                   help="init std of the vision patch position embeddings (from scratch); ~1 matches the patch contents")
    p.add_argument("--scale-positions", type=float, default=1.0,
                   help="with --init: multiply the vision patch position embeddings by this")
    p.add_argument("--reinit-temporal", action="store_true", help="with --init: draw the frame embeddings afresh")
    p.add_argument("--batch", type=int, default=32, help="images per step")
    p.add_argument("--video-batch", type=int, default=4, help="clips per step")
    p.add_argument("--video-every", type=int, default=1, help="add a clip batch every N steps")
    p.add_argument("--ground-weight", type=float, default=0.3)
    p.add_argument("--question-weight", type=float, default=1.0,
                   help="weight of each answer token against a caption token (answers are short)")
    add_shared_options(p, warmup=200, p_two=0.6, layers=3)
    p.add_argument("--save-every", type=int, default=500)
    return p


def paligemma_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gitdemo train --arch paligemma",
                                description="Train the embedded Shapes PaliGemma.")
    p.add_argument("--arch", default="paligemma", choices=["paligemma"])
    p.add_argument("--steps", type=int, default=100000)
    p.add_argument("--minutes", type=float, default=60.0, help="time budget (the LR decays over it)")
    p.add_argument("--batch", type=int, default=32, help="scenes per step (caption, answer and --detect-rows detect rows each)")
    add_shared_options(p, warmup=150, p_two=0.65, layers=4)
    p.add_argument("--loc-sigma", type=float, default=6.0, help="Gaussian width (in bins) of <loc> targets")
    p.add_argument("--position-std", type=float, default=1.0, help="init std of the patch position embeddings")
    p.add_argument("--kv-heads", type=int, default=1)
    p.add_argument("--detect-rows", type=int, default=1, help="detect prompts per scene (distinct labels)")
    p.add_argument("--loc-jitter", type=int, default=0,
                   help="move each input <loc> token of a detect answer by up to this many bins (targets "
                        "unchanged): practice in continuing from the model's own slightly-off boxes")
    p.add_argument("--save-every", type=int, default=300)
    return p


def _parse(parser: argparse.ArgumentParser, argv, recipe: str | None) -> argparse.Namespace:
    if recipe:
        parser.set_defaults(recipe=recipe, **RECIPES[recipe].settings)
    args = parser.parse_args(argv)
    if recipe and RECIPES[recipe].needs_init and not args.init:
        parser.error(f"--recipe {recipe} continues from a checkpoint: give it with --init DIR")
    return args


def parse_args(argv, recipe: str | None = None) -> argparse.Namespace:
    """The GIT trainer's options (`recipe`: a single-phase recipe's settings as the defaults)."""
    return _parse(git_parser(), argv, recipe)


def parse_paligemma_args(argv, recipe: str | None = None) -> argparse.Namespace:
    return _parse(paligemma_parser(), argv, recipe)


def train(args, argv=()) -> dict:
    """Build the family `args.arch` names and run the shared loop; returns the log."""
    import torch

    from .loop import run

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.arch == "paligemma":
        from .paligemma import PaliGemmaRun as Family
    else:
        from .git import GitRun as Family
    return run(Family(args), args, argv)


def _flag(argv: list[str], name: str) -> str | None:
    for i, a in enumerate(argv):
        if a == name and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


def _without(argv: list[str], name: str) -> list[str]:
    """argv less the option `name` and its value."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == name:
            skip = True
        elif not a.startswith(name + "="):
            out.append(a)
    return out


def _run_phases(name: str, argv: list[str]) -> int:
    """A multi-phase recipe: each phase continues from the previous one's folder (`DIR-phaseK`)."""
    phases = RECIPES[name].phases
    if _flag(argv, "--out") is None:
        paligemma_parser().parse_args(argv)  # argparse says --out is required and exits
    final = Path(_flag(argv, "--out"))
    rest = _without(_without(argv, "--recipe"), "--out")
    init = None
    for k, phase in enumerate(phases, 1):
        out = final if k == len(phases) else final.with_name(f"{final.name}-phase{k}")
        phase_argv = ["--recipe", phase, *rest, "--out", str(out)] + (["--init", str(init)] if init else [])
        parser = paligemma_parser() if RECIPES[phase].arch == "paligemma" else git_parser()
        train(_parse(parser, phase_argv, phase), phase_argv)
        init = out
    for k in range(1, len(phases)):  # earlier phases' records next to the final ones, as shipped
        src = final.with_name(f"{final.name}-phase{k}")
        for f in ("training_log.json", "training_report.md", "training_curves.png"):
            if (src / f).is_file():
                stem, ext = f.rsplit(".", 1)
                shutil.copy(src / f, final / f"{stem}_phase{k}.{ext}")
    return 0


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    recipe = _flag(argv, "--recipe")
    if recipe is not None and recipe not in RECIPES:
        git_parser().parse_args(argv)  # argparse names the valid recipes and exits
    if recipe and RECIPES[recipe].phases:
        return _run_phases(recipe, argv)
    arch = RECIPES[recipe].arch if recipe else _flag(argv, "--arch") or "git"
    args = (parse_paligemma_args if arch == "paligemma" else parse_args)(argv, recipe)
    if args.arch != arch:
        raise SystemExit(f"--recipe {recipe} trains --arch {arch}, not {args.arch}")
    train(args, argv)
    return 0
