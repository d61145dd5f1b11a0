# SHIM (issue 16): removed at merge
"""Old path of `gitdemo.models.git.config` (and `read_config_json`, now `gitdemo.io.checkpoint`)."""
from .io.checkpoint import read_config_json  # noqa: F401
from .models.git.config import GitConfig, GitVisionConfig  # noqa: F401
