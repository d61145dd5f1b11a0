"""The few exception types a user can cause, each carrying a sentence a student can act on.

The UI turns any `GitDemoError` into a `gr.Error`; the CLI prints it and exits with status 2.
"""


class GitDemoError(Exception):
    """Base class: something the user can fix (bad input, missing files, no network)."""


class InputError(GitDemoError, ValueError):
    """An image, video, prompt or argument that cannot be used as given."""


class CheckpointError(GitDemoError, ValueError):
    """A checkpoint folder or file that is missing, corrupt or of the wrong kind."""


class HubError(GitDemoError, OSError):
    """The Hugging Face Hub cannot be reached, or refuses access to a repository."""


__all__ = ["GitDemoError", "InputError", "CheckpointError", "HubError"]
