"""The models: shared layers (attention, mask rule, KV cache), the ViT encoder, GIT and PaliGemma, and the
registry that builds and loads either from a checkpoint."""
