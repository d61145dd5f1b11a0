"""Every public GIT checkpoint's config builds a model of exactly the reference's shapes.

The configs below carry the sizes of the public checkpoints' config.json files (the Hub cannot
be reached from CI); both models are built on the meta device, so nothing is allocated.
"""
import pytest
import torch

from gitdemo.models.git import GitConfig
from gitdemo.models.registry import build_model

transformers = pytest.importorskip("transformers")

BASE_VISION = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                   patch_size=16, image_size=224, hidden_act="quick_gelu", layer_norm_eps=1e-5)
LARGE_VISION = dict(BASE_VISION, hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
                    num_attention_heads=16, patch_size=14)
TEXT = dict(vocab_size=30522, hidden_size=768, num_hidden_layers=6, num_attention_heads=12, intermediate_size=3072,
            hidden_act="gelu", max_position_embeddings=1024, layer_norm_eps=1e-12, pad_token_id=0,
            bos_token_id=101, eos_token_id=102, model_type="git")

CHECKPOINTS = {
    "git-base": (BASE_VISION, {}, 197),
    "git-base-coco": (BASE_VISION, {}, 197),
    "git-base-textcaps": (BASE_VISION, {}, 197),
    "git-base-textvqa": (dict(BASE_VISION, image_size=480), {}, 901),
    "git-base-vqav2": (dict(BASE_VISION, image_size=480), {}, 901),
    "git-base-vatex": (BASE_VISION, {"num_image_with_embedding": 6}, 6 * 197),
    "git-base-msrvtt-qa": (BASE_VISION, {"num_image_with_embedding": 6}, 6 * 197),
    "git-large": (LARGE_VISION, {}, 257),
    "git-large-coco": (LARGE_VISION, {}, 257),
    "git-large-textcaps": (LARGE_VISION, {}, 257),
    "git-large-vqav2": (dict(LARGE_VISION, image_size=420), {}, 901),
    "git-large-vatex": (LARGE_VISION, {"num_image_with_embedding": 6}, 6 * 257),
    "git-large-r-coco": (LARGE_VISION, {}, 257),
    "git-large-r-textcaps": (LARGE_VISION, {}, 257),
}


@pytest.mark.parametrize("name", sorted(CHECKPOINTS))
def test_public_checkpoint_shapes(name):
    vision, extra, n_image_tokens = CHECKPOINTS[name]
    raw = dict(TEXT, vision_config=dict(vision, model_type="git_vision_model"), **extra)
    cfg = GitConfig.from_dict(raw)
    assert cfg.num_image_tokens == n_image_tokens
    ours, _ = build_model(raw, meta=True)
    with torch.device("meta"):
        ref = transformers.GitForCausalLM(transformers.GitConfig(**{k: v for k, v in raw.items() if k != "model_type"}))
    assert ref.git.encoder.layer[0].attention.self.image_patch_tokens == n_image_tokens
    ref_shapes = {k: tuple(v.shape) for k, v in ref.state_dict().items() if not k.endswith("position_ids")}
    our_shapes = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    assert our_shapes == ref_shapes


def test_config_round_trip_and_unknown_keys():
    raw = dict(TEXT, vision_config=dict(BASE_VISION, projection_dim=512, some_future_key=1), torch_dtype="float32",
               num_image_with_embedding=6)
    cfg = GitConfig.from_dict(raw)
    again = GitConfig.from_dict(cfg.to_dict())
    assert again == cfg and again.num_frames == 6
    assert GitConfig.from_dict(dict(TEXT, eos_token_id=[102, 0])).eos_token_id == 102
