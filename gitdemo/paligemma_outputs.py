# SHIM (issue 16): removed at merge
"""Old home of PaliGemma's answer parsing: now `gitdemo.pipeline.answers` and `gitdemo.pipeline.segmask`."""
from .pipeline.answers import *  # noqa: F401,F403
from .pipeline.answers import LOC_BINS, MAX_ANSWER_CHARS, TOKEN_RE  # noqa: F401
from .pipeline.segmask import *  # noqa: F401,F403
from .pipeline.segmask import _DECODER, _find_vae, ResBlock  # noqa: F401
