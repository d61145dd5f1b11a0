"""Decoding: prefill once (the image's keys/values stay cached), then one token per step.

Works for any model with the generation protocol (GIT and PaliGemma implement it):
  model.new_cache() -> KVCache
  model.prefill(pixel_values, input_ids, attention_mask, position_ids, cache, record,
                logits_for) -> (StepOutput(logits, attentions), image_embeds, vision_attentions)
  model.step(input_ids, cache, record) -> StepOutput
where `record` is an `AttentionRecord` (a bool also works: all rows or none).
Greedy, sampling (temperature / top-k / top-p, seeded) and beam search (the reference's
algorithm, so the same hypotheses win). Attention is recorded per call, only when asked:
for each generated token, the attention of the query that produced it (per layer, per head,
over every key; `AttentionRecord.LAST_ROW`, so the prompt's other rows are never computed),
so two concurrent calls can never mix their records.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import torch
import torch.nn.functional as F

from .errors import InputError
from .io.checkpoint import end_tokens
from .io.generation_config import GenerationDefaults
from .models.layers import AttentionRecord

TOP_K_RECORDED = 5  # next-token candidates kept per step for the UI's scrubber


@dataclass
class StreamStep:
    """One decoding step: the new token of every row, and what the UI shows about it."""

    index: int  # 0 for the first generated token
    token_ids: torch.Tensor  # (B,)
    finished: torch.Tensor  # (B,) True once a row has produced eos (this token included)
    attentions: list[torch.Tensor] | None  # per layer (B, H, K): the producing query's attention
    top_ids: torch.Tensor  # (B, k) most likely next tokens at this step
    top_probs: torch.Tensor  # (B, k) their probabilities
    vision_attentions: list[torch.Tensor] | None = None  # first step only: per vision layer (as GenerateOutput's)


@dataclass
class GenerateOutput:
    sequences: torch.Tensor  # (B, prompt + new): the reference's layout
    prompt_length: int
    num_image_tokens: int
    attentions: list[list[torch.Tensor]] | None = None  # [step][layer] (B, H, K_step)
    # per vision layer: CLIP's CLS row (B*F, H, 1, n) when greedy / sampling, every row (B*F, H, n, n) after
    # beam search (its teacher-forced pass); None for SigLIP's tower, which has no CLS row
    vision_attentions: list[torch.Tensor] | None = None
    top_ids: list[torch.Tensor] = field(default_factory=list)
    top_probs: list[torch.Tensor] = field(default_factory=list)

    @property
    def new_tokens(self) -> torch.Tensor:
        return self.sequences[:, self.prompt_length:]


def defaults(model) -> GenerationDefaults:
    """The model's decoding defaults: generation_config.json's (attached by `load_model`), else config.json's."""
    return getattr(model, "generation_config", None) or GenerationDefaults.from_configs(model.config)


def prepare_inputs(model, pixel_values, input_ids, attention_mask):
    """Default prompt ([bos] per row), mask, and positions that skip left padding."""
    if input_ids is None:
        if pixel_values is None:
            raise InputError("Give an image (pixel_values), a prompt (input_ids), or both.")
        input_ids = torch.full((pixel_values.shape[0], 1), defaults(model).bos_token_id, dtype=torch.long)
    input_ids = input_ids.to(model.device)
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    attention_mask = attention_mask.to(input_ids.device).long()
    # Left padding: each row counts its own positions from its first real token.
    position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
    if pixel_values is not None:
        pixel_values = pixel_values.to(model.device)
    return pixel_values, input_ids, attention_mask, position_ids


def sampling_probs(logits: torch.Tensor, temperature: float, top_k: int | None, top_p: float | None) -> torch.Tensor:
    """Sampling distribution: temperature, then top-k, then nucleus (the reference's order)."""
    logits = logits / max(temperature, 1e-5)
    if top_k:
        kth = torch.topk(logits, min(top_k, logits.shape[-1])).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True)
        cum = sorted_logits.softmax(-1).cumsum(-1)
        drop = cum - sorted_logits.softmax(-1) >= top_p  # keep the smallest set reaching top_p
        drop[..., 0] = False
        logits = logits.masked_fill(drop.scatter(-1, order, drop), float("-inf"))
    return logits.softmax(-1)


def _last_rows(attentions):
    """Per layer (B, H, 1, K) -> (B, H, K): the producing query's row."""
    return None if attentions is None else [a[:, :, -1].float() for a in attentions]


def _extra(token_type_ids) -> dict:
    """Prompt inputs only some models take (PaliGemma: token_type_ids marking prefix vs suffix)."""
    return {} if token_type_ids is None else {"token_type_ids": token_type_ids}


def _decode_loop(model, pixel_values, input_ids, attention_mask, max_new_tokens, do_sample, temperature, top_k,
                 top_p, generator, eos_token_id, pad_token_id, output_attentions, state: dict,
                 token_type_ids=None) -> Iterator[StreamStep]:
    # inference_mode is entered per block, never across a `yield`: a suspended generator must not
    # leave the caller's thread in inference mode.
    with torch.inference_mode():
        pixel_values, input_ids, attention_mask, position_ids = prepare_inputs(model, pixel_values, input_ids,
                                                                               attention_mask)
        cache = model.new_cache()
        record = AttentionRecord.LAST_ROW if output_attentions else AttentionRecord.NONE
        out, image_embeds, vision_att = model.prefill(pixel_values, input_ids, attention_mask, position_ids, cache,
                                                      record, logits_for=slice(-1, None), **_extra(token_type_ids))
    state.update(image_embeds=image_embeds, vision_attentions=vision_att, input_ids=input_ids)
    b = input_ids.shape[0]
    finished = torch.zeros(b, dtype=torch.bool, device=input_ids.device)
    for i in range(max_new_tokens):
        with torch.inference_mode():
            logits = out.logits[:, -1].float()
            probs = logits.softmax(-1)
            top_probs, top_ids = probs.topk(min(TOP_K_RECORDED, probs.shape[-1]))
            if do_sample:
                token = torch.multinomial(sampling_probs(logits, temperature, top_k, top_p), 1,
                                          generator=generator).squeeze(1)
            else:
                token = logits.argmax(-1)
            token = torch.where(finished, torch.full_like(token, pad_token_id), token)
            finished = finished | torch.isin(token, eos_token_id)
            step = StreamStep(i, token, finished.clone(), _last_rows(out.attentions), top_ids, top_probs,
                              vision_att if i == 0 else None)
        yield step
        if bool(finished.all()) or i == max_new_tokens - 1:
            return
        with torch.inference_mode():
            out = model.step(token[:, None], cache, record)


def checked_settings(model, max_new_tokens, eos_token_id, pad_token_id, seed, generator, temperature, top_k, top_p,
                     max_length=None, input_ids=None):
    """Checked options with the checkpoint's defaults filled in (arguments given to the call win)."""
    gen = defaults(model)
    if max_length is not None or max_new_tokens is None:
        prompt = 1 if input_ids is None else input_ids.shape[1]  # the reference counts input_ids only
        max_new_tokens = max_length - prompt if max_length is not None else gen.new_tokens(prompt)
    if max_new_tokens < 1:
        raise InputError("max_new_tokens must be at least 1.")
    if temperature is not None and temperature <= 0:
        raise InputError("temperature must be positive (use greedy decoding for temperature 0).")
    if top_p is not None and not 0 < top_p <= 1:
        raise InputError("top_p must lie in (0, 1].")
    if generator is None and seed is not None:
        generator = torch.Generator(device="cpu").manual_seed(int(seed))
    if eos_token_id is None:  # every end token the checkpoint lists (PaliGemma 2: <eos> and <end_of_turn>)
        eos_token_id = gen.eos_token_ids
    eos = torch.tensor(end_tokens(eos_token_id), dtype=torch.long, device=model.device)
    pad = gen.pad_token_id if pad_token_id is None else pad_token_id
    if pad is None:  # the reference pads finished rows with the (first) end token
        pad = int(eos[0]) if len(eos) else 0
    return max_new_tokens, eos, pad, generator


def stream(model, pixel_values=None, input_ids=None, attention_mask=None, max_new_tokens: int | None = None,
           do_sample: bool = False, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
           seed: int | None = None, generator: torch.Generator | None = None,
           eos_token_id: int | list[int] | None = None,
           pad_token_id: int | None = None, output_attentions: bool = False, num_beams: int = 1,
           token_type_ids=None, max_length: int | None = None, **unused) -> Iterator[StreamStep]:
    """Yield a `StreamStep` as soon as each token exists (greedy or sampling; beams do not stream).
    Lengths and token ids the call leaves out come from the checkpoint (`defaults`), as in `generate`."""
    if num_beams > 1:
        raise InputError("Beam search cannot stream: its best hypothesis is known only at the end.")
    max_new_tokens, eos, pad, generator = checked_settings(model, max_new_tokens, eos_token_id, pad_token_id, seed,
                                                           generator, temperature, top_k, top_p, max_length, input_ids)
    yield from _decode_loop(model, pixel_values, input_ids, attention_mask, max_new_tokens, do_sample, temperature,
                            top_k, top_p, generator, eos, pad, output_attentions, {}, token_type_ids)


@torch.inference_mode()
def generate(model, pixel_values=None, input_ids=None, attention_mask=None, max_new_tokens: int | None = None,
             num_beams: int = 1, do_sample: bool = False, temperature: float = 1.0, top_k: int | None = None,
             top_p: float | None = None, seed: int | None = None, generator: torch.Generator | None = None,
             eos_token_id: int | list[int] | None = None, pad_token_id: int | None = None,
             output_attentions: bool = False,
             return_dict: bool = False, length_penalty: float = 1.0, early_stopping: bool | str = False,
             max_length: int | None = None, token_type_ids=None, **unused):
    """Token ids (B, prompt + new) as the reference returns them, or a `GenerateOutput`.

    `max_length` (prompt + new), if given, overrides `max_new_tokens`. What the call leaves out
    (length, eos / pad / bos ids) comes from the checkpoint's generation_config.json where it has one,
    else from config.json, else 20 new tokens: `defaults(model)`.
    """
    if unused:
        raise InputError(f"Unknown generate option(s): {', '.join(sorted(unused))}.")
    max_new_tokens, eos, pad, generator = checked_settings(model, max_new_tokens, eos_token_id, pad_token_id, seed,
                                                           generator, temperature, top_k, top_p, max_length, input_ids)
    if num_beams > 1:
        if do_sample:
            raise InputError("Beam sampling is not supported: choose beams or sampling.")
        result = _beam_search(model, pixel_values, input_ids, attention_mask, max_new_tokens, num_beams, eos, pad,
                              length_penalty, early_stopping, token_type_ids)
        if output_attentions:
            _attach_attentions(model, pixel_values, result, attention_mask, token_type_ids)
        return result if return_dict else result.sequences
    state: dict = {}
    steps = list(_decode_loop(model, pixel_values, input_ids, attention_mask, max_new_tokens, do_sample, temperature,
                              top_k, top_p, generator, eos, pad, output_attentions, state, token_type_ids))
    prompt = state["input_ids"]
    sequences = torch.cat([prompt, torch.stack([s.token_ids for s in steps], 1)], 1)
    image = state["image_embeds"]
    result = GenerateOutput(
        sequences=sequences, prompt_length=prompt.shape[1],
        num_image_tokens=0 if image is None else image.shape[1],
        attentions=[s.attentions for s in steps] if output_attentions else None,
        vision_attentions=state["vision_attentions"] if output_attentions else None,
        top_ids=[s.top_ids for s in steps], top_probs=[s.top_probs for s in steps],
    )
    return result if return_dict else result.sequences


@dataclass
class TeacherForced:
    """What one teacher-forced pass over [prompt; generated] tells about each generated token."""

    queries: list[int]  # per generated token, the sequence position (image tokens counted) whose output made it
    steps: list[list[torch.Tensor]]  # [token][layer] (B, H, q + 1): that query's attention over keys 0..q
    full: list[torch.Tensor]  # per layer (B, H, S, S): the whole attention (rollout needs it); [] unless recorded
    logits: torch.Tensor  # (B, T, vocab) float32: the logits at the T query positions
    vision: list[torch.Tensor] | None  # the vision encoder's records, as generation keeps them
    # grad=True only: per layer (B, H, S, S), the very probabilities each layer multiplied its values by, still in
    # the autograd graph, so `torch.autograd.grad(logits[b, t, id], attentions)` reaches them (relevancy)
    attentions: list[torch.Tensor] | None = None


def teacher_forced(model, pixel_values, sequences: torch.Tensor, prompt_length: int, attention_mask=None,
                   token_type_ids=None, record: bool = True, grad: bool = False) -> TeacherForced:
    """ONE full forward over a finished sequence: the same records incremental decoding would have given
    (row q of a full forward's attention is exactly what cached step q saw).

    sequences: (B, prompt_length + T) prompt ids then generated ids; with one row and B > 1 images
    (pixel_values (B, ...): e.g. occluded copies) the row serves every image. attention_mask / token_type_ids
    cover the prompt (or the whole sequence); generated tokens are real and (PaliGemma) suffix, each its own rank.
    record: keep the attention (`steps`, `full`); False runs the fused path and gives only the logits.
    grad: run with autograd on and keep `attentions` in the graph (implies record). The loaded weights are
    frozen, so the pixel values become a leaf that requires grad: that alone puts the attention probabilities
    into the graph, with no hook and no change to the model. Otherwise the pass runs under inference mode.
    Used by beam search (records of the winning hypothesis), the explorer (`explain.trace`) and the
    gradient / deletion views (`explain.relevancy`, `explain.faithfulness`).
    """
    if not grad:
        with torch.inference_mode():
            return _teacher_forced(model, pixel_values, sequences, prompt_length, attention_mask, token_type_ids,
                                   record, False)
    with torch.inference_mode(False), torch.enable_grad():
        if pixel_values is not None:  # a fresh leaf (a clone: the caller's tensor may come from inference mode)
            pixel_values = pixel_values.detach().clone().to(model.device, model.dtype).requires_grad_(True)
        return _teacher_forced(model, pixel_values, sequences, prompt_length, attention_mask, token_type_ids,
                               True, True)


def forced_pass(model, pixel_values, sequences: torch.Tensor, attention_mask=None, token_type_ids=None,
                record: AttentionRecord = AttentionRecord.NONE, logits_for: slice | None = None):
    """ONE forward over a whole sequence (prompt then generated ids, no cache), as `teacher_forced` runs it:
    -> (StepOutput, image_embeds, vision_attentions). Generated tokens are real and (PaliGemma) suffix, each
    its own rank. `record` is any `AttentionRecord` (e.g. `AttentionRecord.scores_of(row, layer)`)."""
    seq = sequences.to(model.device)
    if pixel_values is not None:
        pixel_values = pixel_values.to(model.device)
        if seq.shape[0] == 1 < pixel_values.shape[0]:  # one text for a batch of images
            seq = seq.expand(pixel_values.shape[0], -1)
    mask = torch.ones_like(seq)
    if attention_mask is not None:
        mask[:, : attention_mask.shape[1]] = attention_mask.to(seq.device)
    position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
    extra = {}
    if token_type_ids is not None:
        types = torch.ones_like(seq)
        types[:, : token_type_ids.shape[1]] = token_type_ids.to(seq.device)
        extra = _extra(types)
    return model.prefill(pixel_values, seq, mask, position_ids, None, record, logits_for=logits_for, **extra)


def _teacher_forced(model, pixel_values, sequences, prompt_length, attention_mask, token_type_ids, record,
                    grad) -> TeacherForced:
    how = AttentionRecord.FULL if record else AttentionRecord.NONE
    t = sequences.shape[1] - prompt_length
    # the LM head only where a generated token was produced: the T positions before the last (the vocabulary
    # is large, the sequence holds every image token)
    out, image_embeds, vision = forced_pass(model, pixel_values, sequences, attention_mask, token_type_ids, how,
                                            logits_for=slice(-(t + 1), -1))
    # GIT puts the image in front of the prompt; PaliGemma's prompt already holds its image tokens
    front = 0 if getattr(model, "image_tokens_in_prompt", False) or image_embeds is None else image_embeds.shape[1]
    queries = [front + prompt_length - 1 + i for i in range(t)]
    full = [a.detach().float() for a in out.attentions] if record else []
    steps = [[a[:, :, q, : q + 1] for a in full] for q in queries] if record else []
    logits = out.logits.float()
    return TeacherForced(queries, steps, full, logits, vision, list(out.attentions) if grad else None)


def _attach_attentions(model, pixel_values, result: GenerateOutput, attention_mask, token_type_ids=None):
    """Attention records and top candidates for a finished sequence (beam search): one teacher-forced pass."""
    tf = teacher_forced(model, pixel_values, result.sequences, result.prompt_length, attention_mask, token_type_ids)
    result.attentions = tf.steps
    result.vision_attentions = tf.vision
    # the winning hypothesis's candidates at each step, as greedy decoding records them (probabilities in float32)
    probs = tf.logits.softmax(-1)
    top_probs, top_ids = probs.topk(min(TOP_K_RECORDED, probs.shape[-1]))
    result.top_ids = list(top_ids.unbind(1))
    result.top_probs = list(top_probs.unbind(1))


def _beam_search(model, pixel_values, input_ids, attention_mask, max_new_tokens, num_beams, eos, pad,
                 length_penalty, early_stopping, token_type_ids=None) -> GenerateOutput:
    """The reference's vectorised beam search (same candidates, same finishing and stopping rules).

    Every step keeps the 2 * num_beams best continuations of all beams; those ending in eos (or
    at the length limit) that rank among the top num_beams become finished hypotheses scored
    by sum log p / generated_length ** length_penalty; the rest continue.
    """
    pixel_values, input_ids, attention_mask, position_ids = prepare_inputs(model, pixel_values, input_ids,
                                                                           attention_mask)
    b, prompt_len = input_ids.shape
    k = num_beams
    dev = input_ids.device
    rep = lambda t: None if t is None else t.repeat_interleave(k, 0)  # noqa: E731  (B, ...) -> (B*k, ...)
    cache = model.new_cache()
    out, image_embeds, _ = model.prefill(rep(pixel_values), rep(input_ids), rep(attention_mask), rep(position_ids),
                                         cache, AttentionRecord.NONE, logits_for=slice(-1, None),
                                         **_extra(rep(token_type_ids)))
    max_len = prompt_len + max_new_tokens
    keep = 2 * k
    fill = pad or (int(eos[0]) if len(eos) else 0)  # the reference fills unused slots with eos when pad is 0
    running = torch.full((b, k, max_len), fill, dtype=torch.long, device=dev)
    running[:, :, :prompt_len] = input_ids[:, None]
    running_scores = torch.zeros(b, k, device=dev)
    running_scores[:, 1:] = -1e9  # all beams start identical: only the first may expand
    running_len = torch.zeros(b, k, dtype=torch.long, device=dev)  # generated tokens per running beam
    done = running.clone()
    done_scores = torch.full((b, k), -1e9, device=dev)
    done_len = torch.zeros(b, k, dtype=torch.long, device=dev)
    done_flag = torch.zeros(b, k, dtype=torch.bool, device=dev)
    improvable = torch.ones(b, 1, dtype=torch.bool, device=dev)
    top_mask = torch.arange(keep, device=dev) < k
    cur = prompt_len
    while True:
        logp = F.log_softmax(out.logits[:, -1].float(), -1)  # (B*k, V)
        vocab = logp.shape[-1]
        total = (logp.view(b, k, vocab) + running_scores[:, :, None]).view(b, k * vocab)
        cand_scores, cand = torch.topk(total, keep)  # (B, 2k)
        src_beam, token = cand // vocab, cand % vocab
        cand_seq = torch.gather(running, 1, src_beam[:, :, None].expand(-1, -1, max_len)).clone()
        cand_seq[:, :, cur] = token
        cand_len = torch.gather(running_len, 1, src_beam) + 1
        hits = torch.isin(token, eos) | (cur + 1 >= max_len)
        # continue with the best k candidates that did not stop
        alive_scores = cand_scores + hits.float() * -1e9
        nxt = torch.topk(alive_scores, k).indices
        running = torch.gather(cand_seq, 1, nxt[:, :, None].expand(-1, -1, max_len))
        running_scores = torch.gather(alive_scores, 1, nxt)
        running_len = torch.gather(cand_len, 1, nxt)
        beam_src = torch.gather(src_beam, 1, nxt)
        # candidates that stopped among the top k become finished hypotheses if good enough
        normed = cand_scores / float(cur + 1 - prompt_len) ** length_penalty
        full = done_flag.all(-1, keepdim=True) & (early_stopping is True)
        just_done = hits & top_mask[None]
        normed = normed + full.float() * -1e9 + (~improvable).float() * -1e9 + (~just_done).float() * -1e9
        merged_scores = torch.cat([done_scores, normed], 1)
        best = torch.topk(merged_scores, k).indices
        done = torch.gather(torch.cat([done, cand_seq], 1), 1, best[:, :, None].expand(-1, -1, max_len))
        done_scores = torch.gather(merged_scores, 1, best)
        done_len = torch.gather(torch.cat([done_len, cand_len], 1), 1, best)
        done_flag = torch.gather(torch.cat([done_flag, just_done], 1), 1, best)
        cur += 1
        # stop when no running beam can beat the worst finished one (the reference's heuristic)
        if early_stopping == "never" and length_penalty > 0:
            hyp_len = max_len - prompt_len
        else:
            hyp_len = cur - prompt_len
        best_possible = running_scores[:, :1] / float(hyp_len) ** length_penalty
        worst_done = torch.where(done_flag, done_scores.min(1, keepdim=True).values, torch.full_like(done_scores, -1e9))
        improvable = improvable & (best_possible > worst_done).any(-1, keepdim=True)
        open_beam = not (bool(done_flag.all()) and early_stopping is True)
        if not bool(improvable.any()) or not open_beam or bool(hits.all()):
            break
        cache.reorder((beam_src + torch.arange(b, device=dev)[:, None] * k).flatten())
        out = model.step(running[:, :, cur - 1].reshape(b * k, 1), cache, AttentionRecord.NONE)
    out_len = prompt_len + int(done_len[:, 0].max())
    return GenerateOutput(sequences=done[:, 0, :out_len], prompt_length=prompt_len,
                          num_image_tokens=0 if image_embeds is None else image_embeds.shape[1])


__all__ = ["generate", "stream", "teacher_forced", "forced_pass", "defaults", "GenerateOutput", "StreamStep", "TeacherForced",
           "prepare_inputs", "sampling_probs", "checked_settings"]
