"""Model families implemented in gitdemo: GIT (and PaliGemma, in its own module)."""
