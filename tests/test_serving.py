"""The batching engine and the image cache (gitdemo.serving): a request's result is the same alone or
batched, cancelled rows leave, the image cache encodes a picture once within its byte bound."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

import gitdemo
from gitdemo import shapes
from gitdemo.generation import stream as stream_alone
from gitdemo.io.assets import embedded_paligemma
from gitdemo.pipeline.inputs import prepare
from gitdemo.serving import engine as E
from gitdemo.serving.image_cache import IMAGE_CACHE, ImageCache

QUESTIONS = [None, "what color is the circle?", "how many shapes are there in this picture?", "what shape is red?"]


@pytest.fixture(scope="module")
def git():
    return gitdemo.load_model(None), gitdemo.load_processor(None)


@pytest.fixture(scope="module")
def pali():
    folder = embedded_paligemma()
    if folder is None:
        pytest.skip("the embedded PaliGemma is not in this build")
    return gitdemo.load_model(str(folder), dtype="float32"), gitdemo.load_processor(str(folder))


def scenes(n, seed=7):
    rng = np.random.default_rng(seed)
    return [shapes.draw_scene(rng).image for _ in range(n)]


def alone(model, kw, **settings):
    return [s for s in stream_alone(model, **kw, output_attentions=True, **settings)]


def same_steps(batched, single):
    assert [int(s.token_ids[0]) for s in batched] == [int(s.token_ids[0]) for s in single]
    for b, s in zip(batched, single):
        assert bool(b.finished[0]) == bool(s.finished[0])
        assert len(b.attentions) == len(s.attentions)
        for x, y in zip(b.attentions, s.attentions):
            assert x.shape == y.shape  # padding keys of the batch are cut off
            torch.testing.assert_close(x, y, atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(b.top_probs, s.top_probs, atol=1e-4, rtol=1e-4)


def concurrently(model, kws, settings):
    """Every request from its own thread, through the engine (a window long enough to batch them all)."""
    out = [None] * len(kws)

    def go(i):
        out[i] = list(E.stream(model, **kws[i], output_attentions=True, **settings[i]))

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(kws))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out


def test_git_batched_equals_alone(git, monkeypatch):
    """Different images, prompt lengths (left padding of the caches), max_new_tokens, greedy and sampling."""
    monkeypatch.setenv("GITDEMO_BATCH_WINDOW_MS", "400")
    model, processor = git
    images = scenes(len(QUESTIONS))
    kws = [prepare(model, processor, [im], q).model_kwargs for im, q in zip(images, QUESTIONS)]
    settings = [dict(max_new_tokens=n) for n in (12, 5, 20, 8)]
    settings[3].update(do_sample=True, temperature=0.8, top_p=0.9, seed=3)
    engine = E.engine_for(model)
    engine.max_rows = 0
    got = concurrently(model, kws, settings)
    assert engine.max_rows > 1  # they really ran together
    for b, kw, st in zip(got, kws, settings):
        same_steps(b, alone(model, kw, **st))
    assert E.wait_idle(model)


def test_a_request_joining_a_running_batch_is_exact(git):
    """Drive the engine step by step: the second request joins after the first has decoded 3 tokens."""
    model, processor = git
    images = scenes(2, seed=11)
    kws = [prepare(model, processor, [images[0]], None).model_kwargs,
           prepare(model, processor, [images[1]], "what color is the big square on the left?").model_kwargs]
    engine = E.Engine(model)

    def request(kw, n):
        return E.Request(kw["pixel_values"], kw["input_ids"], None, None, n, False, 1.0, None, None, None,
                         frozenset([model.config.eos_token_id]), model.config.pad_token_id, True)

    r1, r2 = request(kws[0], 15), request(kws[1], 10)
    batch, cache = [], None
    with torch.inference_mode():
        batch, cache = engine._admit(model, batch, cache, [r1])
        for _ in range(3):
            batch, cache = engine._emit_and_step(model, batch, cache)
        batch, cache = engine._admit(model, batch, cache, [r2])
        assert len(batch) == 2
        while batch:
            batch, cache = engine._emit_and_step(model, batch, cache)
    for r, kw, n in ((r1, kws[0], 15), (r2, kws[1], 10)):
        steps = []
        while (item := r.out.get_nowait()) is not E._END:
            steps.append(item)
        same_steps(steps, alone(model, kw, max_new_tokens=n))


def test_cancel_frees_the_row(git):
    model, processor = git
    kw = prepare(model, processor, scenes(1, seed=5), None).model_kwargs
    engine = E.Engine(model)
    mk = lambda: E.Request(kw["pixel_values"], kw["input_ids"], None, None, 30, False, 1.0, None, None, None,  # noqa
                           frozenset(), model.config.pad_token_id, False)  # no eos: runs all 30 steps
    r1, r2 = mk(), mk()
    with torch.inference_mode():
        batch, cache = engine._admit(model, [], None, [r1, r2])
        batch, cache = engine._emit_and_step(model, batch, cache)
        assert len(batch) == 2 and cache.ranks.shape[0] == 2
        results = engine.results(r1)
        next(results)
        results.close()  # the user went away (Gradio closes the generator)
        assert r1.cancelled.is_set()
        batch, cache = engine._emit_and_step(model, batch, cache)
    assert batch == [r2] and cache.ranks.shape[0] == 1


def test_cancel_through_the_worker(git):
    model, processor = git
    kw = prepare(model, processor, scenes(1, seed=6), None).model_kwargs
    gen = E.stream(model, **kw, max_new_tokens=40, eos_token_id=[])
    next(gen)
    gen.close()
    assert E.wait_idle(model)
    assert E.engine_for(model).rows == 0


def test_image_cache_encodes_once_and_keeps_its_bound(git):
    model, processor = git
    a, b = (prepare(model, processor, [im], None).pixel_values for im in scenes(2, seed=9))
    cache = ImageCache(budget_bytes=10**9)
    first = cache.encode(model, a, False)
    again = cache.encode(model, a.clone(), False)
    assert cache.encodes == 1 and cache.hits == 1 and again[0] is first[0]
    other = cache.encode(model, b, False)
    assert cache.encodes == 2 and not torch.equal(other[0], first[0])
    one = first[0].numel() * first[0].element_size()
    small = ImageCache(budget_bytes=int(one * 1.5))  # room for one image's tokens
    small.encode(model, a, False)
    small.encode(model, b, False)
    assert len(small) == 1 and small.nbytes <= small.budget
    small.encode(model, a, False)
    assert small.encodes == 3  # a was evicted by b


def test_shared_image_many_questions_no_leakage(git, monkeypatch):
    """One photo, several students: encoded once, and each gets what they would have got alone."""
    monkeypatch.setenv("GITDEMO_BATCH_WINDOW_MS", "300")
    model, processor = git
    image = scenes(1, seed=21)[0]
    kws = [prepare(model, processor, [image], q).model_kwargs for q in QUESTIONS]
    IMAGE_CACHE.clear()
    before = IMAGE_CACHE.encodes
    got = concurrently(model, kws, [dict(max_new_tokens=10)] * len(kws))
    assert IMAGE_CACHE.encodes - before == 1
    for b, kw in zip(got, kws):
        same_steps(b, alone(model, kw, max_new_tokens=10))


def test_paligemma_batched_equals_alone(pali, monkeypatch):
    monkeypatch.setenv("GITDEMO_BATCH_WINDOW_MS", "400")
    model, processor = pali
    images = scenes(3, seed=13)
    prompts = ["caption en", "detect red circle ; blue square", "answer en what colour is the triangle?"]
    kws = [prepare(model, processor, im, p).model_kwargs for im, p in zip(images, prompts)]
    settings = [dict(max_new_tokens=n) for n in (10, 16, 6)]
    got = concurrently(model, kws, settings)
    for b, kw, st in zip(got, kws, settings):
        same_steps(b, alone(model, kw, **st))


def _request(model, kw, n, record=True):
    return E.Request(kw["pixel_values"], kw["input_ids"], None, kw.get("token_type_ids"), n, False, 1.0, None, None,
                     None, frozenset([model.config.eos_token_id]), model.config.pad_token_id, record)


def _drain(r):
    steps = []
    while (item := r.out.get_nowait()) is not E._END:
        if isinstance(item, BaseException):
            return item
        steps.append(item)
    return steps


def test_a_burst_shares_its_prefills(git, monkeypatch):
    """Five captions (same shapes) go through the decoder's prefill together and their pictures through
    the vision tower in one batch; the question (another prompt length) goes alone. Each result is
    exactly its lone result."""
    model, processor = git
    images = scenes(6, seed=31)
    kws = [prepare(model, processor, [im], None).model_kwargs for im in images[:5]]
    kws.append(prepare(model, processor, [images[5]], "what color is the circle?").model_kwargs)
    requests = [_request(model, kw, 8) for kw in kws]
    calls = {"prefill": [], "vision": []}
    prefill, encode = model.prefill_after_image, model.encode_image
    monkeypatch.setattr(model, "prefill_after_image",
                        lambda *a, **k: calls["prefill"].append(a[1].shape[0]) or prefill(*a, **k))
    monkeypatch.setattr(model, "encode_image", lambda pv, *a, **k: calls["vision"].append(pv.shape[0]) or
                        encode(pv, *a, **k))
    IMAGE_CACHE.clear()
    engine = E.Engine(model)
    with torch.inference_mode():
        batch, cache = engine._admit(model, [], None, requests)
        while batch:
            batch, cache = engine._emit_and_step(model, batch, cache)
    assert calls["prefill"] == [5, 1] and calls["vision"] == [5, 1]
    monkeypatch.undo()
    for r, kw in zip(requests, kws):
        same_steps(_drain(r), alone(model, kw, max_new_tokens=8))


def test_the_image_block_alone_then_the_prompt_equals_one_prefill(git):
    """GIT's image tokens see only each other: their keys/values, kept per picture, plus a prefill of the
    prompt give the logits and attention records of one prefill of both."""
    from gitdemo.generation import prepare_inputs
    from gitdemo.models.layers import AttentionRecord

    model, processor = git
    kw = prepare(model, processor, scenes(1, seed=61), "what color is the circle?").model_kwargs
    pv, ids, mask, pos = prepare_inputs(model, kw["pixel_values"], kw["input_ids"], None)
    with torch.inference_mode():
        joint_cache = model.new_cache()
        joint, embeds, _ = model.prefill(pv, ids, mask, pos, joint_cache, AttentionRecord.LAST_ROW)
        block = model.image_block(embeds)
        n = block.length
        split = model.prefill_after_image(block, ids, mask, pos, AttentionRecord.LAST_ROW)
    assert n == embeds.shape[1] and block.length == joint_cache.length
    torch.testing.assert_close(split.logits, joint.logits[:, n:], atol=1e-4, rtol=1e-4)
    for a, b in zip(split.attentions, joint.attentions):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    for a, b in zip(block.keys, joint_cache.keys):
        torch.testing.assert_close(a[:, :, :block.length], b[:, :, :block.length], atol=1e-5, rtol=1e-4)
    assert torch.equal(block.ranks, joint_cache.ranks) and torch.equal(block.next_position, joint_cache.next_position)


def test_a_shared_picture_runs_the_decoder_over_the_words_only(git, monkeypatch):
    """Second question about the same picture: no vision tower, no image block; exact answers."""
    model, processor = git
    image = scenes(1, seed=71)[0]
    kws = [prepare(model, processor, [image], q).model_kwargs for q in (None, "what shape is red?")]
    IMAGE_CACHE.clear()
    engine = E.Engine(model)
    blocks = []
    image_block = model.image_block
    monkeypatch.setattr(model, "image_block", lambda e: blocks.append(e.shape[0]) or image_block(e))
    requests = [_request(model, kw, 6) for kw in kws]
    with torch.inference_mode():
        for r in requests:  # one after the other: the second finds the picture in the cache
            batch, cache = engine._admit(model, [], None, [r])
            while batch:
                batch, cache = engine._emit_and_step(model, batch, cache)
    assert blocks == [1] and IMAGE_CACHE.hits >= 1
    monkeypatch.undo()
    for r, kw in zip(requests, kws):
        same_steps(_drain(r), alone(model, kw, max_new_tokens=6))


def test_a_bad_request_fails_alone_in_its_group(git):
    model, processor = git
    kws = [prepare(model, processor, [im], None).model_kwargs for im in scenes(3, seed=41)]
    bad = dict(kws[1], input_ids=torch.full_like(kws[1]["input_ids"], 10**7))  # not in the vocabulary
    requests = [_request(model, kw, 5) for kw in (kws[0], bad, kws[2])]
    engine = E.Engine(model)
    with torch.inference_mode():
        batch, cache = engine._admit(model, [], None, requests)
        assert batch == [requests[0], requests[2]]
        while batch:
            batch, cache = engine._emit_and_step(model, batch, cache)
    assert isinstance(_drain(requests[1]), BaseException)
    for r, kw in ((requests[0], kws[0]), (requests[2], kws[2])):
        same_steps(_drain(r), alone(model, kw, max_new_tokens=5))


def test_encode_many_dedups_and_keeps_int8_rows_apart(git):
    """The same picture sent three times is encoded once; float models encode a burst in one batch, an
    int8 model (one activation scale per input tensor) one picture at a time, so cached values never
    depend on which other pictures arrived with them."""
    model, processor = git
    a, b = (prepare(model, processor, [im], None).pixel_values for im in scenes(2, seed=51))
    cache = ImageCache(budget_bytes=10**9)
    got = cache.encode_many(model, [a, b, a.clone(), a], True)
    assert cache.encodes == 2 and got[0] is got[2] is got[3]
    single = ImageCache(budget_bytes=10**9).encode(model, b, True)
    torch.testing.assert_close(got[1][0], single[0], atol=1e-5, rtol=1e-5)
    assert [v.shape for v in got[1][1]] == [v.shape for v in single[1]]  # this picture's vision records only
    int8 = gitdemo.load_model(None, precision="int8")
    seen = []
    encode = int8.encode_image
    int8.encode_image = lambda pv, *x, **k: seen.append(pv.shape[0]) or encode(pv, *x, **k)
    together = ImageCache(budget_bytes=10**9).encode_many(int8, [a, b], False)
    assert seen == [1, 1]
    assert torch.equal(together[1][0], ImageCache(budget_bytes=10**9).encode(int8, b, False)[0])


# ----------------------------------------------------------------------------- the app's side
def test_explorer_draws_closed_accordions_only_when_opened(git, tmp_path):
    import gradio as gr

    from gitdemo.pipeline.run import run
    from gitdemo.ui import registry
    from gitdemo.ui.explorer import FIGURES, Explorer

    model, processor = git
    image = scenes(1, seed=4)[0]
    path = tmp_path / "scene.png"
    image.save(path)
    payload = {"model": registry.EMBEDDED, **run(model, processor, [image], None, max_new_tokens=3).to_json()}
    with gr.Blocks(analytics_enabled=False):
        explorer = Explorer("lazy-test")
    controls = ("mean", "mean", True, True, 0.5, "viridis", 1, "attention")
    assert set(FIGURES) >= {"heatmap", "layers", "rollout"}

    def skipped(value):  # gr.skip(): an update that changes nothing
        return isinstance(value, dict) and set(value) == {"__type__"}

    def figure(out, name):  # the first value of a figure slot in a handler's outputs
        value = explorer.figure_value(out, name)
        return value[0] if isinstance(value, tuple) else value

    out = explorer._build(str(path), payload, *controls, [])  # every accordion closed
    expl = out[0]
    assert figure(out, "heatmap") is not None
    for name in ("layers", "heads", "rollout", "vision"):
        assert skipped(figure(out, name))  # not drawn
    assert skipped(out[9])  # nor the mask
    sel = explorer._select(expl, 1, *controls, ["rollout"])
    assert figure(sel, "rollout") is not None and not skipped(figure(sel, "rollout"))
    assert skipped(figure(sel, "layers"))
    opened, *figs = explorer._expand("layers")([], expl, 1, *controls)
    assert opened == ["layers"] and len(figs) == 4 and figs[0] is not None and figs[2] is not None
    opened, mask_image, mask_caption = explorer._expand("mask")(opened, expl, 1, *controls)
    assert opened == ["layers", "mask"] and mask_image is not None
    everything = explorer._build(str(path), payload, *controls)  # no open list (the old callers): all drawn
    assert not skipped(figure(everything, "vision"))


def test_warm_start_loads_and_touches_the_default(monkeypatch, tmp_path):
    from gitdemo.ui import registry, warm

    monkeypatch.setenv("GITDEMO_DEFAULT_MODEL", registry.EMBEDDED)
    assert registry.EMBEDDED in warm.default_keys()
    assert warm.warm([registry.EMBEDDED, str(tmp_path / "nowhere")]) == [registry.EMBEDDED]  # failures logged
    assert registry.EMBEDDED in registry.CACHE.names()
    monkeypatch.setenv("GITDEMO_WARM_START", "0")
    assert warm.start() is None
