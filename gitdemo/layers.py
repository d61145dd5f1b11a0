# SHIM (issue 16): removed at merge
"""Old path of `gitdemo.models.layers` (and the ViT layers, now `gitdemo.models.vit`)."""
from .models.layers import *  # noqa: F401,F403
from .models.vit import ViTAttention, ViTEncoder, ViTLayer, ViTMLP  # noqa: F401
