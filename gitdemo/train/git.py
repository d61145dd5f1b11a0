"""The GIT family of the trainer: data, loss, model and quick check of the embedded Shapes GIT.

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
  video frames picked with the app's index rule (`images.py`).
* Loss: the LM loss of GIT (captions: [CLS] caption [SEP]; questions: [CLS] question answer [SEP],
  loss on answer + [SEP] only) plus an attention-grounding term: when the decoder produces a
  colour or shape word, the app's default attention view (decoder attention of that step's
  query over the image patches, averaged over layers and heads, renormalised) should lie on
  the object the word names. This is what makes the demo's attention maps point at things.

The loop, optimiser and schedule are shared with PaliGemma (`loop.py`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .. import shapes
from ..models.git.config import GitConfig, GitVisionConfig
from .checkpoint import write_generation_config, write_weights
from .images import FRAMES, augment, frame_indices, normalise_uint8, pixels, resize_like_processor
from .probe import cells_of_box, patch_classes, patch_loss, probe_head
from .tokenizers import build_vocab, make_tokenizer, write_json, write_preprocessor, write_tokenizer


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
            arr = np.asarray(resize_like_processor(Image.fromarray(arr), self.size))
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
            cells = [cells_of_box(o.box, self.grid, 224) for o in sc.objects]
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
        pc = torch.from_numpy(np.stack([patch_classes(sc.objects, self.grid) for sc, _ in meta]))
        return self._collate(pv, rows, kinds, pc)

    def videos(self, n: int) -> Batch:
        rows, pix, kinds, meta = [], [], [], []
        for _ in range(n):
            clip = shapes.draw_video(self.rng, frame_indices=self.fidx)
            pix.append(np.stack([self._pix(f, video_like=True) for f in clip.frames]))
            cells = [np.concatenate([cells_of_box(clip.boxes[i], self.grid, 224) for i in self.fidx])]
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
            patch_classes([replace(clip.object, box=clip.boxes[i])], self.grid) for i in self.fidx])
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


def save_checkpoint(model, cfg: GitConfig, vocab: list[str], folder: Path) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_weights(model, folder)
    write_json(folder, "config.json", cfg.to_dict())
    write_tokenizer(folder, vocab)
    write_preprocessor(folder, cfg.vision_config.image_size)
    write_generation_config(folder, cfg.bos_token_id, cfg.eos_token_id, cfg.pad_token_id)


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


# ============================================================================ the family, for the shared loop
class GitRun:
    """What `loop.run` needs of the GIT family: model, probe head, one step's loss, quick check, save."""

    name = "git-shapes"
    embed_key = "embedding"  # parameters named so get no weight decay

    def __init__(self, args):
        self.args = args
        self.vocab = build_vocab()
        self.codec = TextCodec(self.vocab)
        from ..models.git import GitForCausalLM

        self.cfg = make_config(args, len(self.vocab), self.codec.ids)
        self.model = GitForCausalLM(self.cfg)
        init_weights(self.model, args.seed, args.temporal_std, getattr(args, "position_std", 0.02))
        if args.init:  # continue from an earlier checkpoint (same shape): a second, shorter phase
            from ..io.checkpoint import load_state_dict, rename_keys

            state = rename_keys(load_state_dict(args.init))
            self.model.load_state_dict({k: v.to(torch.float32).clone() for k, v in state.items()}, strict=True)
            if args.reinit_temporal:
                init_temporal(self.model, args.temporal_std, args.seed)
            if args.scale_positions != 1.0:  # louder patch positions next to the patch contents
                with torch.no_grad():
                    pos = self.model.git.image_encoder.vision_model.embeddings.position_embedding.weight
                    pos[1:] *= args.scale_positions
        self.aux_head = (probe_head(self.cfg.hidden_size, self.cfg.vision_config.grid, args.seed)
                         if args.aux_weight > 0 else None)
        self.data = DataSource(self.codec, args.seed, self.cfg.vision_config.grid, self.cfg.vision_config.image_size,
                               args.p_two, args.augment)

    def step(self, step: int) -> dict:
        """Draw this step's batches, back-propagate their loss; returns the loss parts to log."""
        a = self.args
        batches = [self.data.images(a.batch)]
        if a.video_batch and step % a.video_every == 0:
            batches.append(self.data.videos(a.video_batch))
        parts_all = {}
        for b in batches:
            loss, parts = compute_loss(self.model, b, a.ground_weight, self.aux_head, a.aux_weight, a.question_weight)
            (loss * (1.0 if b.pixel_values.ndim == 4 else 0.5)).backward()
            for k, v in parts.items():
                parts_all[k if b.pixel_values.ndim == 4 or k.startswith("lm_") else "v" + k] = v
        return parts_all

    def quick_eval(self) -> dict:
        return quick_eval(self.model, self.codec, self.args.seed, self.cfg.vision_config.image_size)

    def save(self, folder: Path) -> None:
        save_checkpoint(self.model, self.cfg, self.vocab, folder)
