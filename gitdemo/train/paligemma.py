"""The PaliGemma family of the trainer: the embedded Shapes PaliGemma's data, loss and quick check.

A small model of PaliGemma's architecture (SigLIP-style ViT, linear projector, Gemma decoder with
the prefix-LM mask) learns the three prompt families of SHAPES_WORLD.md, *PaliGemma prompts*:

    caption en                 -> "a red circle left of a blue square"
    answer en {question}       -> "left"
    detect {label}             -> "<loc0012><loc0034><loc0100><loc0123> red circle ; ..."  ("" when none)

Every step draws fresh scenes (gitdemo.shapes), augmented as for the GIT model (`images.augment`);
each image is encoded once and serves one row per prompt family. The loss is the reference's
(next-token cross-entropy over the suffix), except at `<loc>` targets: there the loss is -log of the
probability mass near the true bin, weighted by a narrow Gaussian (`--loc-sigma` bins;
`smoothed_loc_nll`): a box 3 bins off is nearly as good as the exact one, and the loss says so. The
`<loc>` embeddings (tied with the output head) start on a smooth curve (low-frequency sinusoids of
the bin index) so that neighbouring bins start out similar.

Written in the Hugging Face layout (config.json model_type "paligemma", the reference's key
names, tokenizer.json with PaliGemma's special tokens, preprocessor_config.json). The loop,
optimiser and schedule are shared with GIT (`loop.py`).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..pipeline.answers import LOC_BINS
from ..processing.paligemma import LOC_TOKENS
from ..shapes import draw_scene, sample_question
from ..shapes.tasks import detect_answer, sample_detect
from .checkpoint import write_generation_config, write_weights
from .images import augment, normalise_uint8
from .probe import patch_classes, patch_loss, probe_head
from .tokenizers import (
    IMAGE_TOKEN,
    SIGLIP_MEAN,
    SIGLIP_STD,
    build_tokenizer,
    write_json,
    write_pg_preprocessor,
    write_pg_tokenizer,
)

ANSWER_WEIGHT = 3.0


# ============================================================================ model
def config_dict(args, tok) -> dict:
    """config.json in the reference's layout."""
    vocab = tok.get_vocab_size(with_added_tokens=True)
    vision = dict(model_type="siglip_vision_model", hidden_size=args.vision_dim, intermediate_size=4 * args.vision_dim,
                  num_hidden_layers=args.vision_layers, num_attention_heads=max(1, args.vision_dim // 64),
                  image_size=args.image_size, patch_size=args.patch_size, vision_use_head=False,
                  hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6, projection_dim=args.dim)
    heads = max(1, args.dim // 64)
    text = dict(model_type="gemma", vocab_size=vocab, hidden_size=args.dim, intermediate_size=4 * args.dim,
                num_hidden_layers=args.layers, num_attention_heads=heads, num_key_value_heads=args.kv_heads,
                head_dim=args.dim // heads, max_position_embeddings=256, rms_norm_eps=1e-6, rope_theta=10000.0,
                hidden_act="gelu_pytorch_tanh", hidden_activation="gelu_pytorch_tanh", attention_bias=False,
                pad_token_id=0, eos_token_id=1, bos_token_id=2, tie_word_embeddings=True)
    return dict(model_type="paligemma", architectures=["PaliGemmaForConditionalGeneration"],
                vision_config=vision, text_config=text, image_token_index=tok.token_to_id(IMAGE_TOKEN),
                projection_dim=args.dim, hidden_size=args.dim, tie_word_embeddings=True,
                bos_token_id=2, eos_token_id=1, pad_token_id=0, torch_dtype="float32")


def init_weights(model, tok, seed: int, position_std: float) -> None:
    """normal(0, 0.02) weights, zero biases, LayerNorm 1 / Gemma RMSNorm 0 (it multiplies by 1 + w),
    patch positions normal(0, position_std), `<loc>` embeddings on a smooth curve of the bin index."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 1:
                is_ln = "layer_norm" in name or "layernorm" in name or name.endswith("norm.weight")
                gemma_norm = "language_model" in name
                p.fill_(0.0 if (gemma_norm or not is_ln or name.endswith("bias")) else 1.0)
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.02)
        pos = model.model.vision_tower.embeddings.position_embedding.weight
        pos.copy_(torch.randn(pos.shape, generator=gen) * position_std)
        emb = model.model.language_model.embed_tokens.weight
        d = emb.shape[1]
        ids = torch.tensor([tok.token_to_id(t) for t in LOC_TOKENS])
        x = torch.arange(LOC_BINS, dtype=torch.float32)[:, None] / (LOC_BINS - 1)
        freq = torch.exp(torch.linspace(math.log(0.5), math.log(48.0), d // 2))[None]  # cycles over the range
        phase = torch.rand(d // 2, generator=gen)[None] * 2 * math.pi
        curve = torch.cat([torch.cos(2 * math.pi * freq * x + phase), torch.sin(2 * math.pi * freq * x + phase)], 1)
        emb[ids] = curve * 0.02 * math.sqrt(2.0) + torch.randn(LOC_BINS, d, generator=gen) * 0.002
    model.tie_weights()


# ============================================================================ batches
class DataSource:
    """Fresh augmented scenes -> (pixel_values (B,3,S,S), rows of (prefix ids, suffix ids, kind))."""

    def __init__(self, tok, seed: int, size: int, p_two: float, augment_p: float, detect_rows: int = 1):
        self.tok, self.size, self.p_two, self.augment_p = tok, size, p_two, augment_p
        self.detect_rows = detect_rows
        self.rng = np.random.default_rng([seed, 0x9A11])  # eval draws from [seed, 0xE7A1]: never the same
        self.image_id, self.bos, self.eos = tok.token_to_id(IMAGE_TOKEN), 2, 1

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False).ids

    def pixels(self, images) -> torch.Tensor:
        from PIL import Image

        arrs = []
        for img in images:
            arr = augment(img, self.rng) if self.rng.random() < self.augment_p else np.asarray(img, dtype=np.uint8)
            if arr.shape[:2] != (self.size, self.size):
                arr = np.asarray(Image.fromarray(arr).resize((self.size, self.size), Image.BICUBIC))
            arrs.append(arr)
        return normalise_uint8(torch.from_numpy(np.stack(arrs)), SIGLIP_MEAN[0], SIGLIP_STD[0])

    def rows_for(self, scene) -> list[tuple[str, str, str]]:
        q, a = sample_question(self.rng, scene)
        labels: list[str] = []
        for _ in range(8 * self.detect_rows):  # distinct labels where the scene has enough
            lab = sample_detect(self.rng, scene.objects)
            if lab not in labels:
                labels.append(lab)
            if len(labels) == self.detect_rows:
                break
        two = len(scene.objects) == 2
        return [("caption en", scene.caption, "caption2" if two else "caption1"),
                (f"answer en {q}", a, "answer"),
                *[(f"detect {lab}", detect_answer(lab, scene.objects), "detect") for lab in labels]]

    def batch(self, n: int):
        """(pixel_values, rows, owner: the image of each row, the scenes' objects)."""
        scenes = [draw_scene(self.rng, 2 if self.rng.random() < self.p_two else 1) for _ in range(n)]
        pv = self.pixels([s.image for s in scenes])
        rows, owner = [], []
        for i, sc in enumerate(scenes):
            for prompt, answer, kind in self.rows_for(sc):
                rows.append((self.encode(prompt + "\n"), self.encode(answer) + [self.eos], kind))
                owner.append(i)
        return pv, rows, torch.tensor(owner), [sc.objects for sc in scenes]


def collate(rows, n_image: int, image_id: int, bos: int, pad: int = 0):
    """Right-padded rows: <image> x N, <bos>, prefix (type 0), suffix (type 1, labelled)."""
    seqs = [[image_id] * n_image + [bos] + p + s for p, s, _ in rows]
    L = max(len(s) for s in seqs)
    b = len(rows)
    ids = torch.full((b, L), pad, dtype=torch.long)
    mask = torch.zeros(b, L, dtype=torch.long)
    types = torch.zeros(b, L, dtype=torch.long)
    labels = torch.full((b, L), -100, dtype=torch.long)
    for i, ((p, s, _), seq) in enumerate(zip(rows, seqs)):
        ids[i, :len(seq)] = torch.tensor(seq)
        mask[i, :len(seq)] = 1
        start = n_image + 1 + len(p)
        types[i, start:len(seq)] = 1
        labels[i, start:len(seq)] = torch.tensor(s)
    return ids, mask, types, labels


def smoothed_loc_nll(logp_bins: torch.Tensor, bins: torch.Tensor, sigma: float) -> torch.Tensor:
    """-log of the probability mass near the target bin, each bin weighted by a Gaussian of width
    `sigma` bins (weight 1 on the target itself): log-probabilities (N, 1024), target bins (N,).

    Unlike cross-entropy against a blurred target (which is proper, so the model spreads its mass
    over all the bins it is unsure about and greedy decoding then prefers `<eos>` to any single
    bin), this rewards mass anywhere close to the truth and is best served by putting it all on one
    bin: the predictions become sharp, as greedy decoding needs them."""
    grid = torch.arange(LOC_BINS, dtype=torch.float32)
    log_w = -0.5 * ((grid[None] - bins[:, None].float()) / sigma) ** 2
    return -torch.logsumexp(logp_bins + log_w, dim=1)


def loc_lookup_table(tok, vocab_size: int) -> torch.Tensor:
    """(vocab_size,) long: the bin 0..1023 of each `<loc>` token id, -1 for every other id."""
    lookup = torch.full((vocab_size,), -1, dtype=torch.long)
    for b, t in enumerate(LOC_TOKENS):
        lookup[tok.token_to_id(t)] = b
    return lookup


def loc_ids_by_bin(loc_lookup: torch.Tensor) -> torch.Tensor:
    """(1024,) long: the vocabulary id of bins 0..1023 (the inverse of `loc_lookup_table`)."""
    ids = (loc_lookup >= 0).nonzero()[:, 0]
    return ids[loc_lookup[ids].argsort()]


def jitter_locs(ids: torch.Tensor, types: torch.Tensor, loc_lookup: torch.Tensor, jitter: int,
                gen: torch.Generator | None = None) -> torch.Tensor:
    """A copy of `ids` whose suffix `<loc>` tokens (the model's own earlier output at inference) are
    moved by up to `jitter` bins, uniformly: the model learns to continue from slightly-off boxes of
    its own, as greedy decoding gives it. Targets are not touched."""
    bins = loc_lookup[ids]
    sel = (bins >= 0) & (types == 1)
    if jitter <= 0 or not bool(sel.any()):
        return ids
    shift = torch.randint(-jitter, jitter + 1, (int(sel.sum()),), generator=gen)
    out = ids.clone()
    out[sel] = loc_ids_by_bin(loc_lookup)[(bins[sel] + shift).clamp(0, LOC_BINS - 1)]
    return out


def compute_loss(model, pv, rows, owner, loc_lookup: torch.Tensor, loc_sigma: float,
                 aux_head=None, aux_weight: float = 0.0, patch_cls: torch.Tensor | None = None,
                 loc_jitter: int = 0, gen: torch.Generator | None = None):
    """Suffix cross-entropy; `<loc>` targets as a Gaussian over neighbouring bins; plus, with `aux_head`,
    the GIT trainer's training-only patch probe on the projected image tokens (`patch_cls`: (B, g*g));
    with `loc_jitter`, the input `<loc>` tokens are moved by a few bins (`jitter_locs`).
    Returns (loss, parts)."""
    cfg = model.config
    n_img = cfg.num_image_tokens
    ids, mask, types, labels = collate(rows, n_img, cfg.image_token_index, cfg.bos_token_id)
    ids = jitter_locs(ids, types, loc_lookup, loc_jitter, gen)
    image_embeds, _ = model.encode_image(pv)
    embeds = model.embed(ids, image_embeds[owner])
    ranks, valid = model.layout(ids, mask, types)
    pos = torch.arange(1, ids.shape[1] + 1).expand_as(ids)
    hidden, _ = model.model.language_model(embeds, pos, ranks, valid, None, False)
    target = labels[:, 1:]
    sel = target != -100
    logits = model.logits(hidden[:, :-1][sel]).float()  # (N, V)
    tgt = target[sel]
    logp = F.log_softmax(logits, -1)
    bins = loc_lookup[tgt]  # bin of a <loc> target, -1 otherwise
    nll = -logp.gather(1, tgt[:, None])[:, 0]
    is_loc = bins >= 0
    if bool(is_loc.any()) and loc_sigma > 0:
        nll = nll.clone()
        nll[is_loc] = smoothed_loc_nll(logp[is_loc][:, loc_ids_by_bin(loc_lookup)], bins[is_loc], loc_sigma)
    kinds = [k for _, _, k in rows]
    row_of = sel.nonzero()[:, 0]
    # one-word answers have 2 scored tokens against ~8 for a caption and ~15 for a detection:
    # weigh them up so that every prompt family gets a fair share of the gradient
    weight = torch.tensor([ANSWER_WEIGHT if k == "answer" else 1.0 for k in kinds])[row_of]
    loss = (nll * weight).sum() / weight.sum()
    parts = {"lm": float(nll.detach().mean())}
    per_row = torch.zeros(len(rows))
    per_row.index_add_(0, row_of, nll.detach())
    counts = torch.bincount(row_of, minlength=len(rows)).clamp(min=1)
    per_row = per_row / counts
    for k in sorted(set(kinds)):
        idx = [i for i, kk in enumerate(kinds) if kk == k]
        parts["lm_" + k] = float(per_row[idx].mean())
    if aux_head is not None and aux_weight > 0 and patch_cls is not None:
        grid = cfg.vision_config.image_size // cfg.vision_config.patch_size
        aux, parts["patch_acc"] = patch_loss(aux_head, image_embeds, patch_cls, grid, lead=0)
        loss = loss + aux_weight * aux
        parts["patch"] = float(aux.detach())
    return loss, parts


# ============================================================================ quick check / save
@torch.no_grad()
def quick_eval(model, tok, seed: int, size: int, n: int = 32) -> dict:
    from ..evaluate.paligemma import score_detection
    from ..generation import generate

    rng = np.random.default_rng([seed, 0x5EE])
    src = DataSource(tok, seed, size, 0.5, 0.0)
    src.rng = rng
    model.eval()
    scenes = [draw_scene(rng) for _ in range(n)]
    pv = src.pixels([s.image for s in scenes])
    res = {}
    found = n_true = extra = 0
    for kind in ("caption", "answer", "detect"):
        good = 0
        for i, sc in enumerate(scenes):
            prompt, want, _ = src.rows_for(sc)[("caption", "answer", "detect").index(kind)]
            ids = [model.config.image_token_index] * model.config.num_image_tokens + [2] + src.encode(prompt + "\n")
            out = generate(model, pixel_values=pv[i:i + 1], input_ids=torch.tensor([ids]), max_new_tokens=24)
            got = tok.decode(out[0, len(ids):].tolist(), skip_special_tokens=True).strip()
            good += got == want
            if kind == "detect":  # scored as the eval scores it: boxes by IoU, not the exact <loc> bins
                f, t, e = score_detection(got, prompt[len("detect "):], sc.objects)
                found, n_true, extra = found + f, n_true + t, extra + e
        res[kind if kind != "detect" else "detect_exact"] = round(good / n, 3)
    res["detect"] = round(found / max(n_true, 1), 3)
    res["detect_extra"] = round(extra / max(n_true, 1), 3)
    model.train()
    return res


def save_checkpoint(model, cfg_dict: dict, tok, folder: Path) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_weights(model, folder, skip=("lm_head.weight",))  # tied to the embedding, as the reference saves it
    write_json(folder, "config.json", cfg_dict)
    write_pg_tokenizer(folder, tok)
    v = cfg_dict["vision_config"]
    write_pg_preprocessor(folder, v["image_size"], (v["image_size"] // v["patch_size"]) ** 2)
    write_generation_config(folder, bos=2, eos=1, pad=0)


# ============================================================================ the family, for the shared loop
class PaliGemmaRun:
    """What `loop.run` needs of the PaliGemma family: model, probe head, one step's loss, quick check, save."""

    name = "paligemma-shapes"
    embed_key = "embed"  # parameters named so get no weight decay

    def __init__(self, args):
        from ..models.paligemma import PaliGemmaForConditionalGeneration
        from ..models.paligemma.config import PaliGemmaConfig

        self.args = args
        self.tok = build_tokenizer()
        self.cfg_dict = config_dict(args, self.tok)
        self.model = model = PaliGemmaForConditionalGeneration(PaliGemmaConfig.from_dict(self.cfg_dict))
        init_weights(model, self.tok, args.seed, args.position_std)
        if args.init:  # continue from an earlier run (same shapes): a second phase with a fresh schedule
            from ..io.checkpoint import load_state_dict

            state = {k: v.to(torch.float32).clone() for k, v in load_state_dict(args.init).items()}
            missing, unexpected = model.load_state_dict(state, strict=False)
            if unexpected or [k for k in missing if k != "lm_head.weight"]:
                raise SystemExit(f"--init {args.init}: missing {missing}, unexpected {unexpected}")
            model.tie_weights()
        self.grid = args.image_size // args.patch_size
        self.aux_head = probe_head(args.dim, self.grid, args.seed) if args.aux_weight > 0 else None  # not saved
        self.loc_lookup = loc_lookup_table(self.tok, model.config.vocab_size)
        self.data = DataSource(self.tok, args.seed, args.image_size, args.p_two, args.augment, args.detect_rows)
        self.jitter_gen = torch.Generator().manual_seed(args.seed + 17)  # its own stream: the data stream is unchanged

    def step(self, step: int) -> dict:
        """Draw this step's scenes, back-propagate their loss; returns the loss parts to log."""
        a = self.args
        pv, rows, owner, objects = self.data.batch(a.batch)
        patch_cls = (torch.from_numpy(np.stack([patch_classes(o, self.grid) for o in objects]))
                     if self.aux_head is not None else None)
        loss, parts = compute_loss(self.model, pv, rows, owner, self.loc_lookup, a.loc_sigma,
                                   self.aux_head, a.aux_weight, patch_cls, a.loc_jitter, self.jitter_gen)
        loss.backward()
        return parts

    def quick_eval(self) -> dict:
        return quick_eval(self.model, self.tok, self.args.seed, self.args.image_size)

    def save(self, folder: Path) -> None:
        save_checkpoint(self.model, self.cfg_dict, self.tok, folder)
