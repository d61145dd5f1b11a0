"""The PaliGemma tab: the Gradio-free pipeline on a tiny random PaliGemma, the tab, and its `/paligemma` API.

The checkpoint is written by the reference (`transformers.PaliGemmaForConditionalGeneration.save_pretrained`)
with a Gemma-shaped tokenizer built here (as in test_paligemma_processing) holding <image>, <loc>, <seg>.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

import gitdemo
from gitdemo.bench.common import free_port
from gitdemo.errors import InputError
from gitdemo.explain.mask import mask_views, sequence
from gitdemo.explain.trace import trace as exploration
from gitdemo.pipeline.answers import annotations, describe_detections
from gitdemo.pipeline.prompts import build_prompt, clean_prompt
from gitdemo.pipeline.run import run, run_stream
from gitdemo.pipeline.segmask import MaskDecoder
from gitdemo.processing.paligemma import LOC_TOKENS, SEG_TOKENS

transformers = pytest.importorskip("transformers")

SIZE, PATCH = 24, 8  # 3 x 3 patches
CORPUS = ["caption en", "describe en", "answer en what is on the table?", "detect cat ; dog", "segment the red car",
          "a cat sitting on a bench", "two dogs playing in the snow", "ocr", "a red circle"]


def build_tokenizer(path):
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.Replace(" ", "▁")
    tok.pre_tokenizer = pre_tokenizers.Split("▁", behavior="merged_with_next")
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.Fuse()])
    alphabet = sorted(set("".join(CORPUS)) | set("abcdefghijklmnopqrstuvwxyz<>?;.,_\n▁0123456789"))
    tok.train_from_iterator(CORPUS * 4, trainers.BpeTrainer(vocab_size=120, initial_alphabet=alphabet,
                                                            special_tokens=["<pad>", "<eos>", "<bos>", "<unk>"]))
    tok.add_special_tokens([AddedToken("<image>", special=True, normalized=False)])
    tok.add_tokens([AddedToken(t, normalized=False) for t in LOC_TOKENS + SEG_TOKENS])
    tok.save(str(path / "tokenizer.json"))
    return tok


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A complete PaliGemma folder: random weights (reference layout), tokenizer, preprocessor config."""
    folder = tmp_path_factory.mktemp("tiny-paligemma")
    tok = build_tokenizer(folder)
    vocab = tok.get_vocab_size(with_added_tokens=True)
    torch.manual_seed(0)
    cfg = transformers.PaliGemmaConfig(
        vision_config=dict(model_type="siglip_vision_model", hidden_size=32, intermediate_size=40, num_hidden_layers=2,
                           num_attention_heads=4, image_size=SIZE, patch_size=PATCH, vision_use_head=False),
        text_config=dict(model_type="gemma", vocab_size=vocab, hidden_size=32, intermediate_size=48,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1, head_dim=16),
        image_token_index=tok.token_to_id("<image>"), projection_dim=32)
    ref = transformers.PaliGemmaForConditionalGeneration(cfg).eval()
    with torch.no_grad():  # larger than the reference's init, so greedy paths wander
        for p in ref.parameters():
            p.normal_(0, 0.4 if p.ndim == 1 else 1.5 / math.sqrt(p[0].numel()))
        lm = ref.model.language_model
        lm.embed_tokens.weight.normal_(0, 0.2 / math.sqrt(lm.embed_tokens.weight.shape[1]))
        lm.norm.weight.normal_(5.0, 1.0)
        lm.embed_tokens.weight[1] *= 0  # no <eos>: answers run to max_new_tokens
    ref.save_pretrained(folder)
    (folder / "preprocessor_config.json").write_text(json.dumps({
        "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": [0.5] * 3, "image_std": [0.5] * 3,
        "image_processor_type": "SiglipImageProcessor", "image_seq_length": (SIZE // PATCH) ** 2, "resample": 3,
        "rescale_factor": 1 / 255, "size": {"height": SIZE, "width": SIZE}}))
    return folder


@pytest.fixture(scope="module")
def loaded(tiny):
    return gitdemo.load_model(tiny, dtype="float32"), gitdemo.load_processor(tiny)


@pytest.fixture(scope="module")
def picture(tmp_path_factory):
    rng = np.random.default_rng(0)
    img = Image.fromarray((rng.random((40, 60, 3)) * 255).astype("uint8"))
    path = tmp_path_factory.mktemp("img") / "picture.png"
    img.save(path)
    return img, path


def loc(*v):
    return "".join(f"<loc{x:04d}>" for x in v)


# ----------------------------------------------------------------------------- the pipeline
def test_stream_tokens_and_attention_grids(loaded, picture):
    model, processor = loaded
    img, _ = picture
    results = [(r.text, len(r.tokens), r.done) for r in run_stream(model, processor, img, "caption en",
                                                                       max_new_tokens=6)]
    assert [n for _, n, done in results if not done] == [1, 2, 3, 4, 5, 6]  # one update per token, then the end
    result = run(model, processor, img, "caption en", max_new_tokens=6)
    assert result.done and result.parsed is not None and len(result.tokens) == 6
    assert result.text == processor.decode([t.id for t in result.tokens])
    for t in result.tokens:
        assert t.attention.shape == (1, 3, 3)
        assert abs(t.attention.sum() - 1) < 1e-6 and (t.attention >= 0).all()
        assert len(t.top) == 5 and t.top[0][1] >= t.top[-1][1]
    assert result.steps[0].shape[:2] == (2, 4)  # layers, heads
    data = result.to_json()
    json.dumps(data)
    assert data["grid"] == [3, 3] and data["image_size"] == [60, 40] and len(data["tokens"]) == 6
    assert np.isclose(np.asarray(data["tokens"][0]["attention"]).sum(), 1, atol=1e-4)
    # the image tokens are first: 9 <image>, then <bos>
    assert result.prompt_ids[:10] == [processor.image_token_id] * 9 + [processor.bos_id]


def test_beam_and_sampling(loaded, picture):
    model, processor = loaded
    img, _ = picture
    beam = run(model, processor, img, "caption en", max_new_tokens=4, num_beams=2)
    assert beam.done and 1 <= len(beam.tokens) <= 4 and beam.tokens[0].attention.shape == (1, 3, 3)
    a = run(model, processor, img, "caption en", max_new_tokens=4, do_sample=True, temperature=1.5, top_p=0.9, seed=3)
    b = run(model, processor, img, "caption en", max_new_tokens=4, do_sample=True, temperature=1.5, top_p=0.9, seed=3)
    assert [t.id for t in a.tokens] == [t.id for t in b.tokens]


def test_typed_image_token_is_text(loaded, picture):
    model, processor = loaded
    img, _ = picture
    result = run(model, processor, img, "<image><bos> caption en", max_new_tokens=2)
    assert result.prompt_ids.count(processor.image_token_id) == 9  # only the processor's own placeholders
    assert result.prompt_ids.count(processor.bos_id) == 1


def test_prompt_builder():
    assert build_prompt("detect", "cat;  dog ", "en") == "detect cat ; dog"
    assert build_prompt("caption", "", "fr") == "caption fr"
    assert build_prompt("answer", "what is it?", "en") == "answer en what is it?"
    assert build_prompt("ocr", "", "en", free_prompt="  my   own ") == "my own"
    with pytest.raises(InputError):
        build_prompt("answer", "", "en")
    with pytest.raises(InputError):
        clean_prompt("   ")


def test_answer_to_annotated_image(picture, tmp_path):
    img, _ = picture
    answer = f"{loc(256, 128, 768, 896)} cat ; {loc(0, 0, 512, 512)} dog ; {loc(1, 2, 3)} broken"
    (image, items), parsed = annotations(img, answer, masks=False)
    assert image is img
    assert items == [((8, 10, 52, 30), "cat"), ((0, 0, 30, 20), "dog")]  # (x0, y0, x1, y1) in the 60 x 40 image
    text = describe_detections(parsed)
    assert "<loc0256><loc0128><loc0768><loc0896>" in text and "x 128/1024·60 = 8" in text
    assert "No `<loc>` boxes" in describe_detections(annotations(img, "a cat", masks=False)[1])
    # a <seg> object with a (random) mask decoder: a box and an image-sized float mask
    torch.manual_seed(0)
    decoder = MaskDecoder().eval()
    seg = "".join(f"<seg{i:03d}>" for i in range(16))
    (_, items), parsed = annotations(img, f"{loc(100, 200, 600, 900)}{seg} cat", decoder=decoder)
    (box, label), (mask, mlabel) = items
    assert label == mlabel == "cat" and mask.shape == (40, 60) and mask.dtype == np.float32
    assert 0 <= mask.min() and mask.max() <= 1


def test_mask_views_prefix_lm_beside_git(loaded):
    model, processor = loaded
    ids = processor.encode_text("a red circle")
    views = mask_views(model, processor, "caption en", ids)
    assert views.paligemma.image.size[0] > 100 and views.git.image.size[0] > 100
    pali = " ".join(views.paligemma_sentences)
    git = " ".join(views.git_sentences)
    assert "image → prompt: all visible" in pali and "image → prompt: all masked" in git
    assert "prompt → prompt: all visible" in pali and "prompt → prompt: causal" in git
    assert "answer → answer: causal" in pali and "answer → answer: causal" in git
    seq, mask, types = sequence(model, processor, "caption en", ids)
    m = model.mask_for(seq, mask, types)[0, 0]
    p = int((types[0] == 0).sum())
    assert m[:p, :p].all() and not m[:p, p:].any()


def test_exploration_renders(loaded, picture):
    from gitdemo.explain.views import View, mask_figure, render

    model, processor = loaded
    img, _ = picture
    result = run(model, processor, img, "caption en", max_new_tokens=3)
    expl = exploration(model, processor, img, "caption en", [t.id for t in result.tokens], "tiny")
    assert len(expl.steps) == 3 and expl.layout.has_cls is False
    for step, token in zip(expl.steps, result.tokens):  # the teacher-forced record equals the streamed one
        assert torch.allclose(step, result.steps[token.step], atol=1e-5)
    figs = render(expl, View(token=1))
    assert figs["heatmap"] is not None and figs["rollout"] is not None and figs["vision"] is None
    fig, sentences = mask_figure(expl)
    assert any("answer → answer: causal" in s for s in sentences)


# ----------------------------------------------------------------------------- the tab and its API
@pytest.fixture(scope="module")
def demo():
    import gradio as gr

    from gitdemo.ui.tabs import paligemma as paligemma_tab

    with gr.Blocks(analytics_enabled=False) as blocks:
        with gr.Tabs():
            paligemma_tab.build()
    return blocks


def test_tab_builds_with_named_endpoint(demo):
    from gitdemo.ui.tabs import paligemma as paligemma_tab

    assert paligemma_tab.available()
    cfg = demo.get_config_file()
    named = {d.get("api_name") for d in cfg["dependencies"] if d.get("api_visibility", "public") == "public"}
    assert "paligemma" in named
    ids = {c.get("props", {}).get("elem_id") for c in cfg["components"]}
    assert {"paligemma-prompt", "paligemma-boxes", "paligemma-mask", "paligemma-git-mask",
            "paligemma-chips"} <= ids


@pytest.fixture(scope="module")
def client(demo, monkeypatch_module):
    from gradio_client import Client

    monkeypatch_module.setenv("HF_HUB_OFFLINE", "1")
    port = free_port()
    demo.queue()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield Client(f"http://127.0.0.1:{port}", analytics_enabled=False, verbose=False)
    finally:
        demo.close()


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.fixture(scope="module", autouse=True)
def local_models_on(monkeypatch_module):
    """These tests load a tiny folder: as the person running the app would, turn local folders on."""
    monkeypatch_module.setenv("GITDEMO_LOCAL_MODELS", "1")


def test_api_with_local_folder(client, tiny, picture):
    from gradio_client import handle_file

    _, path = picture
    info = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/paligemma"]["parameters"]
    names = [p["parameter_name"] for p in info]
    assert names[:4] == ["image", "prompt", "model", "folder"]
    assert not info[0]["parameter_has_default"] and all(p["parameter_has_default"] for p in info[2:])
    text, annotated, note, data = client.predict(handle_file(str(path)), "caption en", folder=str(tiny),
                                                 max_new_tokens=5, api_name="/paligemma")
    assert isinstance(text, str) and data["text"] == text and data["prompt"] == "caption en"
    assert data["grid"] == [3, 3] and len(data["tokens"]) == 5 and data["image_size"] == [60, 40]
    # the random model writes mostly <loc> tokens: whatever boxes the text holds, the JSON and the image show
    (_, items), parsed = annotations(picture[0], text, masks=False)
    assert [d["box"] for d in data["detections"]] == [list(d.box) for d in parsed.detections]
    if items:
        assert annotated is not None and len(annotated["annotations"]) == len(items)
    for t in data["tokens"]:
        assert np.isclose(np.asarray(t["attention"]).sum(), 1, atol=1e-4)
    updates = list(client.submit(handle_file(str(path)), "<image> caption en", folder=str(tiny), max_new_tokens=3,
                                 api_name="/paligemma"))
    assert len(updates) >= 2 and updates[-1][3]["prompt"] == "<image> caption en"


def test_api_missing_model_is_a_clear_error(client, picture, tmp_path):
    from gradio_client import handle_file

    _, path = picture
    with pytest.raises(Exception, match="not a PaliGemma checkpoint folder"):
        client.predict(handle_file(str(path)), "caption en", folder=str(tmp_path / "nowhere"), api_name="/paligemma")
    with pytest.raises(Exception, match="HF_TOKEN"):
        client.predict(handle_file(str(path)), "caption en", model="google/paligemma-3b-mix-224",
                       api_name="/paligemma")
    with pytest.raises(Exception, match="Type a prompt"):
        client.predict(handle_file(str(path)), "  ", api_name="/paligemma")


def test_explorer_builds_from_the_result_json(tiny, loaded, picture):
    import gradio as gr

    from gitdemo.ui.explorer import Explorer

    model, processor = loaded
    _, path = picture
    result = run(model, processor, picture[0], "caption en", max_new_tokens=3)
    payload = {"model_key": str(tiny.resolve()), **result.to_json()}
    with gr.Blocks(analytics_enabled=False):
        explorer = Explorer("pg-test")
    out = explorer._build(str(path), payload, "mean", "mean", True, True, 0.5, "viridis", 1)
    assert len(out) == 11 + len(explorer._cleared) + len(explorer.figure_outputs)
    expl, chips, status = out[0], out[2], out[8]
    assert len(expl.tokens) == 3 and "3 x 3 patches" in status and len(chips["choices"]) == 3
    assert out[9] is not None and "answer → answer: causal" in out[10]  # the mask of this result
    assert 'role="grid"' in explorer.figure_value(out, "heatmap")  # the heatmap, drawn by the browser
    empty = explorer._build(str(path), None, "mean", "mean", True, True, 0.5, "viridis", 1)
    assert empty[0] is None


def test_offline_without_any_paligemma_says_what_to_do(monkeypatch, tmp_path):
    from gitdemo.ui import registry

    monkeypatch.setenv("GITDEMO_EMBEDDED_PALIGEMMA", str(tmp_path))  # no config.json there
    monkeypatch.setattr(registry, "_online", False)
    monkeypatch.setattr(registry, "_cached", lambda repo: False)
    note = registry.offline_note()
    assert "HF_TOKEN" in note and "licence" in note and "local folder" in note
    assert registry.default_model("paligemma") == registry.PALI_MODELS[0]
    assert [v for _, v in registry.dropdown_choices("paligemma")] == registry.PALI_MODELS
    monkeypatch.setenv("GITDEMO_LOCAL_MODELS", "0")
    with pytest.raises(InputError, match="local folders"):
        registry.resolve(None, registry.PALIGEMMA, str(tmp_path))


def test_one_registry_serves_both_families(tmp_path):
    """One cache for every tab: each tab takes only its family's names; the explorer finds the model of a
    result JSON whichever family wrote it; a path is never a model name."""
    from gitdemo.errors import GitDemoError
    from gitdemo.ui import registry

    pali = registry.PALI_MODELS[0]
    assert registry.resolve(pali, registry.PALIGEMMA) == pali and registry.family(pali) == registry.PALIGEMMA
    assert registry.resolve(None, registry.GIT) == registry.EMBEDDED and registry.family("embedded") == registry.GIT
    with pytest.raises(GitDemoError, match="Unknown model"):
        registry.resolve(pali, registry.GIT)  # the caption tab does not run PaliGemma
    with pytest.raises(InputError, match="Unknown PaliGemma model"):
        registry.resolve(registry.EMBEDDED, registry.PALIGEMMA)
    with pytest.raises(GitDemoError, match="Unknown model"):
        registry.resolve(str(tmp_path), registry.GIT, folder=str(tmp_path))  # folders are PaliGemma-only
    assert registry.key_of({"model": "embedded"}) == registry.EMBEDDED
    assert registry.key_of({"model": "local folder", "model_key": pali}) == pali
    with pytest.raises(InputError, match="not a PaliGemma checkpoint folder"):
        registry.key_of({"model_key": str(tmp_path)})
