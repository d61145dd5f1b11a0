"""gitdemo: GIT and PaliGemma in plain PyTorch, with their attention made visible.

    import gitdemo
    model = gitdemo.load_model("microsoft/git-base-coco")      # or a folder, or None (embedded)
    processor = gitdemo.load_processor("microsoft/git-base-coco")
"""
from .errors import CheckpointError, GitDemoError, HubError, InputError
from .models.registry import load_model

__version__ = "0.1.0"


def load_processor(name_or_path=None):
    """Image + text processing for a checkpoint (see gitdemo.processing)."""
    from .processing import load_processor as _load

    return _load(name_or_path)


__all__ = ["load_model", "load_processor", "GitDemoError", "InputError", "CheckpointError", "HubError"]
