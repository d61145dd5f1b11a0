"""The VQ-VAE decoder of PaliGemma's `<seg>` codes (16 codes -> a 64 x 64 mask) and where its weights come from.

Masks need the decoder's weights (`vae-oid.npz`, from the Hub Space big_vision published with
PaliGemma): a path, $GITDEMO_VAE_OID, the Hub cache, or the Hub, in that order.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import CheckpointError, HubError, InputError

SEG_CODES, SEG_PER_OBJECT = 128, 16  # codebook size; codes per object (a 4 x 4 grid)
# Where the decoder weights live: the PaliGemma demo Space of big_vision (a Space, not a model repo).
VAE_SOURCES = (("google/paligemma-hf", "vae-oid.npz"), ("big-vision/paligemma-hf", "vae-oid.npz"))
VAE_ENV = "GITDEMO_VAE_OID"  # a local vae-oid.npz, used first


class ResBlock(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(dim, dim, 3, padding=1), nn.ReLU(), nn.Conv2d(dim, dim, 3, padding=1),
                                 nn.ReLU(), nn.Conv2d(dim, dim, 1))

    def forward(self, x):
        return x + self.net(x)


class MaskDecoder(nn.Module):
    """16 codes (a 4 x 4 grid of 512-d codebook vectors) -> a 64 x 64 mask, roughly in [-1, 1].

    Layer indices mirror the keys of vae-oid.npz (`decoder.0` ... `decoder.12`): a 1x1 conv to
    128 channels, two residual blocks, four 2x transposed convolutions (128, 64, 32, 16
    channels; 4 -> 64 pixels), and a 1x1 conv to one channel.
    """

    def __init__(self, codebook_size: int = SEG_CODES, embed_dim: int = 512, dim: int = 128):
        super().__init__()
        self.codebook = nn.Parameter(torch.zeros(codebook_size, embed_dim))  # npz: _vq_vae._embedding
        ups, d = [], dim
        for out in (dim, dim // 2, dim // 4, dim // 8):
            ups += [nn.ConvTranspose2d(d, out, 4, stride=2, padding=1), nn.ReLU()]
            d = out
        self.decoder = nn.Sequential(nn.Conv2d(embed_dim, dim, 1), nn.ReLU(), ResBlock(dim), ResBlock(dim),
                                     *ups, nn.Conv2d(d, 1, 1))

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        """codes (B, 16) in [0, 128) -> (B, 64, 64)."""
        if codes.ndim != 2 or codes.shape[1] != SEG_PER_OBJECT:
            raise InputError(f"Mask codes must be (batch, {SEG_PER_OBJECT}), got {tuple(codes.shape)}.")
        if codes.numel() and (codes.min() < 0 or codes.max() >= self.codebook.shape[0]):
            raise InputError(f"Mask codes must lie in [0, {self.codebook.shape[0]}).")
        x = self.codebook[codes.long()]  # (B, 16, E)
        x = x.view(codes.shape[0], 4, 4, -1).permute(0, 3, 1, 2)  # (B, E, 4, 4): row-major grid
        return self.decoder(x)[:, 0]

    @classmethod
    def from_npz(cls, path: str | os.PathLike) -> "MaskDecoder":
        try:
            arrays = dict(np.load(path))
        except Exception as exc:  # noqa: BLE001 - numpy raises several types for a bad file
            raise CheckpointError(f"{path} is not a readable vae-oid.npz ({exc}).") from exc
        if "_vq_vae._embedding" not in arrays:
            raise CheckpointError(f"{path} has no '_vq_vae._embedding': not the PaliGemma mask decoder.")
        model = cls(*arrays["_vq_vae._embedding"].shape)
        state = {"codebook": arrays.pop("_vq_vae._embedding")}
        state.update({k: v for k, v in arrays.items() if k.startswith("decoder.")})
        own = model.state_dict()
        if set(own) != set(state) or any(tuple(own[k].shape) != tuple(state[k].shape) for k in own):
            raise CheckpointError(f"{path} does not match the mask decoder (keys or shapes differ).")
        model.load_state_dict({k: torch.from_numpy(np.asarray(v, np.float32)) for k, v in state.items()})
        return model.eval().requires_grad_(False)


_DECODER: MaskDecoder | None = None  # weights only (read-only after loading): safe to share between users


def load_mask_decoder(path: str | os.PathLike | None = None) -> MaskDecoder:
    """The decoder from `path`, $GITDEMO_VAE_OID, the Hub cache, or the Hub; a clear error otherwise."""
    global _DECODER
    if path is not None:
        return MaskDecoder.from_npz(path)
    if _DECODER is None:
        _DECODER = MaskDecoder.from_npz(os.environ.get(VAE_ENV) or _find_vae())
    return _DECODER


def _find_vae() -> Path:
    from ..io.hub import hub_reachable

    try:
        from huggingface_hub import hf_hub_download
    except ImportError as exc:  # pragma: no cover - a runtime dependency
        raise HubError("huggingface_hub is missing, so the mask decoder cannot be fetched.") from exc
    for online in (False, True):  # the cache first, then the network
        if online and not hub_reachable():
            break
        for repo, name in VAE_SOURCES:
            try:
                return Path(hf_hub_download(repo, name, repo_type="space", local_files_only=not online))
            except Exception:  # noqa: BLE001 - not cached / not found: try the next source
                continue
    raise HubError(f"Masks are unavailable: the mask decoder weights (vae-oid.npz, from the Hugging Face "
                   f"Space {VAE_SOURCES[0][0]}) could not be found or downloaded. Boxes still work; to get "
                   f"masks, download the file and set {VAE_ENV} to its path.")


__all__ = ["MaskDecoder", "load_mask_decoder", "SEG_CODES", "SEG_PER_OBJECT", "VAE_SOURCES", "VAE_ENV"]
