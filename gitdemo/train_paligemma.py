# SHIM (issue 16): removed at merge
"""The old `gitdemo.train_paligemma` names, now in gitdemo.train.paligemma (and gitdemo.shapes.tasks)."""
from .train.cli import main as _main
from .train.cli import parse_paligemma_args as parse_args  # noqa: F401
from .train.cli import train  # noqa: F401
from .train.paligemma import *  # noqa: F401,F403
from .train.paligemma import (ANSWER_WEIGHT, DataSource, PaliGemmaRun, collate, compute_loss,  # noqa: F401
                              config_dict, init_weights, jitter_locs, loc_ids_by_bin, loc_lookup_table, quick_eval,
                              save_checkpoint, smoothed_loc_nll)
from .train.tokenizers import IMAGE_TOKEN, SIGLIP_MEAN, SIGLIP_STD, build_tokenizer, corpus  # noqa: F401
from .train.tokenizers import PG_SPECIAL as SPECIAL  # noqa: F401
from .train.tokenizers import write_pg_preprocessor as write_preprocessor  # noqa: F401
from .train.tokenizers import write_pg_tokenizer as write_tokenizer  # noqa: F401
from .shapes.tasks import detect_answer, detect_label_matches, detect_labels, loc_token, sample_detect  # noqa: F401
from .paligemma_outputs import LOC_BINS  # noqa: F401


def main(argv=None) -> int:
    """`python -m gitdemo train --arch paligemma ...` (argv as the old module took it)."""
    argv = list(argv or [])
    return _main(argv if "--arch" in argv or any(a.startswith("--arch=") for a in argv) else ["--arch", "paligemma", *argv])
