"""The batching engine: every greedy or sampling request for one model decodes in ONE batch.

A class of thirty asking at once used to run thirty separate decode loops, two at a time. Here one
worker thread per model owns a running batch:

* a request arriving while the engine is idle waits a short window (GITDEMO_BATCH_WINDOW_MS, default
  50) so that a burst starts together, unless it comes alone (more than two windows after the previous
  one): then it starts at once; later arrivals join the running batch between decoder steps
  (continuous batching);
* newcomers are prefilled in chunks (GITDEMO_PREFILL_CHUNK, default 8); within a chunk, requests whose
  inputs have the same shapes share one prefill: their pictures go through the image cache together
  (`IMAGE_CACHE.encode_many`: a picture seen before is not encoded again, and for GIT the decoder's
  keys/values of its image tokens are kept too, so only the prompt's words run), then the decoder runs
  once over all their prompts. Each request's cache then joins the batch's by left padding (the shorter
  side gets masked keys in front, see `caches.merge_caches`);
* between two chunks the running rows decode for as long as the chunk took to prefill
  (GITDEMO_DECODE_SHARE), so the first students of a burst get their answers while later pictures are
  still waiting;
* every step runs the decoder once for all rows; each row picks its token with its own settings
  (greedy, or sampling with its own seeded generator, temperature, top-k / top-p), its own stop
  condition (eos, max_new_tokens), and gets its own attention record with the batch's padding keys cut
  off, so it sees exactly the keys it would have seen alone;
* finished and cancelled rows (the consumer closed its generator: a user went away) leave the batch at
  the next step; common left padding is then trimmed.

Greedy tokens are the same alone or batched in fp32 (tests/test_serving.py checks it for GIT and
PaliGemma). int8 quantizes each Linear's input with one scale per call, so in a batched decoder step a
row's numbers depend slightly on the other rows (docs/results.md measures how often a word changes).
Models with sliding-window layers (Gemma 2) count key positions, which padding would shift: their
requests are served one at a time. Beam search and multi-row inputs go to `generation` unchanged.
"""
from __future__ import annotations

import os
import queue
import threading
import time
import weakref
from dataclasses import dataclass, field

import torch

from ..generation import TOP_K_RECORDED, StreamStep, checked_settings, prepare_inputs, sampling_probs
from ..generation import stream as stream_alone
from ..models.layers import AttentionRecord, KVCache
from .caches import keep_rows, merge_caches
from .image_cache import IMAGE_CACHE

_END = object()


def enabled() -> bool:
    """GITDEMO_ENGINE=0 turns batching off (each request runs alone in a compute slot, as before)."""
    return os.environ.get("GITDEMO_ENGINE", "1").strip().lower() not in ("0", "false", "no", "off")


def _window_s() -> float:
    return float(os.environ.get("GITDEMO_BATCH_WINDOW_MS", "50")) / 1000.0


def _burst_gap_s() -> float:
    """A request this soon after the previous one is taken as part of a burst (twice the window): one user
    asking again after their answer, or a lone visitor, never waits for the window."""
    return 2 * _window_s()


def _max_batch() -> int:
    return max(1, int(os.environ.get("GITDEMO_BATCH_MAX", "32")))


def _prefill_chunk() -> int:
    """New requests prefilled at a time (GITDEMO_PREFILL_CHUNK, default 8): a burst of thirty is prefilled
    in chunks, with decoding of the rows already running in between (`_decode_share`)."""
    return max(1, int(os.environ.get("GITDEMO_PREFILL_CHUNK", "8")))


def _decode_share() -> float:
    """Decoding time the running rows get per second spent prefilling a chunk of newcomers, before the
    next chunk is admitted (GITDEMO_DECODE_SHARE, default 1.0). Decoding a row costs far less than
    prefilling it, so the first chunk of a burst usually finishes its answers before the next chunk
    starts: the first students are served in a fraction of the burst's time, at the price of a few more
    (smaller) decoder steps in all. 0: one decoder step per chunk (the fewest steps)."""
    return max(0.0, float(os.environ.get("GITDEMO_DECODE_SHARE", "1.0")))


# ----------------------------------------------------------------------------- one request
@dataclass
class Request:
    pixel_values: torch.Tensor | None
    input_ids: torch.Tensor | None
    attention_mask: torch.Tensor | None
    token_type_ids: torch.Tensor | None
    max_new_tokens: int
    do_sample: bool
    temperature: float
    top_k: int | None
    top_p: float | None
    generator: torch.Generator | None
    eos: frozenset
    pad: int
    record: bool
    out: queue.Queue = field(default_factory=queue.Queue)
    cancelled: threading.Event = field(default_factory=threading.Event)
    # while in the batch
    produced: int = 0
    own_len: int = 0  # key positions of the cache that belong to this request (the rest is padding)
    logits: torch.Tensor | None = None  # (1, vocab) the next token's logits
    attentions: list | None = None  # per layer (1, H, own_len) the producing query's row
    vision: list | None = None


def _eos_set(eos) -> frozenset:
    if isinstance(eos, (list, tuple, set, frozenset)):
        return frozenset(int(e) for e in eos)
    return frozenset() if eos is None else frozenset([int(eos)])


def _shape(t) -> tuple | None:
    return None if t is None else tuple(t.shape)


def _groups(requests: list[Request]) -> list[list[Request]]:
    """Requests that can share one prefill: same image and prompt shapes, no padding in the prompt, the
    same attention recording; in arrival order. The rest go alone."""
    groups: dict[tuple, list[Request]] = {}
    for r in requests:
        padded = r.attention_mask is not None and not bool(r.attention_mask.bool().all())
        key = (id(r),) if padded else (_shape(r.pixel_values), _shape(r.input_ids), _shape(r.token_type_ids),
                                       r.record)
        groups.setdefault(key, []).append(r)
    return list(groups.values())


class Engine:
    """The running batch of one model, served by one worker thread (started on the first request)."""

    def __init__(self, model):
        self._model = weakref.ref(model)
        self.batchable = not any(getattr(m, "window", None) for m in model.modules())
        self._pending: list[Request] = []
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._last_submit = float("-inf")
        self._busy = False  # the latest request came within `_burst_gap_s` of the one before
        self.rows = 0  # requests in the running batch (tests read it)
        self.steps = 0  # batched decode steps run (tests and the bench read it)
        self.max_rows = 0

    # -- the consumer side
    def submit(self, request: Request) -> None:
        with self._cv:
            now = time.monotonic()
            self._busy = now - self._last_submit < _burst_gap_s()
            self._last_submit = now
            self._pending.append(request)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="gitdemo-engine", daemon=True)
                self._thread.start()
            self._cv.notify()

    def results(self, request: Request):
        """The request's `StreamStep`s as the worker makes them; closing this generator cancels it."""
        try:
            while True:
                item = request.out.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            request.cancelled.set()
            with self._cv:
                self._cv.notify()

    # -- the worker
    def _run(self) -> None:
        batch: list[Request] = []
        cache: KVCache | None = None
        owed = 0.0  # seconds of decoding owed to the running rows for the time spent prefilling newcomers
        while True:
            with self._cv:
                if not batch and not self._pending:
                    if not self._cv.wait_for(lambda: self._pending, timeout=30.0):
                        self._thread = None  # idle: the thread ends; the next request starts another
                        return
                    # a burst: let its other requests arrive (a lone request, long after the last, starts at once)
                    deadline = time.monotonic() + (_window_s() if self._busy or len(self._pending) > 1 else 0.0)
                    while (left := deadline - time.monotonic()) > 0:
                        self._cv.wait(left)
                room = min((_max_batch() if self.batchable else 1) - len(batch), _prefill_chunk())
                room = room if not batch or owed <= 0 else 0  # running rows first, until they had their share
                new, self._pending = self._pending[:max(room, 0)], self._pending[max(room, 0):]
            model = self._model()
            if model is None:
                for r in batch + new:
                    r.out.put(RuntimeError("The model was unloaded."))
                return
            try:
                with torch.inference_mode():
                    started = time.monotonic()
                    if new:
                        batch, cache = self._admit(model, batch, cache, new)
                        owed += (time.monotonic() - started) * _decode_share()
                    started = time.monotonic()
                    batch, cache = self._emit_and_step(model, batch, cache)
                    owed = max(0.0, owed - (time.monotonic() - started)) if batch else 0.0
            except Exception as exc:  # noqa: BLE001 - the batch fails together; the engine lives on
                for r in batch:
                    r.out.put(exc)
                batch, cache, owed = [], None, 0.0
            self.rows = len(batch)
            del model

    def _admit(self, model, batch, cache, new):
        """Prefill the new requests (those whose inputs have the same shapes together, in one batch), then
        merge their caches into the batch's."""
        caches = [] if cache is None else [cache]
        live = []
        for r in new:
            if r.cancelled.is_set():
                r.out.put(_END)
            else:
                live.append(r)
        for group in _groups(live):
            try:
                caches.append(self._prefill(model, group))
                batch.extend(group)
                continue
            except Exception as exc:  # noqa: BLE001 - a bad input; below, the others go on without it
                if len(group) == 1:
                    group[0].out.put(exc)
                    continue
            for r in group:  # find the request that failed: each alone, so only it gets the error
                try:
                    caches.append(self._prefill(model, [r]))
                    batch.append(r)
                except Exception as exc:  # noqa: BLE001
                    r.out.put(exc)
        if len(caches) > 1:
            cache = merge_caches(caches)
        elif caches:
            cache = caches[0]
        self.max_rows = max(self.max_rows, len(batch))
        return batch, cache

    @staticmethod
    def _prefill(model, group: list[Request]) -> KVCache:
        """One prefill for requests whose inputs have the same shapes (`_groups`): pictures through the
        image cache (`encode_many`), then the decoder over all prompts at once; for GIT the image block's
        keys/values come from the image cache too and the decoder runs over the prompts' words only.
        Each row's result is what its prefill alone gives (rows never see each other; see `encode_many`
        for int8)."""
        prepared = [prepare_inputs(model, r.pixel_values, r.input_ids, r.attention_mask) for r in group]
        input_ids, attention_mask, position_ids = (torch.cat([p[i] for p in prepared]) for i in (1, 2, 3))
        record = AttentionRecord.LAST_ROW if group[0].record else AttentionRecord.NONE
        last = slice(-1, None)
        encoded = None
        if prepared[0][0] is not None:
            class_token = not getattr(model, "image_tokens_in_prompt", False)
            block = getattr(model, "image_block_first", False) and input_ids.shape[1] > 0
            encoded = IMAGE_CACHE.encode_many(model, [p[0] for p in prepared], record.for_vision(class_token), block)
            for r, value in zip(group, encoded):
                r.vision = value[1]
        if encoded is not None and len(encoded[0]) == 3:  # the image block's keys/values are known
            cache = merge_caches([value[2] for value in encoded])  # fresh buffers: the cached blocks stay as they are
            out = model.prefill_after_image(cache, input_ids, attention_mask, position_ids, record, logits_for=last)
        else:
            extra = {}
            if group[0].token_type_ids is not None:
                extra["token_type_ids"] = torch.cat([r.token_type_ids for r in group]).to(input_ids.device)
            image_embeds = None if encoded is None else torch.cat([value[0] for value in encoded])
            cache = model.new_cache()
            out, _, _ = model.prefill(None, input_ids, attention_mask, position_ids, cache, record, logits_for=last,
                                      image_embeds=image_embeds, **extra)
        for i, r in enumerate(group):
            r.own_len = cache.length
            r.logits = out.logits[i:i + 1, -1].float()
            r.attentions = None if out.attentions is None else [a[i:i + 1, :, -1].float() for a in out.attentions]
        return cache

    def _emit_and_step(self, model, batch, cache):
        """Each row's next token from its own logits; rows that go on take one batched decoder step."""
        going, tokens = [], []
        for i, r in enumerate(batch):
            if r.cancelled.is_set():
                r.out.put(_END)
                continue
            token, finished = self._choose(r)
            if finished or r.produced == r.max_new_tokens:
                r.out.put(_END)
            else:
                going.append(i)
                tokens.append(token)
        if not going:
            return [], None
        length = cache.length
        trim = min(length - batch[i].own_len for i in going)
        if len(going) < len(batch) or trim:
            cache = keep_rows(cache, going, trim)
        batch = [batch[i] for i in going]
        record = any(r.record for r in batch)
        ids = torch.tensor(tokens, dtype=torch.long, device=cache.ranks.device)[:, None]
        out = model.step(ids, cache, AttentionRecord.LAST_ROW if record else AttentionRecord.NONE)
        self.steps += 1
        for row, r in enumerate(batch):
            r.own_len += 1
            r.logits = out.logits[row:row + 1, -1].float()
            r.attentions = None if not r.record else [a[row:row + 1, :, -1, -r.own_len:].float()
                                                      for a in out.attentions]
        return batch, cache

    @staticmethod
    def _choose(r: Request) -> tuple[int, bool]:
        """generation's per-step rule for one row: the same arithmetic on the same (1, vocab) logits."""
        logits = r.logits
        probs = logits.softmax(-1)
        top_probs, top_ids = probs.topk(min(TOP_K_RECORDED, probs.shape[-1]))
        if r.do_sample:
            token = torch.multinomial(sampling_probs(logits, r.temperature, r.top_k, r.top_p), 1,
                                      generator=r.generator).squeeze(1)
        else:
            token = logits.argmax(-1)
        finished = int(token) in r.eos
        step = StreamStep(r.produced, token, torch.tensor([finished]), r.attentions if r.record else None,
                          top_ids, top_probs, r.vision if r.produced == 0 and r.record else None)
        r.produced += 1
        r.out.put(step)
        return int(token), finished


_ENGINES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_ENGINES_LOCK = threading.Lock()


def engine_for(model) -> Engine:
    """The one engine of a model object (made on first use, gone with the model)."""
    with _ENGINES_LOCK:
        engine = _ENGINES.get(model)
        if engine is None:
            engine = _ENGINES[model] = Engine(model)
        return engine


def stream(model, pixel_values=None, input_ids=None, attention_mask=None, max_new_tokens: int | None = None,
           do_sample: bool = False, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
           seed: int | None = None, generator: torch.Generator | None = None, eos_token_id=None,
           pad_token_id: int | None = None, output_attentions: bool = False, num_beams: int = 1,
           token_type_ids=None, **unused):
    """`generation.stream`, served by the model's engine: the same `StreamStep`s (one row), batched with
    every other request for this model. Beam search and inputs of several rows run alone."""
    rows = next((t.shape[0] for t in (input_ids, pixel_values) if t is not None), 1)
    if num_beams > 1 or rows != 1:
        yield from stream_alone(model, pixel_values, input_ids, attention_mask, max_new_tokens, do_sample,
                                temperature, top_k, top_p, seed, generator, eos_token_id, pad_token_id,
                                output_attentions, num_beams, token_type_ids)
        return
    max_new_tokens, eos, pad, generator = checked_settings(model, max_new_tokens, eos_token_id, pad_token_id, seed,
                                                    generator, temperature, top_k, top_p, input_ids=input_ids)
    request = Request(pixel_values, input_ids, attention_mask, token_type_ids, int(max_new_tokens), bool(do_sample),
                      temperature, top_k, top_p, generator, _eos_set(eos.tolist()), pad, bool(output_attentions))
    engine = engine_for(model)
    engine.submit(request)
    yield from engine.results(request)


def wait_idle(model, timeout: float = 30.0) -> bool:
    """Whether the model's engine has no running rows within `timeout` seconds (tests and the bench)."""
    engine = engine_for(model)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine._cv:
            if engine.rows == 0 and not engine._pending:
                return True
        time.sleep(0.01)
    return False


__all__ = ["Engine", "Request", "enabled", "engine_for", "stream", "merge_caches", "keep_rows", "wait_idle"]
