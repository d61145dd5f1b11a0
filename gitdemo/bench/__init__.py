"""Speed and memory against the reference (`transformers`): `python -m gitdemo bench` (GIT, `git.py`)
and `python -m gitdemo bench-paligemma` (`paligemma.py`); `common.py` holds what both use.
The names of the old `gitdemo.bench` module (the GIT benchmark) stay importable from here."""
from .common import FirstTokenTimer, compare_table, run_side, status_mb, time_call, timings
from .git import NEW_TOKENS, bandwidth_gbs, decode_bytes, main, measure, write_checkpoint

_FirstTokenTimer = FirstTokenTimer
_time_call = time_call

__all__ = ["FirstTokenTimer", "compare_table", "run_side", "status_mb", "time_call", "timings", "NEW_TOKENS",
           "bandwidth_gbs", "decode_bytes", "main", "measure", "write_checkpoint"]
