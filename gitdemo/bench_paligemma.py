# SHIM (issue 16): removed at merge
"""The old `gitdemo.bench_paligemma` names, now in gitdemo.bench.paligemma."""
import sys

from .bench.paligemma import *  # noqa: F401,F403
from .bench.paligemma import (GEMMA_2B, PROMPT_TOKENS, SHARD_BYTES, SIGLIP_SO400M, SIZES, _inputs, _load,  # noqa: F401
                              _saved_name, main, measure, measure_interleaved, write_checkpoint)

if __name__ == "__main__":
    sys.exit(main())
