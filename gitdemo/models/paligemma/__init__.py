"""PaliGemma / PaliGemma 2: config, SigLIP vision tower, Gemma decoder, and the model that joins them.

    from gitdemo.models.paligemma import PaliGemmaForConditionalGeneration, PaliGemmaConfig
"""
from ...io.checkpoint import PALIGEMMA_RENAMES  # the old key names the public checkpoints use
from .config import GemmaTextConfig, PaliGemmaConfig, SiglipVisionConfig
from .model import PaliGemmaForConditionalGeneration, PaliGemmaModel, PaliGemmaOutput

__all__ = ["PaliGemmaForConditionalGeneration", "PaliGemmaModel", "PaliGemmaOutput", "PaliGemmaConfig",
           "SiglipVisionConfig", "GemmaTextConfig", "PALIGEMMA_RENAMES"]
