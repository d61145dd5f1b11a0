"""One head's attention step by step (gitdemo.explain.scores, the `scores_of` AttentionRecord): the weights are the
softmax of the unmasked scores, the masked keys are exactly what the model's mask blocks, and the weights equal the
explorer's map for that token, layer and head. GIT (image, image-token query, video) and PaliGemma (the embedded
models), Gemma 2's soft cap and window (a tiny random PaliGemma 2), and `attend` itself on random tensors."""
from __future__ import annotations

import math

import pytest
import torch
from PIL import Image

import gitdemo
from gitdemo.explain import faithfulness as fa
from gitdemo.explain import scores as sc
from gitdemo.explain.mask import model_mask
from gitdemo.explain.trace import trace
from gitdemo.generation import forced_pass, teacher_forced
from gitdemo.io.assets import ASSETS
from gitdemo.models.layers import AttentionRecord, ScoreRow, attend
from gitdemo.pipeline import inputs as pipeline_inputs

MODELS = ASSETS / "models"
EXAMPLES = ASSETS / "examples"


@pytest.fixture(scope="module")
def git():
    folder = MODELS / "git-shapes"
    return gitdemo.load_model(folder), gitdemo.load_processor(folder)


@pytest.fixture(scope="module")
def pali():
    folder = MODELS / "paligemma-shapes"
    return gitdemo.load_model(folder, dtype="float32"), gitdemo.load_processor(folder)


def _setup(model, processor, images, prompt):
    inputs = pipeline_inputs.prepare(model, processor, images, prompt)
    ids = fa.greedy_answer(model, processor, inputs, max_new_tokens=8)
    assert len(ids) >= 3, "the embedded model should write a few tokens"
    return inputs, ids


def _check_arithmetic(view: sc.ScoreView):
    """weights = softmax of the unmasked scores; blocked keys weigh exactly 0; every blocked key has a rule."""
    expected = sc.softmax_of(view.scores, view.masked)
    assert max(abs(a - b) for a, b in zip(expected, view.weights, strict=True)) < 1e-5
    assert all(w == 0.0 for w, m in zip(view.weights, view.masked, strict=True) if m)
    assert abs(sum(view.weights) - 1) < 1e-5
    assert all((r in sc.REASONS) == m for r, m in zip(view.reasons, view.masked, strict=True))
    assert len(view.keys) == len(view.scores) == len(view.masked) == len(view.weights)


def _check_against_explorer(model, processor, images, prompt, inputs, ids, tokens, layers_heads):
    expl = trace(model, processor, images, prompt, ids)
    mask = model_mask(model, inputs, ids)  # (S, S): the mask drawn in the explorer, from the model's rule
    for t in tokens:
        for layer, head in layers_heads:
            view = sc.step_scores(model, processor, inputs, ids, layer, head, token=t)
            _check_arithmetic(view)
            assert view.masked == [not bool(x) for x in mask[view.query]]
            ref = expl.steps[t][layer, head]  # the explorer's map: keys 0..query
            got = torch.tensor(view.weights)
            assert torch.allclose(got[: ref.shape[0]], ref, atol=1e-5)
            assert float(got[ref.shape[0]:].abs().sum()) == 0.0  # later tokens: blocked (causal)
            # later tokens are blocked as causal text, or (the first answer token's query is the prompt's
            # last token) as the prefix that never reads the answer
            assert set(r for r in view.reasons if r) <= {"causal", "prefix"}
    return expl


def test_git_image_scores_equal_the_explorer(git):
    model, processor = git
    img = Image.open(EXAMPLES / "scene_00000.png")
    inputs, ids = _setup(model, processor, [img], None)
    heads = model.config.num_attention_heads
    _check_against_explorer(model, processor, [img], None, inputs, ids, [0, len(ids) - 1],
                            [(0, 0), (model.config.num_hidden_layers - 1, heads - 1)])
    view = sc.step_scores(model, processor, inputs, ids, 0, 0, token=1)
    lay = inputs.layout
    kinds = [k.kind for k in view.keys]
    assert kinds[0] == "cls" and kinds[1: 1 + lay.rows * lay.cols] == ["image"] * (lay.rows * lay.cols)
    assert kinds.count("answer") == len(ids) and kinds.count("prompt") == inputs.input_ids.shape[1]
    assert (view.keys[1].row, view.keys[1].col, view.keys[lay.cols + 1].row) == (1, 1, 2)
    data = view.to_json()
    assert {"token", "layer", "head", "keys", "scores", "masked", "weights"} <= set(data)
    assert data["token"] == 2 and data["layer"] == 1 and set(data["keys"][0]) == {"kind", "row", "col", "frame", "text"}


@pytest.mark.parametrize("family", ["git", "paligemma"])
def test_weights_equal_what_generation_recorded(family, git, pali):
    """The cached decoding loop's own record (one query per step, LAST_ROW) for that token, layer and head."""
    from gitdemo.generation import generate

    model, processor = git if family == "git" else pali
    img = Image.open(EXAMPLES / "scene_00004.png")
    inputs, ids = _setup(model, processor, [img] if family == "git" else img, None if family == "git" else "caption en")
    out = generate(model, max_new_tokens=len(ids), output_attentions=True, return_dict=True, **inputs.model_kwargs)
    assert out.new_tokens[0, : len(ids)].tolist() == ids
    for t in range(len(ids)):
        layer, head = t % model.num_decoder_layers(), (t + 1) % 3
        view = sc.step_scores(model, processor, inputs, ids, layer, head, token=t)
        recorded = out.attentions[t][layer][0, head].float()  # (K_step,): keys up to the query
        assert torch.allclose(torch.tensor(view.weights[: recorded.shape[0]]), recorded, atol=1e-5)


def test_git_image_token_query_reads_only_the_image(git):
    model, processor = git
    img = Image.open(EXAMPLES / "scene_00001.png")
    inputs, ids = _setup(model, processor, [img], None)
    patch = (1, 2, 3)
    view = sc.step_scores(model, processor, inputs, ids, 1, 1, patch=patch)
    _check_arithmetic(view)
    assert view.token is None and (view.keys[view.query].row, view.keys[view.query].col) == patch[1:]
    blocked = [k.kind for k, m in zip(view.keys, view.masked, strict=True) if m]
    assert blocked and set(blocked) == {"prompt", "answer"}  # every text key, and only text keys
    assert all(not m for k, m in zip(view.keys, view.masked, strict=True) if k.kind in ("image", "cls"))
    assert set(r for r in view.reasons if r) == {"image_reads_image"}
    # the same row of a full teacher-forced pass (every query recorded)
    seq = torch.cat([inputs.input_ids, torch.tensor([ids])], 1)
    tf = teacher_forced(model, inputs.pixel_values, seq, inputs.input_ids.shape[1])
    assert torch.allclose(torch.tensor(view.weights), tf.full[1][0, 1, view.query], atol=1e-5)


def test_git_video_keys_are_the_frames_patches(git):
    from gitdemo.io.video import read_frames

    model, processor = git
    frames = read_frames(str(EXAMPLES / "video_00000.mp4"), model.config.num_image_with_embedding).frames
    inputs, ids = _setup(model, processor, frames, None)
    lay = inputs.layout
    assert lay.num_frames == len(frames) > 1
    _check_against_explorer(model, processor, frames, None, inputs, ids, [1], [(1, 2)])
    view = sc.step_scores(model, processor, inputs, ids, 1, 2, token=1)
    image = [k for k in view.keys if k.kind == "image"]
    assert len(image) == lay.num_frames * lay.rows * lay.cols
    assert [k.frame for k in view.keys if k.kind == "cls"] == list(range(1, lay.num_frames + 1))
    assert image[lay.rows * lay.cols].frame == 2 and image[lay.rows * lay.cols].row == 1
    # an image token of frame 2 reads every frame's image tokens (one bidirectional block), no text
    patch_view = sc.step_scores(model, processor, inputs, ids, 0, 0, patch=(2, 1, 1))
    assert [k.kind for k, m in zip(patch_view.keys, patch_view.masked, strict=True) if not m].count("image") == len(image)


def test_paligemma_scores_equal_the_explorer(pali):
    model, processor = pali
    img = Image.open(EXAMPLES / "scene_00002.png")
    inputs, ids = _setup(model, processor, img, "caption en")
    cfg = model.config.text_config
    _check_against_explorer(model, processor, img, "caption en", inputs, ids, [0, len(ids) - 1],
                            [(0, 1), (cfg.num_hidden_layers - 1, cfg.num_attention_heads - 1)])
    view = sc.step_scores(model, processor, inputs, ids, 0, 0, token=0)
    kinds = [k.kind for k in view.keys]
    assert "cls" not in kinds and kinds[: inputs.layout.num_image_tokens] == ["image"] * inputs.layout.num_image_tokens
    # the first answer token's query is the prompt's last token ("\n"): it reads the whole prefix
    assert view.keys[view.query].kind == "prompt"
    assert [k.kind for k, m in zip(view.keys, view.masked, strict=True) if m] == ["answer"] * len(ids)
    # an image token's query (prefix): bidirectional over image and prompt, blind to the answer
    pv = sc.step_scores(model, processor, inputs, ids, 1, 0, patch=(1, 1, 1))
    _check_arithmetic(pv)
    assert [k.kind for k, m in zip(pv.keys, pv.masked, strict=True) if m] == ["answer"] * len(ids)
    assert set(r for r in pv.reasons if r) == {"prefix"}


def test_wrong_layer_head_or_token_is_a_sentence(git):
    model, processor = git
    inputs, ids = _setup(model, processor, [Image.open(EXAMPLES / "scene_00000.png")], None)
    with pytest.raises(gitdemo.errors.InputError, match="Layer"):
        sc.step_scores(model, processor, inputs, ids, 99, 0)
    with pytest.raises(gitdemo.errors.InputError, match="Head"):
        sc.step_scores(model, processor, inputs, ids, 0, 99)
    with pytest.raises(gitdemo.errors.InputError, match="Token"):
        sc.step_scores(model, processor, inputs, ids, 0, 0, token=len(ids))


# ----------------------------------------------------------------------------- the record itself
@pytest.mark.parametrize("softcap", [None, 2.0])
def test_attend_score_row_is_the_softmax_it_feeds(softcap):
    """On random tensors: scores = q.k*scale (capped), allowed = the mask row, weights = FULL's row; same output."""
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, 4, 7, 8, generator=g) for _ in range(3))
    k, v = k[:, :2], v[:, :2]  # grouped-query: 2 key heads for 4 query heads
    mask = torch.rand(1, 1, 7, 7, generator=g) > 0.3
    mask[..., 0] = True
    out_full, probs = attend(q, k, v, mask, AttentionRecord.FULL, softcap=softcap)
    out, row = attend(q, k, v, mask, AttentionRecord.scores_of(4, 0), softcap=softcap)
    assert isinstance(row, ScoreRow) and torch.allclose(out, out_full, atol=1e-6)
    expected = torch.einsum("bhd,bhkd->bhk", q[:, :, 4], k.repeat_interleave(2, 1)) / math.sqrt(8)
    if softcap:
        expected = torch.tanh(expected / softcap) * softcap
        assert float(row.scores.abs().max()) <= softcap
    assert torch.allclose(row.scores, expected, atol=1e-5)
    assert torch.equal(row.allowed[0, 0], mask[0, 0, 4])
    assert torch.allclose(row.weights, probs[:, :, 4], atol=1e-6)
    blocked = expected.masked_fill(~mask[0, 0, 4], float("-inf")).softmax(-1)
    assert torch.allclose(row.weights, blocked, atol=1e-6)


def test_gemma2_scores_are_capped_and_windowed(tmp_path):
    """A tiny PaliGemma 2 (soft cap 3, window 5): the recorded scores are what softmax read, the window's blocked
    keys are the sliding layer's, and the weights are the FULL record's row."""
    pytest.importorskip("transformers")
    from test_paligemma import TINY, batch, write_reference

    write_reference(tmp_path, TINY["gemma2"])
    model = gitdemo.load_model(tmp_path, dtype="float32")
    inputs, _ = batch(TINY["gemma2"], [6], suffixes=[8])
    inputs = {k: v[:1] for k, v in inputs.items()}
    seq, types = inputs["input_ids"], inputs["token_type_ids"]
    query = seq.shape[1] - 2
    full, _, _ = forced_pass(model, inputs["pixel_values"], seq, inputs["attention_mask"], types, AttentionRecord.FULL)
    for layer in range(model.config.text_config.num_hidden_layers):
        out, _, _ = forced_pass(model, inputs["pixel_values"], seq, inputs["attention_mask"], types,
                                AttentionRecord.scores_of(query, layer))
        row = out.attentions[layer]
        assert all(a is None for i, a in enumerate(out.attentions) if i != layer)
        assert float(row.scores.abs().max()) <= 3.0 + 1e-6
        assert torch.allclose(row.weights, full.attentions[layer][:, :, query], atol=1e-5)
        lm = model.model.language_model
        ranks, valid = model.layout(seq, inputs["attention_mask"], types)
        full_mask, local, _ = lm.masks(ranks, valid, None)
        sliding = lm.layers[layer].window is not None
        assert torch.equal(row.allowed[0, 0], (local if sliding else full_mask)[0, 0, query])
        if sliding:  # the window bites: an earlier suffix key is blocked
            assert bool((~row.allowed[0, 0, :query]).any())
