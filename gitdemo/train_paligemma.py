"""Train the embedded Shapes PaliGemma: `python -m gitdemo train --arch paligemma --out DIR ...`.

A small model of PaliGemma's architecture (SigLIP-style ViT, linear projector, Gemma decoder with
the prefix-LM mask) learns the three prompt families of SHAPES_WORLD.md, *PaliGemma prompts*:

    caption en                 -> "a red circle left of a blue square"
    answer en {question}       -> "left"
    detect {label}             -> "<loc0012><loc0034><loc0100><loc0123> red circle ; ..."  ("" when none)

Every step draws fresh scenes (gitdemo.shapes), augmented as for the GIT model (train.augment);
each image is encoded once and serves one row per prompt family. The loss is the reference's
(next-token cross-entropy over the suffix), except at `<loc>` targets: there the loss is -log of the probability
mass near the true bin, weighted by a narrow Gaussian (`--loc-sigma` bins; `smoothed_loc_nll`):
a box 3 bins off is nearly as good as the exact one, and the loss says so. The `<loc>` embeddings (tied with the output head) start on a smooth
curve (low-frequency sinusoids of the bin index) so that neighbouring bins start out similar.

Written in the Hugging Face layout (config.json model_type "paligemma", the reference's key
names, tokenizer.json with PaliGemma's special tokens, preprocessor_config.json).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import shapes
from .paligemma_processing import LOC_TOKENS, SEG_TOKENS
from .train import (_cpu_name, _patch_classes, _progress, add_shared_options, augment, lr_at, normalise_uint8,
                    patch_loss, probe_head, write_weights)

SPECIAL = ["<pad>", "<eos>", "<bos>", "<unk>"]  # ids 0..3, in Gemma's order
IMAGE_TOKEN = "<image>"
LOC_BINS = 1024
ANSWER_WEIGHT = 3.0
SIGLIP_MEAN = SIGLIP_STD = (0.5, 0.5, 0.5)


# ============================================================================ the world's PaliGemma prompts
def loc_token(coord: float, size: int = shapes.IMAGE_SIZE) -> str:
    """`<locNNNN>` of one box coordinate: round(coordinate / 224 * 1023), clipped to 0..1023."""
    return f"<loc{min(max(int(round(coord / size * (LOC_BINS - 1))), 0), LOC_BINS - 1):04d}>"


def detect_label_matches(label: str, obj) -> bool:
    words = label.split()
    if len(words) == 2:
        return words[0] == obj.colour and words[1] == obj.shape
    return words[0] in (obj.colour, obj.shape)


def detect_answer(label: str, objects) -> str:
    """The spec's answer to `detect {label}`: one entry per matching object, left to right (then
    top to bottom), `<ymin><xmin><ymax><xmax> label`, joined by " ; "; "" when nothing matches."""
    hits = sorted((o for o in objects if detect_label_matches(label, o)), key=lambda o: (o.box[0], o.box[1]))
    parts = []
    for o in hits:
        x0, y0, x1, y1 = o.box
        parts.append(f"{loc_token(y0)}{loc_token(x0)}{loc_token(y1)}{loc_token(x1)} {label}")
    return " ; ".join(parts)


def detect_labels() -> list[str]:
    return ([s for s in shapes.SHAPES] + [c for c in shapes.COLOURS]
            + [f"{c} {s}" for c in shapes.COLOURS for s in shapes.SHAPES])


def sample_detect(rng: np.random.Generator, objects, p_absent: float = 0.15) -> str:
    """A detect label: usually about an object in the scene (its colour, shape or both), sometimes
    one that matches nothing."""
    if rng.random() < p_absent:
        absent = [lab for lab in detect_labels() if not any(detect_label_matches(lab, o) for o in objects)]
        return absent[int(rng.integers(len(absent)))]
    o = objects[int(rng.integers(len(objects)))]
    return [o.shape, o.colour, f"{o.colour} {o.shape}"][int(rng.integers(3))]


def corpus() -> list[str]:
    """Every prompt and answer word sequence the world has (the tokenizer's training text)."""
    texts = ["caption en", "answer en", "detect"]
    for c in shapes.COLOURS:
        for s in shapes.SHAPES:
            texts += [f"a {c} {s}", f"is there a {c} {s}?", f"where is the {c} {s}?", f"detect {c} {s}",
                      f"a {c} {s} left of a {c} {s}", f"a {c} {s} above a {c} {s}", f"a {c} {s} moving left",
                      f"<loc0001> {c} {s} ; <loc0002> {c} {s}"]
        texts += [f"what shape is the {c} object?", f"detect {c}", f"<loc0001> {c} ; <loc0002> {c}"]
    for s in shapes.SHAPES:
        texts += [f"what color is the {s}?", f"detect {s}", f"<loc0001> {s} ; <loc0002> {s}",
                  f"which way is the {s} moving?"]
    texts += ["how many objects are there?", "one", "two", "yes", "no", "left", "right", "top", "bottom",
              "up", "down", "what color is the moving object?", "caption en\n", "answer en what\n",
              "describe en", "segment", "question en", "ocr"]
    return texts


def build_tokenizer():
    """A Gemma-shaped tokenizer (spaces as "▁", BPE, <pad>=0 <eos>=1 <bos>=2 <unk>=3), trained on the
    world's text with every letter and digit in its alphabet (any typed word still tokenizes), plus
    `<image>` (special) and the 1024 `<loc>` and 128 `<seg>` tokens (content)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.Replace(" ", "▁")
    tok.pre_tokenizer = pre_tokenizers.Split("▁", behavior="merged_with_next")
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.Fuse()])
    alphabet = sorted(set("abcdefghijklmnopqrstuvwxyz0123456789<>?;.,!'-_:\n▁ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    text = [t.replace("<loc0001>", "").replace("<loc0002>", "") for t in corpus()]
    tok.train_from_iterator(text * 8, trainers.BpeTrainer(vocab_size=320, initial_alphabet=alphabet,
                                                          special_tokens=SPECIAL, show_progress=False))
    tok.add_special_tokens([AddedToken(IMAGE_TOKEN, special=True, normalized=False)])
    tok.add_tokens([AddedToken(t, normalized=False) for t in LOC_TOKENS + SEG_TOKENS])
    return tok


def write_tokenizer(folder: Path, tok) -> None:
    tok.save(str(Path(folder) / "tokenizer.json"))
    special = {"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>", "unk_token": "<unk>",
               "additional_special_tokens": [IMAGE_TOKEN]}
    (Path(folder) / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n")
    cfg = {"tokenizer_class": "PreTrainedTokenizerFast", "processor_class": "PaliGemmaProcessor",
           "padding_side": "left", "model_max_length": 256, "clean_up_tokenization_spaces": False, **special}
    (Path(folder) / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2) + "\n")


def write_preprocessor(folder: Path, size: int, n_image_tokens: int) -> None:
    cfg = {"do_normalize": True, "do_rescale": True, "do_resize": True, "do_convert_rgb": True,
           "image_mean": list(SIGLIP_MEAN), "image_std": list(SIGLIP_STD), "image_processor_type": "SiglipImageProcessor",
           "image_seq_length": n_image_tokens, "processor_class": "PaliGemmaProcessor", "resample": 3,
           "rescale_factor": 1 / 255, "size": {"height": size, "width": size}}
    (Path(folder) / "preprocessor_config.json").write_text(json.dumps(cfg, indent=2) + "\n")


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
        q, a = shapes.sample_question(self.rng, scene)
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
        scenes = [shapes.draw_scene(self.rng, 2 if self.rng.random() < self.p_two else 1) for _ in range(n)]
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
    from .evaluate_paligemma import score_detection
    from .generation import generate

    rng = np.random.default_rng([seed, 0x5EE])
    src = DataSource(tok, seed, size, 0.5, 0.0)
    src.rng = rng
    model.eval()
    scenes = [shapes.draw_scene(rng) for _ in range(n)]
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
    (folder / "config.json").write_text(json.dumps(cfg_dict, indent=2) + "\n")
    write_tokenizer(folder, tok)
    v = cfg_dict["vision_config"]
    write_preprocessor(folder, v["image_size"], (v["image_size"] // v["patch_size"]) ** 2)
    gen = {"bos_token_id": 2, "eos_token_id": 1, "pad_token_id": 0}
    (folder / "generation_config.json").write_text(json.dumps(gen, indent=2) + "\n")


def write_report(folder: Path, log: dict) -> None:
    hist = log["history"]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
        steps = [h["step"] for h in hist]
        for k in sorted({k for h in hist for k in h if k.startswith("lm_")}):
            axes[0].plot(steps, [h.get(k, float("nan")) for h in hist], label=k[3:])
        axes[0].set_yscale("log")
        axes[0].set_title("training loss (suffix tokens)")
        axes[0].set_xlabel("step")
        axes[0].legend(fontsize=7)
        for k in ("caption", "answer", "detect"):
            vals = [(e["step"], e[k]) for e in log["evals"] if k in e]
            if vals:
                axes[1].plot(*zip(*vals), marker="o", label=k)
        axes[1].set_ylim(0, 1)
        axes[1].set_title("quick check (exact match; detect: found, IoU >= 0.5)", fontsize=9)
        axes[1].set_xlabel("step")
        axes[1].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(folder / "training_curves.png", dpi=90)
        plt.close(fig)
    except Exception as exc:  # noqa: BLE001 - the report must not kill a finished training
        print(f"(no curves: {exc})", file=sys.stderr)
    a = log["args"]
    last = log["evals"][-1] if log.get("evals") else {}
    lines = [
        "# paligemma-shapes: training report", "",
        f"- command: `python -m gitdemo train {' '.join(log['argv'])}`",
        f"- machine: {log['machine']}",
        f"- steps: {log['steps_done']}, wall time {log['seconds'] / 60:.1f} min "
        f"({log['steps_done'] / max(log['seconds'], 1e-9):.2f} steps/s)",
        f"- parameters: {log['parameters'] / 1e6:.2f} M; image {a['image_size']} px, patch {a['patch_size']} "
        f"({a['image_size'] // a['patch_size']}x{a['image_size'] // a['patch_size']} image tokens); SigLIP-style vision "
        f"{a['vision_layers']}x{a['vision_dim']}, Gemma decoder {a['layers']}x{a['dim']} ({a['kv_heads']} key/value "
        f"head(s)), tied embeddings",
        f"- per step: {a['batch']} fresh augmented scenes (two-object share {a['p_two']}), each with rows "
        f"`caption en`, `answer en <question>` and {a.get('detect_rows', 1)} x `detect <label>` (distinct labels; "
        f"15% of labels match nothing)",
        f"- AdamW lr {a['lr']} (warm-up {a['warmup']} steps, cosine to {a['min_lr_frac']}x), weight decay "
        f"{a['weight_decay']}, grad clip 1.0; <loc> loss: -log of the mass near the true bin (Gaussian weights, sigma {a['loc_sigma']}); seed {a['seed']}",
        *([f"- training-only patch probe on the projected image tokens (row, column, covering object), weight "
           f"{a['aux_weight']}; its head is not saved"] if a.get("aux_weight") else []),
        *([f"- continued from the checkpoint in `{a['init']}` (a second phase: warm-up and decay again)"]
          if a.get("init") else []),
        f"- final quick check (32 clean scenes; captions and answers exact match, detect: objects found with "
        f"IoU >= 0.5 and extra boxes, per true object): {json.dumps(last)}",
        "", "![curves](training_curves.png)", "",
        "Full evaluation: `python -m gitdemo eval --model <this folder>` (see eval.md).", "",
    ]
    (folder / "training_report.md").write_text("\n".join(lines))


# ============================================================================ main
def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m gitdemo train --arch paligemma",
                                description="Train the embedded Shapes PaliGemma.")
    p.add_argument("--arch", default="paligemma", choices=["paligemma"])
    p.add_argument("--out", required=True, help="model folder to write (Hugging Face layout)")
    p.add_argument("--steps", type=int, default=100000)
    p.add_argument("--minutes", type=float, default=60.0, help="time budget (the LR decays over it)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--init", default=None, metavar="DIR", help="start from this checkpoint's weights (same shapes)")
    p.add_argument("--batch", type=int, default=32, help="scenes per step (caption, answer and --detect-rows detect rows each)")
    add_shared_options(p, warmup=150, p_two=0.65, layers=4)
    p.add_argument("--loc-sigma", type=float, default=6.0, help="Gaussian width (in bins) of <loc> targets")
    p.add_argument("--position-std", type=float, default=1.0, help="init std of the patch position embeddings")
    p.add_argument("--kv-heads", type=int, default=1)
    p.add_argument("--detect-rows", type=int, default=1, help="detect prompts per scene (distinct labels)")
    p.add_argument("--loc-jitter", type=int, default=0,
                   help="move each input <loc> token of a detect answer by up to this many bins (targets "
                        "unchanged): practice in continuing from the model's own slightly-off boxes")
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--save-every", type=int, default=300)
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def train(args, argv=()) -> dict:
    from .models.paligemma import PaliGemmaForConditionalGeneration
    from .models.paligemma_config import PaliGemmaConfig

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    tok = build_tokenizer()
    cfg_dict = config_dict(args, tok)
    model = PaliGemmaForConditionalGeneration(PaliGemmaConfig.from_dict(cfg_dict))
    init_weights(model, tok, args.seed, args.position_std)
    if args.init:  # continue from an earlier run (same shapes): a second phase with a fresh schedule
        from .weights import load_state_dict

        state = {k: v.to(torch.float32).clone() for k, v in load_state_dict(args.init).items()}
        missing, unexpected = model.load_state_dict(state, strict=False)
        if unexpected or [k for k in missing if k != "lm_head.weight"]:
            raise SystemExit(f"--init {args.init}: missing {missing}, unexpected {unexpected}")
        model.tie_weights()
    model.train()
    named = [(n, p) for n, p in model.named_parameters()]
    decay = [p for n, p in named if p.ndim >= 2 and "embed" not in n]
    no_decay = [p for n, p in named if not (p.ndim >= 2 and "embed" not in n)]
    grid = args.image_size // args.patch_size
    aux_head = probe_head(args.dim, grid, args.seed) if args.aux_weight > 0 else None  # not saved
    if aux_head is not None:
        decay.append(aux_head.weight)
        no_decay.append(aux_head.bias)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.98))
    loc_lookup = loc_lookup_table(tok, model.config.vocab_size)
    data = DataSource(tok, args.seed, args.image_size, args.p_two, args.augment, args.detect_rows)
    jitter_gen = torch.Generator().manual_seed(args.seed + 17)  # its own stream: the data stream is unchanged
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    n_params = sum(p.numel() for p in model.parameters())
    log = {"argv": list(argv), "args": vars(args), "parameters": n_params, "history": [], "evals": [],
           "machine": f"{os.cpu_count()} CPU cores ({_cpu_name()}), torch {torch.__version__}, "
                      f"{args.threads} threads, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}, float32"}
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    say(f"training {n_params / 1e6:.2f} M parameters (PaliGemma architecture) -> {out}")
    t0 = time.time()
    acc: dict[str, list[float]] = {}
    warm_end = None
    step = 0
    for step in range(args.steps):
        el = time.time() - t0
        if step == args.warmup:
            warm_end = el
        prog = _progress(step, el, args, warm_end)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, args, prog)
        pv, rows, owner, objects = data.batch(args.batch)
        patch_cls = (torch.from_numpy(np.stack([_patch_classes(o, grid) for o in objects]))
                     if aux_head is not None else None)
        opt.zero_grad(set_to_none=True)
        loss, parts = compute_loss(model, pv, rows, owner, loc_lookup, args.loc_sigma,
                                   aux_head, args.aux_weight, patch_cls, args.loc_jitter, jitter_gen)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        for k, v in parts.items():
            acc.setdefault(k, []).append(v)
        done = step + 1
        if done % args.log_every == 0:
            el = time.time() - t0
            rec = {"step": done, "seconds": round(el, 1), "lr": opt.param_groups[0]["lr"],
                   **{k: float(np.mean(v)) for k, v in acc.items()}}
            log["history"].append(rec)
            acc = {}
            left = args.minutes * 60 - el if args.minutes else (args.steps - done) / (done / el)
            say(f"step {done:5d}  loss {rec['lm']:.4f}  "
                + " ".join(f"{k[3:]} {rec[k]:.3f}" for k in sorted(rec) if k.startswith("lm_"))
                + (f"  probe {rec['patch_acc']:.3f}" if "patch_acc" in rec else "")
                + f"  lr {rec['lr']:.2e}  {done / el:.2f} steps/s  {el / 60:.1f} min, ~{max(left, 0) / 60:.1f} min left")
        if args.eval_every and done % args.eval_every == 0:
            ev = {"step": done, **quick_eval(model, tok, args.seed, args.image_size)}
            log["evals"].append(ev)
            say(f"  quick check @ {done}: {json.dumps(ev)}")
        if args.save_every and done % args.save_every == 0:
            _finish(model, cfg_dict, tok, out, log, done, time.time() - t0)
        if args.minutes and time.time() - t0 > args.minutes * 60:
            say(f"time budget of {args.minutes} min reached at step {done}")
            break
    seconds = time.time() - t0
    ev = {"step": step + 1, **quick_eval(model, tok, args.seed, args.image_size)}
    log["evals"].append(ev)
    _finish(model, cfg_dict, tok, out, log, step + 1, seconds)
    say(f"done: {step + 1} steps in {seconds / 60:.1f} min; quick check {json.dumps(ev)}; checkpoint in {out}")
    return log


def _finish(model, cfg_dict, tok, out, log, steps_done, seconds):
    log["steps_done"] = steps_done
    log["seconds"] = seconds
    save_checkpoint(model, cfg_dict, tok, out)
    (out / "training_log.json").write_text(json.dumps(log) + "\n")
    write_report(out, log)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    train(parse_args(argv), argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
