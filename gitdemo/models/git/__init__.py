"""GIT (Generative Image-to-text Transformer): config, CLIP vision tower, BERT-style decoder.

    from gitdemo.models.git import GitForCausalLM, GitConfig
"""
from .config import GitConfig, GitVisionConfig
from .model import GitForCausalLM, GitModel, GitOutput, StepOutput

__all__ = ["GitForCausalLM", "GitModel", "GitOutput", "StepOutput", "GitConfig", "GitVisionConfig"]
