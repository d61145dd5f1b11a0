"""Training the embedded Shapes model: `python -m gitdemo train --out DIR [--steps N] ...`.

The recipe (see `training_report.md` in the model folder for the numbers of a run):

* Model: GIT with a CLIP ViT over 224 x 224 images cut into 32 x 32 patches (a 7 x 7 grid, so
  the app's images need no resize at all: the processor's bicubic resize is the identity), and a
  small BERT-style decoder. One checkpoint reads images and 6-frame videos
  (`num_image_with_embedding: 6`).
* Data: fresh scenes and clips every step from `gitdemo.shapes`, seeded. Each image is encoded
  once and decoded twice (its caption and one question), each clip likewise (caption + question):
  the vision tower's cost is shared by two texts. Two-object scenes are over-sampled, because
  relations and order are the hard part.
* What the model sees is what the app feeds it: PNG/MP4-like pixels (JPEG / chroma subsampling,
  slight blur, sub-pixel shifts, small colour shifts, extra noise) -> /255 -> CLIP normalisation,
  video frames picked with the app's index rule.
* Loss: the LM loss of GIT (captions: [CLS] caption [SEP]; questions: [CLS] question answer [SEP],
  loss on answer + [SEP] only) plus an attention-grounding term: when the decoder produces a
  colour or shape word, the app's default attention view (decoder attention of that step's
  query over the image patches, averaged over layers and heads, renormalised) should lie on
  the object the word names. This is what makes the demo's attention maps point at things.
* AdamW, linear warm-up then cosine decay, gradient clipping; float32 on the CPU.
"""
from __future__ import annotations

import argparse
import io
import json
import math
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageFilter

from . import shapes
from .config import GitConfig, GitVisionConfig

PAIRS = [(c, s) for c in shapes.COLOURS for s in shapes.SHAPES]  # patch classes 1.. (0: background)

# ============================================================================ vocabulary / tokenizer
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORLD_WORDS = [
    "a", "red", "green", "blue", "yellow", "circle", "square", "triangle", "left", "of", "above",
    "moving", "right", "up", "down", "what", "color", "is", "the", "shape", "object", "how", "many",
    "objects", "are", "there", "one", "two", "yes", "no", "where", "top", "bottom", "which", "way", "?",
]
EXTRA_WORDS = [".", ",", "!", "'", "an", "and", "below", "colour", "image", "picture", "video", "in", "it",
               "this", "of", "with"]
LETTERS = [chr(c) for c in range(ord("a"), ord("z") + 1)]


def build_vocab() -> list[str]:
    """[PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4, the world's words, a few extras, and single
    letters (plus ##letters) so any lower-case word still tokenizes into something other than [UNK]."""
    vocab: list[str] = []
    for w in SPECIAL + WORLD_WORDS + EXTRA_WORDS + LETTERS + ["##" + c for c in LETTERS] + [str(d) for d in range(10)]:
        if w not in vocab:
            vocab.append(w)
    return vocab


def make_tokenizer(vocab: list[str]):
    """A `tokenizers.Tokenizer` like BERT's (WordPiece, BertNormalizer lower-case, [CLS] $A [SEP])."""
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece

    ids = {w: i for i, w in enumerate(vocab)}
    tok = Tokenizer(WordPiece(ids, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                                lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", ids["[CLS]"]), ("[SEP]", ids["[SEP]"])])
    tok.decoder = decoders.WordPiece(prefix="##")
    return tok


def write_tokenizer(folder: Path, vocab: list[str]) -> None:
    folder = Path(folder)
    make_tokenizer(vocab).save(str(folder / "tokenizer.json"))
    (folder / "vocab.txt").write_text("".join(w + "\n" for w in vocab), encoding="utf-8")
    special = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
               "mask_token": "[MASK]"}
    (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n")
    tcfg = {"tokenizer_class": "BertTokenizer", "do_lower_case": True, "do_basic_tokenize": True,
            "tokenize_chinese_chars": True, "strip_accents": None, "model_max_length": 32,
            "model_input_names": ["input_ids", "attention_mask"], "processor_class": "GitProcessor",
            "clean_up_tokenization_spaces": True, **special}
    (folder / "tokenizer_config.json").write_text(json.dumps(tcfg, indent=2) + "\n")


CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def write_preprocessor(folder: Path, size: int) -> None:
    cfg = {"do_resize": True, "size": {"shortest_edge": size}, "resample": 3, "do_center_crop": True,
           "crop_size": {"height": size, "width": size}, "do_rescale": True, "rescale_factor": 1 / 255,
           "do_normalize": True, "image_mean": list(CLIP_MEAN), "image_std": list(CLIP_STD),
           "do_convert_rgb": True, "image_processor_type": "CLIPImageProcessor",
           "processor_class": "GitProcessor"}
    (Path(folder) / "preprocessor_config.json").write_text(json.dumps(cfg, indent=2) + "\n")


class TextCodec:
    """Encodes the world's texts with the tokenizer we ship (cached: the world has few distinct texts)."""

    def __init__(self, vocab: list[str]):
        self.vocab = vocab
        self.tok = make_tokenizer(vocab)
        self.ids = {w: i for i, w in enumerate(vocab)}
        self.cls, self.sep, self.pad = self.ids["[CLS]"], self.ids["[SEP]"], self.ids["[PAD]"]
        self._cache: dict[str, list[int]] = {}

    def words(self, text: str) -> list[int]:
        """Token ids of `text` without specials."""
        if text not in self._cache:
            self._cache[text] = self.tok.encode(text, add_special_tokens=False).ids
        return self._cache[text]

    def caption(self, text: str) -> tuple[list[int], int]:
        """[CLS] caption [SEP]; loss from position 1 on."""
        return [self.cls] + self.words(text) + [self.sep], 1

    def qa(self, question: str, answer: str) -> tuple[list[int], int]:
        """[CLS] question answer [SEP]; loss on answer + [SEP] only."""
        q = self.words(question)
        return [self.cls] + q + self.words(answer) + [self.sep], 1 + len(q)


# ============================================================================ the app's preprocessing, batched
FRAMES = 6
CLIP_FRAMES = shapes.N_FRAMES


def frame_indices(total: int = CLIP_FRAMES, num: int = FRAMES) -> list[int]:
    """The app's rule for picking `num` frames of a `total`-frame clip (gitdemo.video.read_frames)."""
    try:
        from .video import frame_indices as app_rule  # the app's own rule, when it exposes one
        return [int(i) for i in app_rule(total, num)]
    except Exception:  # noqa: BLE001 - fall back to segment centres
        return [int((i + 0.5) * total / num) for i in range(num)]


def _resize_like_processor(img: Image.Image, size: int) -> Image.Image:
    """CLIPImageProcessor: shortest edge -> size (bicubic), then centre crop size x size."""
    w, h = img.size
    if (w, h) != (size, size):
        short, long = (w, h) if w <= h else (h, w)
        new_long = int(size * long / short)
        new = (size, new_long) if w <= h else (new_long, size)
        img = img.resize(new, Image.BICUBIC)
        w, h = img.size
        left, top = (w - size) // 2, (h - size) // 2
        img = img.crop((left, top, left + size, top + size))
    return img


def pixels(images: list[Image.Image], size: int) -> torch.Tensor:
    """(B, 3, size, size) float32 exactly like the processor: resize/crop, /255, CLIP mean/std."""
    arr = np.stack([np.asarray(_resize_like_processor(im.convert("RGB"), size), dtype=np.uint8) for im in images])
    return normalise_uint8(torch.from_numpy(arr))


_MEAN = torch.tensor(CLIP_MEAN, dtype=torch.float32).view(1, 3, 1, 1)
_STD = torch.tensor(CLIP_STD, dtype=torch.float32).view(1, 3, 1, 1)


def normalise_uint8(arr: torch.Tensor, mean=_MEAN, std=_STD) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) normalised float32 (rescale then normalise, in float32).
    CLIP's mean/std by default (GIT); SigLIP (PaliGemma) passes 0.5 and 0.5."""
    # the processor rescales in float64 and casts, then normalises in float32: same here, bit for bit
    x = (arr.permute(0, 3, 1, 2).to(torch.float64) * (1 / 255)).to(torch.float32)
    return (x - mean) / std


# ============================================================================ augmentation (robustness)
def augment(img: Image.Image, rng: np.random.Generator, video_like: bool = False) -> np.ndarray:
    """Pixel changes another renderer or a codec could make, within the spec (uint8 HxWx3 out)."""
    if rng.random() < 0.25:  # sub-pixel shift: another rasteriser puts edges elsewhere
        dx, dy = rng.uniform(-0.7, 0.7, 2)
        img = img.transform(img.size, Image.AFFINE, (1, 0, dx, 0, 1, dy), resample=Image.BILINEAR)
    if rng.random() < 0.25:  # anti-aliasing / soft edges
        img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.2))))
    if rng.random() < (0.8 if video_like else 0.35):  # codec: JPEG 4:2:0 ~ H.264/VP9 yuv420p
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=int(rng.integers(40 if video_like else 55, 96)))
        buf.seek(0)
        img = Image.open(buf).convert("RGB")
    a = np.asarray(img, dtype=np.int16)
    if rng.random() < 0.3:  # small global colour / brightness shift
        a = a + rng.integers(-6, 7, 3).astype(np.int16)
    if rng.random() < 0.2:  # a different noise draw on top (per-pixel, maybe grey)
        sigma = rng.uniform(1, 4)
        n = rng.normal(0, sigma, a.shape[:2] + ((1,) if rng.random() < 0.5 else (3,)))
        a = a + np.rint(n).astype(np.int16)
    return np.clip(a, 0, 255).astype(np.uint8)


# ============================================================================ batches
@dataclass
class Batch:
    pixel_values: torch.Tensor  # (B, 3, S, S) or (B, F, 3, S, S)
    input_ids: torch.Tensor  # (2B, T): B captions, then B questions (same images, repeated)
    attention_mask: torch.Tensor
    labels: torch.Tensor
    ground: torch.Tensor  # (2B, T) bool: token t is a colour/shape word to ground
    cells: torch.Tensor  # (2B, T, F*g*g) bool: the cells of the object token t names
    kinds: list[str]  # task per text row
    patch_cls: torch.Tensor | None = None  # (B, F*g*g) long: 0 background, 1 + pair index of the object there


def _patch_classes(objects, grid: int, size: int = 224) -> np.ndarray:
    """g*g long: for each patch, 1 + the (colour, shape) pair index of the object whose box holds the
    patch centre, else 0 (the two boxes never overlap)."""
    c = size / grid
    centres = (np.arange(grid) + 0.5) * c
    out = np.zeros((grid, grid), np.int64)
    for o in objects:
        x0, y0, x1, y1 = o.box
        ys = (centres >= y0) & (centres < y1)
        xs = (centres >= x0) & (centres < x1)
        out[np.ix_(ys, xs)] = 1 + PAIRS.index((o.colour, o.shape))
    return out.reshape(-1)


def _cells_of_box(box, grid: int, size: int = 224) -> np.ndarray:
    """g*g bool: patch cells that overlap the box (x1/y1 exclusive) at the model's resolution."""
    x0, y0, x1, y1 = box
    c = size / grid
    m = np.zeros((grid, grid), bool)
    m[int(y0 // c): int(math.ceil(y1 / c)), int(x0 // c): int(math.ceil(x1 / c))] = True
    return m.reshape(-1)


class DataSource:
    """Fresh scenes and clips from gitdemo.shapes, seeded; texts through the shipped tokenizer."""

    def __init__(self, codec: TextCodec, seed: int, grid: int, size: int, p_two: float = 0.6,
                 augment_p: float = 1.0):
        self.codec = codec
        self.rng = np.random.default_rng([seed, 0x7A11])  # eval draws from [seed, 0xE7A1]: never the same
        self.grid, self.size = grid, size
        self.p_two = p_two
        self.augment_p = augment_p
        self.colour_ids = {codec.words(c)[0]: c for c in shapes.COLOURS}
        self.shape_ids = {codec.words(s)[0]: s for s in shapes.SHAPES}
        self.fidx = frame_indices()

    def _pix(self, img: Image.Image, video_like=False) -> np.ndarray:
        if self.rng.random() < self.augment_p:
            arr = augment(img, self.rng, video_like)
        else:
            arr = np.asarray(img, dtype=np.uint8)
        if arr.shape[:2] != (self.size, self.size):
            arr = np.asarray(_resize_like_processor(Image.fromarray(arr), self.size))
        return arr

    def _ground_rows(self, ids: list[int], start: int, objects, cell_sets) -> tuple[list[bool], list[np.ndarray]]:
        """Which tokens (from `start`) name an object's colour/shape, and that object's cells."""
        flags, cells = [], []
        empty = np.zeros_like(cell_sets[0])
        names = [(o.colour, o.shape) for o in objects]
        for t, tok in enumerate(ids):
            target = None
            if t >= start and (tok in self.colour_ids or tok in self.shape_ids):
                word_c, word_s = self.colour_ids.get(tok), self.shape_ids.get(tok)
                # the object this word names: in a caption "a C S", colour picks by the next token
                for k, (c, s) in enumerate(names):
                    if word_c is not None and c == word_c and (t + 1 >= len(ids) or self.shape_ids.get(ids[t + 1]) in (s, None)):
                        target = k
                    if word_s is not None and s == word_s and (t == 0 or self.colour_ids.get(ids[t - 1]) in (c, None)):
                        target = k
            flags.append(target is not None)
            cells.append(cell_sets[target] if target is not None else empty)
        return flags, cells

    def _qa_target(self, question: str, answer: str, objects) -> int | None:
        """The object a question's answer is about (for grounding the answer token), if one."""
        for k, o in enumerate(objects):
            if question in (f"what color is the {o.shape}?", f"what shape is the {o.colour} object?",
                            f"where is the {o.colour} {o.shape}?", "which way is the %s moving?" % o.shape,
                            "what color is the moving object?"):
                return k
            if question == f"is there a {o.colour} {o.shape}?":
                return k
        return None

    def images(self, n: int) -> Batch:
        rows, pix, kinds, meta = [], [], [], []
        for _ in range(n):
            sc = shapes.draw_scene(self.rng, 2 if self.rng.random() < self.p_two else 1)
            pix.append(self._pix(sc.image))
            cells = [_cells_of_box(o.box, self.grid, 224) for o in sc.objects]
            meta.append((sc, cells))
        for sc, cells in meta:  # captions
            ids, start = self.codec.caption(sc.caption)
            rows.append((ids, start, *self._ground_rows(ids, start, sc.objects, cells)))
            kinds.append("caption1" if len(sc.objects) == 1 else "caption2")
        for sc, cells in meta:  # one question each
            q, a = shapes.sample_question(self.rng, sc)
            ids, start = self.codec.qa(q, a)
            k = self._qa_target(q, a, sc.objects)
            flags = [False] * len(ids)
            cl = [np.zeros_like(cells[0])] * len(ids)
            if k is not None:
                flags[start] = True
                cl[start] = cells[k]
            rows.append((ids, start, flags, cl))
            kinds.append("question")
        pv = normalise_uint8(torch.from_numpy(np.stack(pix)))
        pc = torch.from_numpy(np.stack([_patch_classes(sc.objects, self.grid) for sc, _ in meta]))
        return self._collate(pv, rows, kinds, pc)

    def videos(self, n: int) -> Batch:
        rows, pix, kinds, meta = [], [], [], []
        for _ in range(n):
            clip = shapes.draw_video(self.rng, frame_indices=self.fidx)
            pix.append(np.stack([self._pix(f, video_like=True) for f in clip.frames]))
            cells = [np.concatenate([_cells_of_box(clip.boxes[i], self.grid, 224) for i in self.fidx])]
            meta.append((clip, cells))
        for clip, cells in meta:
            ids, start = self.codec.caption(clip.caption)
            rows.append((ids, start, *self._ground_rows(ids, start, [clip.object], cells)))
            kinds.append("video_caption")
        for clip, cells in meta:
            q, a = clip.questions[int(self.rng.integers(len(clip.questions)))]
            ids, start = self.codec.qa(q, a)
            flags = [False] * len(ids)
            cl = [np.zeros_like(cells[0])] * len(ids)
            rows.append((ids, start, flags, cl))
            kinds.append("video_question")
        arr = torch.from_numpy(np.stack(pix))  # (B, F, H, W, 3)
        b, f = arr.shape[:2]
        pv = normalise_uint8(arr.flatten(0, 1)).unflatten(0, (b, f))
        pc = torch.from_numpy(np.stack([np.concatenate([
            _patch_classes([replace(clip.object, box=clip.boxes[i])], self.grid) for i in self.fidx])
            for clip, _ in meta]))
        return self._collate(pv, rows, kinds, pc)

    def _collate(self, pv, rows, kinds, patch_cls=None) -> Batch:
        t = max(len(r[0]) for r in rows)
        nb = len(rows)
        ncell = rows[0][3][0].shape[0]
        ids = torch.zeros(nb, t, dtype=torch.long)
        mask = torch.zeros(nb, t, dtype=torch.long)
        labels = torch.full((nb, t), -100, dtype=torch.long)
        ground = torch.zeros(nb, t, dtype=torch.bool)
        cells = torch.zeros(nb, t, ncell, dtype=torch.bool)
        for i, (r, start, flags, cl) in enumerate(rows):
            L = len(r)
            ids[i, :L] = torch.tensor(r)
            mask[i, :L] = 1
            labels[i, start:L] = torch.tensor(r[start:])
            ground[i, :L] = torch.tensor(flags)
            cells[i, :L] = torch.from_numpy(np.stack(cl))
        return Batch(pv, ids, mask, labels, ground, cells, kinds, patch_cls)


# ============================================================================ loss
def patch_loss(head: torch.nn.Module, image_embeds: torch.Tensor, patch_cls: torch.Tensor, grid: int,
               lead: int = 1):
    """Training-only probe on the image tokens the decoder reads: each patch token must tell its own
    row and column and what covers it (background or which colour/shape pair).

    The head is not part of the checkpoint. It makes the vision side carry "where" explicitly, the
    way PaliGemma's detect task does; without it the first GIT runs never learned left/right/above.
    `lead`: tokens before each frame's grid that the probe skips (GIT's CLS: 1; SigLIP has none: 0).
    Returns (loss, accuracy of the row/column/content predictions)."""
    b, n, d = image_embeds.shape
    per_frame = lead + grid * grid
    frames = n // per_frame
    tok = image_embeds.view(b, frames, per_frame, d)[:, :, lead:].reshape(b, frames * grid * grid, d)
    out = head(tok)
    idx = torch.arange(grid * grid).repeat(frames)
    rows, cols = (idx // grid).expand(b, -1), (idx % grid).expand(b, -1)
    lr, lc, lk = out[..., :grid], out[..., grid:2 * grid], out[..., 2 * grid:]
    loss = (F.cross_entropy(lr.reshape(-1, grid), rows.reshape(-1))
            + F.cross_entropy(lc.reshape(-1, grid), cols.reshape(-1))
            + F.cross_entropy(lk.reshape(-1, lk.shape[-1]), patch_cls.reshape(-1)))
    with torch.no_grad():
        acc = ((lr.argmax(-1) == rows) & (lc.argmax(-1) == cols) & (lk.argmax(-1) == patch_cls)).float().mean()
    return loss, float(acc)


def probe_head(dim: int, grid: int, seed: int) -> torch.nn.Linear:
    """The patch probe's linear head (row, column, content logits), drawn reproducibly from `seed`."""
    head = torch.nn.Linear(dim, 2 * grid + 1 + len(PAIRS))
    with torch.no_grad():
        head.weight.copy_(torch.randn(head.weight.shape, generator=torch.Generator().manual_seed(seed + 3)) * 0.02)
        head.bias.zero_()
    return head


def compute_loss(model, batch: Batch, ground_weight: float, aux_head=None, aux_weight: float = 0.0,
                 question_weight: float = 1.0):
    """LM loss (per task) + attention grounding (+ the patch probe); returns (total, {name: value})."""
    image_embeds, _ = model.encode_image(batch.pixel_values)
    aux = None
    if aux_head is not None and aux_weight > 0 and batch.patch_cls is not None:
        aux = patch_loss(aux_head, image_embeds, batch.patch_cls, model.config.vision_config.grid)
    reps = batch.input_ids.shape[0] // image_embeds.shape[0]
    image_embeds = image_embeds.repeat(reps, 1, 1)
    want_att = ground_weight > 0 and bool(batch.ground.any())
    step, _, _ = model.prefill(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                               image_embeds=image_embeds, output_attentions=want_att)
    n = image_embeds.shape[1]
    logits = step.logits[:, n:-1]  # position i predicts token i + 1
    tgt = batch.labels[:, 1:]
    per_tok = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), tgt.reshape(-1), ignore_index=-100,
                              reduction="none").view(tgt.shape)
    valid = (tgt != -100).float()
    lm = (per_tok * valid).sum() / valid.sum().clamp(min=1)
    parts = {"lm": float(lm.detach())}
    kinds = np.array(batch.kinds)
    if question_weight != 1.0:  # an answer is 2 scored tokens against a caption's 4-8: give it more say
        w = torch.from_numpy(np.where(np.char.endswith(kinds.astype(str), "question"), question_weight, 1.0))
        wv = valid * w.to(valid.dtype)[:, None]
        lm = (per_tok * wv).sum() / wv.sum().clamp(min=1)
    for k in sorted(set(batch.kinds)):
        sel = torch.from_numpy(kinds == k)
        parts["lm_" + k] = float((per_tok[sel] * valid[sel]).detach().sum() / valid[sel].sum().clamp(min=1))
    total = lm  # (weighted; parts["lm"] stays the plain token mean)
    if want_att:
        # the app's default view: query of the step that produced token t is position t - 1
        att = torch.stack(step.attentions).mean(dim=(0, 2))  # (2B, L, L) averaged over layers and heads
        frames = batch.pixel_values.shape[1] if batch.pixel_values.ndim == 5 else 1
        per_frame = n // frames
        patch_cols = torch.cat([torch.arange(f * per_frame + 1, (f + 1) * per_frame) for f in range(frames)])
        q_att = att[:, n:-1][:, :, patch_cols]  # (2B, T-1, F*g*g) queries at text positions 0..T-2
        g = batch.ground[:, 1:]
        cells = batch.cells[:, 1:]
        sel_att = q_att[g]  # (M, C)
        sel_cells = cells[g].float()
        frac = (sel_att * sel_cells).sum(-1) / sel_att.sum(-1).clamp(min=1e-9)
        ground_loss = -torch.log(frac.clamp(min=1e-6)).mean()
        parts["ground"] = float(ground_loss.detach())
        parts["ground_frac"] = float(frac.detach().mean())
        total = total + ground_weight * ground_loss
    if aux is not None:
        total = total + aux_weight * aux[0]
        parts["patch"] = float(aux[0].detach())
        parts["patch_acc"] = aux[1]
    return total, parts


# ============================================================================ model / checkpoint
def make_config(args, vocab_size: int, ids: dict) -> GitConfig:
    vision = GitVisionConfig(hidden_size=args.vision_dim, intermediate_size=4 * args.vision_dim,
                             num_hidden_layers=args.vision_layers, num_attention_heads=max(1, args.vision_dim // 64),
                             image_size=args.image_size, patch_size=args.patch_size)
    return GitConfig(vision_config=vision, vocab_size=vocab_size, hidden_size=args.dim,
                     num_hidden_layers=args.layers, num_attention_heads=max(1, args.dim // 48),
                     intermediate_size=4 * args.dim, max_position_embeddings=64,
                     pad_token_id=ids["[PAD]"], bos_token_id=ids["[CLS]"], eos_token_id=ids["[SEP]"],
                     num_image_with_embedding=FRAMES)


def init_temporal(model, std: float, seed: int) -> None:
    """Frame embeddings big enough to matter next to the (layer-normed, ~unit) patch features.

    With the usual 0.02 the frames are nearly indistinguishable and the direction of motion is
    learned very late (a first run still said "moving left" for every clip after 1,400 steps).
    """
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for p in getattr(model.git, "img_temporal_embedding", []):
            p.copy_(torch.randn(p.shape, generator=gen) * std)


def init_weights(model, seed: int, temporal_std: float = 1.0, position_std: float = 0.02) -> None:
    """BERT/CLIP-style init: normal(0, 0.02) for linear/embedding weights, zeros for biases;
    temporal (frame) embeddings normal(0, temporal_std); vision patch positions normal(0, position_std).

    The patch projection of a normalised 32x32x3 patch has a std of about 1 at init, so positions
    at 0.02 are ~50x quieter than the contents and "where" is learned very late (first model)."""
    gen = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():
        with torch.no_grad():
            if name.endswith("LayerNorm.weight") or "layer_norm" in name and name.endswith("weight") \
                    or "layrnorm.weight" in name or "post_layernorm.weight" in name \
                    or (name.endswith(".weight") and p.ndim == 1):
                p.fill_(1.0)
            elif p.ndim == 1 and name.endswith("bias"):
                p.zero_()
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.02)
    if position_std != 0.02:
        gen_pos = torch.Generator().manual_seed(seed + 2)
        with torch.no_grad():
            w = model.git.image_encoder.vision_model.embeddings.position_embedding.weight
            w.copy_(torch.randn(w.shape, generator=gen_pos) * position_std)
    init_temporal(model, temporal_std, seed)


def write_weights(model, folder: Path, skip: tuple[str, ...] = ()) -> None:
    """model.safetensors (float32), written to a temporary file and moved into place."""
    from safetensors.torch import save_file

    sd = {k: v.detach().to(torch.float32).contiguous().clone() for k, v in model.state_dict().items() if k not in skip}
    tmp = Path(folder) / "model.safetensors.tmp"
    save_file(sd, str(tmp), metadata={"format": "pt"})
    os.chmod(tmp, 0o644)
    os.replace(tmp, Path(folder) / "model.safetensors")


def save_checkpoint(model, cfg: GitConfig, vocab: list[str], folder: Path) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_weights(model, folder)
    (folder / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
    write_tokenizer(folder, vocab)
    write_preprocessor(folder, cfg.vision_config.image_size)
    gen = {"bos_token_id": cfg.bos_token_id, "eos_token_id": cfg.eos_token_id, "pad_token_id": cfg.pad_token_id}
    (folder / "generation_config.json").write_text(json.dumps(gen, indent=2) + "\n")


# ============================================================================ quick in-training check
@torch.no_grad()
def greedy(model, pixel_values, prompts: list[list[int]], eos: int, max_new: int = 12) -> list[list[int]]:
    """Plain greedy decoding with the KV cache (prompts of equal length per call)."""
    ids = torch.tensor(prompts)
    cache = model.new_cache()
    step, _, _ = model.prefill(pixel_values=pixel_values, input_ids=ids, cache=cache, logits_for=slice(-1, None))
    out = [[] for _ in prompts]
    done = torch.zeros(len(prompts), dtype=torch.bool)
    nxt = step.logits[:, -1].argmax(-1)
    for _ in range(max_new):
        for i, t in enumerate(nxt.tolist()):
            if not done[i]:
                out[i].append(t)
        done |= nxt == eos
        if bool(done.all()):
            break
        step = model.step(nxt[:, None], cache)
        nxt = step.logits[:, -1].argmax(-1)
    return [[t for t in o if t != eos] for o in out]


def quick_eval(model, codec: TextCodec, seed: int, size: int, n: int = 48) -> dict:
    """Greedy caption accuracy on fresh clean scenes (1- and 2-object) and clips."""
    rng = np.random.default_rng([seed, 0x51DE])
    model.eval()
    res = {}
    for n_obj in (1, 2):
        scenes = [shapes.draw_scene(rng, n_obj) for _ in range(n)]
        pv = pixels([s.image for s in scenes], size)
        outs = greedy(model, pv, [[codec.cls]] * n, codec.sep)
        res[f"caption{n_obj}"] = float(np.mean([codec.tok.decode(o) == s.caption for o, s in zip(outs, scenes)]))
    clips = [shapes.draw_video(rng, frame_indices=frame_indices()) for _ in range(n // 3)]
    pv = torch.stack([pixels(c.frames, size) for c in clips])
    outs = greedy(model, pv, [[codec.cls]] * len(clips), codec.sep)
    res["video_caption"] = float(np.mean([codec.tok.decode(o) == c.caption for o, c in zip(outs, clips)]))
    model.train()
    return res


# ============================================================================ report
def write_report(folder: Path, log: dict) -> None:
    folder = Path(folder)
    (folder / "training_log.json").write_text(json.dumps(log, indent=1) + "\n")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        hist = log["history"]
        fig, axes = plt.subplots(1, 3, figsize=(15, 4))
        steps = [h["step"] for h in hist]
        keys = sorted({k for h in hist for k in h if k.startswith("lm_")})
        for k in ["lm"] + keys:
            vals = [(h["step"], h[k]) for h in hist if k in h]
            if vals:
                axes[0].plot(*zip(*vals), label=k, lw=1 if k != "lm" else 2)
        axes[0].set_yscale("log")
        axes[0].set_xlabel("step")
        axes[0].set_title("LM loss (per task)")
        axes[0].legend(fontsize=7)
        g = [(h["step"], h["ground_frac"]) for h in hist if "ground_frac" in h]
        if g:
            axes[1].plot(*zip(*g), color="C3")
        axes[1].set_ylim(0, 1)
        axes[1].set_title("attention mass on the named object")
        axes[1].set_xlabel("step")
        ev = log.get("evals", [])
        for k in ("caption1", "caption2", "video_caption"):
            vals = [(e["step"], e[k]) for e in ev if k in e]
            if vals:
                axes[2].plot(*zip(*vals), marker="o", label=k)
        axes[2].set_ylim(0, 1)
        axes[2].set_title("greedy caption accuracy (quick check)")
        axes[2].set_xlabel("step")
        if ev:
            axes[2].legend(fontsize=7)
        axes[0].set_xlim(0, max(steps) if steps else 1)
        fig.tight_layout()
        fig.savefig(folder / "training_curves.png", dpi=90)
        plt.close(fig)
    except Exception as exc:  # noqa: BLE001 - the report must not kill a finished training
        print(f"(no curves: {exc})", file=sys.stderr)
    a = log["args"]
    last = log["evals"][-1] if log.get("evals") else {}
    lines = [
        "# git-shapes: training report", "",
        f"- command: `python -m gitdemo train {' '.join(log['argv'])}`",
        f"- machine: {log['machine']}",
        f"- steps: {log['steps_done']}"
        + (f" (time budget {a['minutes']} min)" if a.get("minutes") and not a.get("replay") else f" of {a['steps']}")
        + f", wall time {log['seconds'] / 60:.1f} min "
        f"({log['steps_done'] / max(log['seconds'], 1e-9):.2f} steps/s)",
        f"- parameters: {log['parameters'] / 1e6:.2f} M; image {a['image_size']} px, patch {a['patch_size']} "
        f"({a['image_size'] // a['patch_size']}x{a['image_size'] // a['patch_size']} grid); vision {a['vision_layers']}x"
        f"{a['vision_dim']}, decoder {a['layers']}x{a['dim']}; {FRAMES} temporal embeddings",
        f"- per step: {a['batch']} images (caption + one question each); every {a['video_every']} step(s) "
        f"{a['video_batch']} clips (caption + one question each); two-object share {a['p_two']}; fresh scenes "
        f"every step, augmented (JPEG/chroma subsampling, blur, sub-pixel shifts, colour shifts, noise)",
        f"- AdamW lr {a['lr']} (warm-up {a['warmup']} steps, cosine to {a['min_lr_frac']}x), weight decay "
        f"{a['weight_decay']}, grad clip 1.0; grounding weight {a['ground_weight']}; "
        f"patch-probe weight {a.get('aux_weight', 0.0)}; answer-token weight {a.get('question_weight', 1.0)}; "
        f"seed {a['seed']}",
        *([f"- continued from the checkpoint in `{a['init']}` (temporal embeddings re-drawn: "
           f"{a.get('reinit_temporal')}, patch positions x{a.get('scale_positions')})"] if a.get("init") else []),
        f"- final quick check (greedy, clean scenes): {json.dumps(last)}",
        "", "![curves](training_curves.png)", "",
        "Full evaluation: `python -m gitdemo eval --model <this folder>` (see eval.md).", "",
    ]
    (folder / "training_report.md").write_text("\n".join(lines))


# ============================================================================ main
def add_shared_options(p, warmup: int, p_two: float, layers: int) -> None:
    """The options both trainers (GIT, PaliGemma) take: schedule, data mix, sizes, threads, logging."""
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--min-lr-frac", type=float, default=0.03)
    p.add_argument("--warmup", type=int, default=warmup)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--p-two", type=float, default=p_two, help="share of two-object scenes")
    p.add_argument("--augment", type=float, default=1.0, help="probability an input gets augmented at all")
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--patch-size", type=int, default=32)
    p.add_argument("--vision-dim", type=int, default=192)
    p.add_argument("--vision-layers", type=int, default=4)
    p.add_argument("--dim", type=int, default=192)
    p.add_argument("--layers", type=int, default=layers)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--log-every", type=int, default=25)
    p.add_argument("--aux-weight", type=float, default=0.0,
                   help="weight of the training-only patch probe (each image token: its row, column and "
                        "which object covers it); not saved in the checkpoint")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m gitdemo train", description="Train the embedded Shapes GIT "
                                "(--arch paligemma: the embedded PaliGemma, see `train --arch paligemma --help`).")
    p.add_argument("--arch", default="git", choices=["git", "paligemma"], help="which model family to train")
    p.add_argument("--out", required=True, help="model folder to write (Hugging Face layout)")
    p.add_argument("--steps", type=int, default=4000)
    p.add_argument("--minutes", type=float, default=None,
                   help="time budget: the LR decays over this wall time and training stops when it is spent "
                        "(at most --steps); the schedule actually used is saved (progress_trace) for --replay")
    p.add_argument("--replay", default=None, metavar="training_log.json",
                   help="re-run a time-budgeted training exactly: same steps, same LR at every step")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--init", default=None, metavar="DIR", help="start from this checkpoint's weights (same shapes)")
    p.add_argument("--temporal-std", type=float, default=1.0, help="init std of the frame embeddings")
    p.add_argument("--position-std", type=float, default=0.02,
                   help="init std of the vision patch position embeddings (from scratch); ~1 matches the patch contents")
    p.add_argument("--scale-positions", type=float, default=1.0,
                   help="with --init: multiply the vision patch position embeddings by this")
    p.add_argument("--reinit-temporal", action="store_true", help="with --init: draw the frame embeddings afresh")
    p.add_argument("--batch", type=int, default=32, help="images per step")
    p.add_argument("--video-batch", type=int, default=4, help="clips per step")
    p.add_argument("--video-every", type=int, default=1, help="add a clip batch every N steps")
    p.add_argument("--ground-weight", type=float, default=0.3)
    p.add_argument("--question-weight", type=float, default=1.0,
                   help="weight of each answer token against a caption token (answers are short)")
    add_shared_options(p, warmup=200, p_two=0.6, layers=3)
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--save-every", type=int, default=500)
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def lr_at(step: int, args, progress: float | None = None) -> float:
    """Linear warm-up over `warmup` steps, then cosine decay to min_lr_frac x lr.

    `progress` in [0, 1] (time-budgeted runs) replaces step / steps for the decay.
    """
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    t = (step - args.warmup) / max(1, args.steps - args.warmup) if progress is None else progress
    return args.lr * (args.min_lr_frac + (1 - args.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


def _progress(step: int, elapsed: float, args, start: float | None) -> float | None:
    """Decay progress of a time-budgeted run (`--minutes`): the share of the budget used since warm-up."""
    if not args.minutes or start is None:
        return None
    return min(1.0, max(0.0, (elapsed - start) / max(1.0, args.minutes * 60 - start)))


def train(args, argv=()) -> dict:
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    vocab = build_vocab()
    codec = TextCodec(vocab)
    from .models.git import GitForCausalLM

    cfg = make_config(args, len(vocab), codec.ids)
    model = GitForCausalLM(cfg)
    init_weights(model, args.seed, args.temporal_std, getattr(args, "position_std", 0.02))
    if args.init:  # continue from an earlier checkpoint (same shape): a second, shorter phase
        from .weights import load_state_dict, rename_keys

        state = rename_keys(load_state_dict(args.init))
        model.load_state_dict({k: v.to(torch.float32).clone() for k, v in state.items()}, strict=True)
        if args.reinit_temporal:
            init_temporal(model, args.temporal_std, args.seed)
        if args.scale_positions != 1.0:  # louder patch positions next to the patch contents
            with torch.no_grad():
                model.git.image_encoder.vision_model.embeddings.position_embedding.weight[1:] *= args.scale_positions
    model.train()
    aux_head = probe_head(cfg.hidden_size, cfg.vision_config.grid, args.seed) if args.aux_weight > 0 else None
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embedding" not in n)]
    if aux_head is not None:
        decay.append(aux_head.weight)
        no_decay.append(aux_head.bias)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.98))
    data = DataSource(codec, args.seed, cfg.vision_config.grid, cfg.vision_config.image_size, args.p_two, args.augment)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    n_params = sum(p.numel() for p in model.parameters())
    log = {"argv": list(argv), "args": vars(args), "parameters": n_params, "history": [], "evals": [],
           "machine": f"{os.cpu_count()} CPU cores ({_cpu_name()}), torch {torch.__version__}, "
                      f"{args.threads} threads, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}, float32"}
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    say(f"training {n_params / 1e6:.2f} M parameters for {args.steps} steps -> {out}")
    t0 = time.time()
    acc: dict[str, list[float]] = {}
    step = 0
    replay = None
    if args.replay:  # the exact schedule of an earlier time-budgeted run: bit-for-bit the same training
        replay = json.loads(Path(args.replay).read_text())["progress_trace"]
        args.steps = len(replay)
    warm_end = None  # seconds at the end of warm-up (time-budgeted runs decay over the rest)
    trace: list = []
    log["progress_trace"] = trace
    for step in range(args.steps):
        el = time.time() - t0
        if step == args.warmup:
            warm_end = el
        prog = replay[step] if replay else _progress(step, el, args, warm_end)
        trace.append(prog)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, args, prog)
        batches = [data.images(args.batch)]
        if args.video_batch and step % args.video_every == 0:
            batches.append(data.videos(args.video_batch))
        opt.zero_grad(set_to_none=True)
        parts_all = {}
        for b in batches:
            loss, parts = compute_loss(model, b, args.ground_weight, aux_head, args.aux_weight,
                                       args.question_weight)
            (loss * (1.0 if b.pixel_values.ndim == 4 else 0.5)).backward()
            for k, v in parts.items():
                parts_all[k if b.pixel_values.ndim == 4 or k.startswith("lm_") else "v" + k] = v
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        for k, v in parts_all.items():
            acc.setdefault(k, []).append(v)
        done = step + 1
        if done % args.log_every == 0 or done == args.steps:
            el = time.time() - t0
            rate = done / el
            rec = {"step": done, "seconds": round(el, 1), "lr": opt.param_groups[0]["lr"],
                   **{k: float(np.mean(v)) for k, v in acc.items()}}
            log["history"].append(rec)
            acc = {}
            left = (args.steps - done) / rate
            if args.minutes:
                left = min(left, args.minutes * 60 - el)
            say(f"step {done:5d}/{args.steps}  loss {rec['lm']:.4f}  "
                + " ".join(f"{k[3:]} {rec[k]:.3f}" for k in sorted(rec) if k.startswith("lm_"))
                + (f"  ground {rec['ground_frac']:.2f}" if "ground_frac" in rec else "")
                + (f"  patch {rec['patch_acc']:.2f}" if "patch_acc" in rec else "")
                + f"  lr {rec['lr']:.2e}  {rate:.2f} steps/s  {el / 60:.1f} min, ~{max(left, 0) / 60:.1f} min left")
        if args.eval_every and (done % args.eval_every == 0 or done == args.steps):
            ev = {"step": done, **quick_eval(model, codec, args.seed, cfg.vision_config.image_size)}
            log["evals"].append(ev)
            say(f"  quick check @ {done}: {json.dumps(ev)}")
        if args.save_every and done % args.save_every == 0 and done != args.steps:
            _finish(model, cfg, vocab, out, log, done, time.time() - t0)
        if args.minutes and not replay and time.time() - t0 > args.minutes * 60:
            say(f"time budget of {args.minutes} min reached at step {done}")
            break
    seconds = time.time() - t0
    _finish(model, cfg, vocab, out, log, step + 1, seconds)
    say(f"done: {step + 1} steps in {seconds / 60:.1f} min; checkpoint in {out}")
    return log


def _finish(model, cfg, vocab, out, log, steps_done, seconds):
    log["steps_done"] = steps_done
    log["seconds"] = seconds
    model.eval()
    save_checkpoint(model, cfg, vocab, out)
    write_report(out, log)
    model.train()


def _cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a == "--arch=paligemma" or a == "paligemma" and argv[i - 1] == "--arch" for i, a in enumerate(argv)):
        from .train_paligemma import main as train_paligemma

        return train_paligemma(argv)  # the embedded PaliGemma (its own options: --arch paligemma --help)
    args = parse_args(argv)
    train(args, argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
