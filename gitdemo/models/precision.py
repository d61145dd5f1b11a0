"""Precision: how a loaded model's Linear layers compute, as one explicit, named choice.

    fp32  exact: every weight and activation in float32 (what the parity tests against the reference use)
    bf16  weights and activations in bfloat16 (pays on GPUs, and on CPUs with AMX; slower elsewhere)
    fp16  weights and activations in float16 (GPUs)
    int8  CPU only: every nn.Linear keeps int8 weights (one scale per output channel) and quantizes its
          input per call (dynamic quantization); everything else (embeddings, norms, convolutions,
          attention softmax, the KV cache) stays float32.

`default_precision` picks one per machine from what the hardware can do; `GITDEMO_PRECISION`
overrides it. The int8 layer is ours (a small nn.Module over PyTorch's quantized linear kernels,
fbgemm / onednn), so the model keeps its plain attribute names and its streaming, beam search and
attention recording; the int8 layers have no autograd, which only training and gradient views need.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..errors import InputError

PRECISIONS = ("fp32", "bf16", "fp16", "int8")
ALIASES = {"float32": "fp32", "exact": "fp32", "bfloat16": "bf16", "float16": "fp16", "half": "fp16"}
FLOAT_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
LABELS = {"fp32": "exact (fp32)", "bf16": "bf16", "fp16": "fp16", "int8": "int8 (fast, CPU)"}
ENV = "GITDEMO_PRECISION"


def parse_precision(name) -> str:
    """A precision name in its canonical spelling, or InputError naming the choices."""
    key = str(name).strip().lower()
    key = ALIASES.get(key, key)
    if key not in PRECISIONS:
        raise InputError(f"Unknown precision '{name}'; use one of {', '.join(PRECISIONS)} "
                         f"(fp32 is exact; int8 is the fast CPU path).")
    return key


# ----------------------------------------------------------------------------- int8
def _quantized_engine() -> str | None:
    """The quantized CPU kernel library to use, or None when this torch build has none."""
    engines = [e for e in torch.backends.quantized.supported_engines if e != "none"]
    for want in ("x86", "fbgemm", "onednn", "qnnpack"):
        if want in engines:
            return want
    return None


class Int8Linear(nn.Module):
    """nn.Linear with int8 weights, symmetric per output channel, and activations quantized per call.

    y = dequant(quant(x) @ W_q^T) + b; the kernel picks each input's range when it runs, so nothing
    needs calibrating. `weight` holds the int8 values (out, in) and `weight_scale` their scales, for
    reading; the packed copy `_packed` is what the kernel uses.
    """

    def __init__(self, linear: nn.Linear):
        super().__init__()
        w = linear.weight.detach().to(torch.float32)
        self.in_features, self.out_features = linear.in_features, linear.out_features
        scale = (w.abs().amax(dim=1) / 127.0).clamp_min(1e-12)  # (out,)
        q = torch.clamp(torch.round(w / scale[:, None]), -127, 127).to(torch.int8)
        bias = None if linear.bias is None else linear.bias.detach().to(torch.float32).clone()
        self.register_buffer("weight", q)
        self.register_buffer("weight_scale", scale.to(torch.float32))
        self.register_buffer("bias", bias)
        with warnings.catch_warnings():  # quantized tensor *creation* warns of deprecation in torch 2.13
            warnings.simplefilter("ignore")
            qw = torch._make_per_channel_quantized_tensor(q, scale.double(), torch.zeros_like(scale, dtype=torch.long), 0)
            self._packed = torch.ops.quantized.linear_prepack(qw, bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        y = torch.ops.quantized.linear_dynamic(x.reshape(-1, shape[-1]).to(torch.float32).contiguous(),
                                               self._packed, True)  # reduce_range: safe on every x86 kernel
        return y.view(*shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8 per-channel, dynamic"


def quantize_int8(model: nn.Module) -> int:
    """Swap every nn.Linear in `model` (in place) for an Int8Linear; returns how many were swapped.

    A Linear that shares its weight with another module (PaliGemma's tied LM head) gets its own int8
    copy; the module it shares with (the token embedding) stays float32.
    """
    engine = _quantized_engine()
    if engine is None:
        raise InputError("This PyTorch build has no quantized CPU kernels, so int8 is not available; use fp32.")
    if any(p.device.type != "cpu" for p in model.parameters()):
        raise InputError("int8 runs on the CPU only; on a GPU use bf16 or fp16.")
    torch.backends.quantized.engine = engine
    swaps = [(parent, name, child) for parent in model.modules()
             for name, child in parent.named_children() if type(child) is nn.Linear]
    for parent, name, child in swaps:
        setattr(parent, name, Int8Linear(child))
    return len(swaps)


def apply_precision(model: nn.Module, precision: str) -> nn.Module:
    """Make a float32-loaded model compute at `precision` (in place; returns the model). Records
    `model.precision`, which the UI and the explorer show."""
    precision = parse_precision(precision)
    if precision == "int8":
        quantize_int8(model)
    else:
        model.to(FLOAT_DTYPES[precision])
    model.precision = precision
    return model


def load_dtype(precision: str) -> torch.dtype:
    """The dtype to read the checkpoint in before `apply_precision` (int8 is quantized from float32)."""
    return FLOAT_DTYPES.get(parse_precision(precision), torch.float32)


# ----------------------------------------------------------------------------- the per-machine default
@dataclass(frozen=True)
class Hardware:
    """What decides the default precision: the device, the CPU's feature flags, the quantized kernels."""

    device: str = "cpu"
    cpu_flags: frozenset = field(default_factory=frozenset)
    quantized_engine: str | None = None
    cuda_bf16: bool = False

    @classmethod
    def detect(cls, device: str | torch.device = "cpu") -> "Hardware":
        kind = torch.device(device).type
        flags = frozenset()
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("flags"):
                    flags = frozenset(line.split(":", 1)[1].split())
                    break
        except OSError:
            pass
        cuda_bf16 = kind == "cuda" and torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        return cls(kind, flags, _quantized_engine(), cuda_bf16)


def default_precision(hardware: Hardware | None = None, env: dict | None = None) -> str:
    """The precision the app uses unless told otherwise.

    GITDEMO_PRECISION wins when set. GPU: bf16 where supported, else fp16. CPU: int8 when quantized
    kernels exist (measured 2x+ faster with captions unchanged, docs/results.md); else bf16 only with
    AMX (amx_bf16: bf16 was slower than fp32 on CPUs without it); else fp32.
    """
    env = os.environ if env is None else env
    if env.get(ENV):
        return parse_precision(env[ENV])
    hw = hardware or Hardware.detect()
    if hw.device == "cuda":
        return "bf16" if hw.cuda_bf16 else "fp16"
    if hw.device != "cpu":
        return "fp32"
    if hw.quantized_engine:
        return "int8"
    return "bf16" if "amx_bf16" in hw.cpu_flags else "fp32"


__all__ = ["PRECISIONS", "LABELS", "ENV", "parse_precision", "Int8Linear", "quantize_int8", "apply_precision",
           "load_dtype", "Hardware", "default_precision"]
