"""The training path of the embedded Shapes model, on a tiny config (seconds, not the real run)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from gitdemo import shapes
from gitdemo import train as T

TINY = ["--image-size", "64", "--patch-size", "16", "--vision-dim", "32", "--vision-layers", "1", "--dim", "48",
        "--layers", "1", "--batch", "4", "--video-batch", "1", "--warmup", "3", "--eval-every", "0",
        "--save-every", "0", "--log-every", "1", "--quiet", "--threads", "1"]


def _train(tmp_path, name, steps, seed=0, extra=()):
    args = T.parse_args(["--out", str(tmp_path / name), "--steps", str(steps), "--seed", str(seed), *TINY, *extra])
    return T.train(args), tmp_path / name


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tiny")
    log, folder = _train(tmp, "run", 30, extra=["--lr", "3e-3"])
    return log, folder


def test_loss_falls(trained):
    log, _ = trained
    lm = [h["lm"] for h in log["history"]]
    assert len(lm) == 30
    assert np.mean(lm[-5:]) < 0.6 * np.mean(lm[:3]), lm
    assert all(np.isfinite(lm))
    assert "ground_frac" in log["history"][-1]


def test_seeded_runs_reproduce(tmp_path):
    from safetensors.torch import load_file

    _, a = _train(tmp_path, "a", 3, seed=5)
    _, b = _train(tmp_path, "b", 3, seed=5)
    _, c = _train(tmp_path, "c", 3, seed=6)
    sa, sb, sc = (load_file(str(f / "model.safetensors")) for f in (a, b, c))
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert any(not torch.equal(sa[k], sc[k]) for k in sa)


def test_time_budgeted_run_replays_exactly(tmp_path):
    from safetensors.torch import load_file

    log, a = _train(tmp_path, "timed", 10**6, extra=["--minutes", "0.02"])
    assert 1 <= log["steps_done"] == len(log["progress_trace"]) < 10**6
    _, b = _train(tmp_path, "replayed", 1, extra=["--replay", str(a / "training_log.json")])
    sa, sb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_folder_layout(trained):
    _, folder = trained
    for name in ("config.json", "model.safetensors", "tokenizer.json", "vocab.txt", "tokenizer_config.json",
                 "special_tokens_map.json", "preprocessor_config.json", "training_report.md",
                 "training_curves.png", "training_log.json"):
        assert (folder / name).is_file(), name
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["model_type"] == "git" and cfg["num_image_with_embedding"] == 6
    vocab = (folder / "vocab.txt").read_text().split("\n")
    assert vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert (cfg["pad_token_id"], cfg["bos_token_id"], cfg["eos_token_id"]) == (0, 2, 3)
    pre = json.loads((folder / "preprocessor_config.json").read_text())
    assert pre["image_processor_type"] == "CLIPImageProcessor" and pre["crop_size"] == {"height": 64, "width": 64}
    from safetensors import safe_open

    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        keys = set(f.keys())
    assert "git.img_temporal_embedding.5" in keys
    assert "git.image_encoder.vision_model.embeddings.patch_embedding.weight" in keys


def test_tokenizer_matches_transformers(trained):
    from transformers import AutoTokenizer, BertTokenizer

    from gitdemo import load_processor

    _, folder = trained
    ours = load_processor(folder).tokenizer
    fast = AutoTokenizer.from_pretrained(str(folder))
    slow = BertTokenizer.from_pretrained(str(folder))
    rng = np.random.default_rng(0)
    texts = ["A red circle left of a blue square", "what color is the triangle?", "a green square moving up",
             "Is there a yellow circle?", "zebra"]
    texts += [shapes.draw_scene(rng).caption for _ in range(5)]
    for t in texts:
        assert ours.encode(t) == fast(t)["input_ids"] == slow(t)["input_ids"], t
        assert ours.decode(ours.encode(t)) == fast.decode(fast(t)["input_ids"], skip_special_tokens=True)
    assert T.TextCodec(T.build_vocab()).qa("what color is the circle?", "red")[0] == \
        ours.encode_prompt("what color is the circle?") + ours.encode("red")[1:]


def test_loads_in_ours_and_transformers_same_greedy(trained):
    from transformers import GitForCausalLM

    from gitdemo import load_model, load_processor
    from gitdemo.generation import generate

    _, folder = trained
    ours = load_model(folder)
    proc = load_processor(folder)
    ref = GitForCausalLM.from_pretrained(str(folder)).eval()
    rng = np.random.default_rng(1)
    images = [shapes.draw_scene(rng).image for _ in range(3)]
    pv = proc.image_processor(images)
    with torch.no_grad():
        a = generate(ours, pixel_values=pv, max_new_tokens=8)
        b = ref.generate(pixel_values=pv, max_new_tokens=8, do_sample=False, num_beams=1)
        la = ours(pixel_values=pv, input_ids=a).logits
        lb = ref(pixel_values=pv, input_ids=a).logits
    assert torch.allclose(la, lb, atol=1e-4), (la - lb).abs().max()
    n = min(a.shape[1], b.shape[1])
    assert torch.equal(a[:, :n], b[:, :n])
    clip = shapes.draw_video(rng, frame_indices=T.frame_indices())
    vpv = proc.image_processor.preprocess_frames(clip.frames)[None]
    with torch.no_grad():
        va = generate(ours, pixel_values=vpv, max_new_tokens=6)
        vb = ref.generate(pixel_values=vpv, max_new_tokens=6, do_sample=False, num_beams=1)
    n = min(va.shape[1], vb.shape[1])
    assert torch.equal(va[:, :n], vb[:, :n])


def test_training_pixels_equal_the_processor(trained):
    from transformers import CLIPImageProcessor

    from gitdemo import load_processor

    _, folder = trained
    rng = np.random.default_rng(2)
    images = [shapes.draw_scene(rng).image for _ in range(3)]
    proc = load_processor(folder).image_processor
    fast = T.pixels(images, 64)  # what the trainer computes (resize 224 -> 64 like the config says)
    assert torch.equal(fast, proc(images))
    ref = CLIPImageProcessor.from_pretrained(str(folder))(images, return_tensors="pt")["pixel_values"]
    assert torch.allclose(fast, ref, atol=1e-5)
    # at the shipped size (224) the resize is the identity and the batched path is exact too
    arr = torch.from_numpy(np.stack([np.asarray(im) for im in images]))
    from gitdemo.processing import ImageProcessor

    full = ImageProcessor.from_dict(json.loads((folder / "preprocessor_config.json").read_text())
                                    | {"size": {"shortest_edge": 224}, "crop_size": {"height": 224, "width": 224}})
    assert torch.equal(T.normalise_uint8(arr), full(images))


def test_frame_rule_is_the_apps():
    from gitdemo.io.video import frame_indices

    assert T.frame_indices() == frame_indices(shapes.N_FRAMES, T.FRAMES) == [2, 6, 10, 14, 18, 22]


def test_grounding_targets():
    codec = T.TextCodec(T.build_vocab())
    data = T.DataSource(codec, 0, 7, 224, p_two=1.0)
    b = data.images(4)
    # every caption grounds exactly its 4 colour/shape words, each on a non-empty set of cells
    caps = b.ground[:4]
    assert caps.sum(1).tolist() == [4, 4, 4, 4]
    assert bool(b.cells[:4][caps].any(-1).all())
    assert b.labels[4:][b.input_ids[4:] == codec.ids["?"]].eq(-100).all()  # no loss on the question


def test_patch_classes_follow_the_boxes():
    """The patch probe's content targets: a patch is an object's when its centre lies in that box."""
    rng = np.random.default_rng(3)
    sc = shapes.draw_scene(rng, 2)
    grid = 7
    cls = T.patch_classes(sc.objects, grid).reshape(grid, grid)
    centre = (np.arange(grid) + 0.5) * 32
    for o in sc.objects:
        x0, y0, x1, y1 = o.box
        want = np.zeros((grid, grid), bool)
        want[np.ix_((centre >= y0) & (centre < y1), (centre >= x0) & (centre < x1))] = True
        assert np.array_equal(cls == 1 + T.PAIRS.index((o.colour, o.shape)), want)
    assert (cls == 0).sum() == grid * grid - sum(int((cls == 1 + T.PAIRS.index((o.colour, o.shape))).sum())
                                                 for o in sc.objects)
    assert (cls > 0).any()  # objects are at least 44 px, a 32 px grid always has a centre inside


def test_patch_loss_targets_rows_columns_and_content():
    """A head that reads perfect one-hot features scores 100% and a loss near 0; video frames are
    laid side by side after a CLS each."""
    grid, frames, b = 3, 2, 2
    n_cls = 1 + len(T.PAIRS)
    dim = 2 * grid + n_cls
    patch_cls = torch.randint(0, n_cls, (b, frames * grid * grid))
    feats = torch.zeros(b, frames, 1 + grid * grid, dim)
    for i in range(grid * grid):
        feats[:, :, 1 + i, i // grid] = 1
        feats[:, :, 1 + i, grid + i % grid] = 1
    feats[:, :, 1:, 2 * grid:] = torch.nn.functional.one_hot(patch_cls.view(b, frames, -1), n_cls).float()
    feats[:, :, 0] = 5.0  # CLS tokens: must be skipped
    head = torch.nn.Linear(dim, dim, bias=False)
    with torch.no_grad():
        head.weight.copy_(torch.eye(dim) * 50)
    loss, acc = T.patch_loss(head, feats.view(b, -1, dim), patch_cls, grid)
    assert acc == 1.0 and float(loss.detach()) < 1e-3
    wrong = patch_cls.clone()
    wrong[0, 0] = (wrong[0, 0] + 1) % n_cls
    loss2, acc2 = T.patch_loss(head, feats.view(b, -1, dim), wrong, grid)
    assert acc2 < 1.0 and float(loss2.detach()) > 1.0
    # SigLIP tokens have no CLS: lead=0 reads the grid straight (here: frame 0's grid without its CLS)
    loss3, acc3 = T.patch_loss(head, feats[:, 0, 1:], patch_cls[:, :grid * grid], grid, lead=0)
    assert acc3 == 1.0 and float(loss3.detach()) < 1e-3
    _, acc4 = T.patch_loss(head, feats[:, 0, :grid * grid], patch_cls[:, :grid * grid], grid, lead=0)
    assert acc4 < 1.0  # reading the CLS as a patch shifts every target


def test_patch_probe_trains_and_stays_out_of_the_checkpoint(tmp_path):
    from safetensors.torch import load_file

    log, folder = _train(tmp_path, "aux", 12, extra=["--lr", "3e-3", "--aux-weight", "0.5"])
    _, plain = _train(tmp_path, "plain", 1)
    hist = log["history"]
    assert all("patch" in h and "vpatch" in h for h in hist)
    assert np.mean([h["patch"] for h in hist[-3:]]) < 0.8 * np.mean([h["patch"] for h in hist[:2]])
    assert load_file(str(folder / "model.safetensors")).keys() == load_file(str(plain / "model.safetensors")).keys()
    assert "patch-probe weight 0.5" in (folder / "training_report.md").read_text()


def test_question_weight_reweights_answer_tokens_only(trained):
    """--question-weight: the total is the token mean with answer tokens counted q times; the logged
    per-task losses do not change."""
    from gitdemo.io.checkpoint import load_state_dict, rename_keys
    from gitdemo.models.git import GitForCausalLM

    _, folder = trained
    cfg = T.GitConfig.from_dict(json.loads((folder / "config.json").read_text()))
    model = GitForCausalLM(cfg)
    model.load_state_dict(rename_keys(load_state_dict(folder)))
    codec = T.TextCodec(T.build_vocab())
    batch = T.DataSource(codec, 11, cfg.vision_config.grid, cfg.vision_config.image_size).images(4)
    with torch.no_grad():
        plain, p1 = T.compute_loss(model, batch, 0.0)
        only_q, p2 = T.compute_loss(model, batch, 0.0, question_weight=1e9)  # ~ the answer-token mean
        only_c, _ = T.compute_loss(model, batch, 0.0, question_weight=1e-9)  # ~ the caption-token mean
        w3, _ = T.compute_loss(model, batch, 0.0, question_weight=3.0)
    assert p1 == p2
    n = (batch.labels[:, 1:] != -100).sum(1).double()
    is_q = torch.tensor([k.endswith("question") for k in batch.kinds])
    nc, nq = float(n[~is_q].sum()), float(n[is_q].sum())
    lc, lq = float(only_c), float(only_q)
    assert lc != pytest.approx(lq, rel=1e-3)
    assert float(plain) == pytest.approx((nc * lc + nq * lq) / (nc + nq), rel=1e-4)
    assert float(w3) == pytest.approx((nc * lc + 3 * nq * lq) / (nc + 3 * nq), rel=1e-4)


# ----------------------------------------------------------------------------- recipes of the shipped runs
SHIPPED = [("git-shapes", "git-shapes/training_log.json"),
           ("paligemma-shapes-phase1", "paligemma-shapes/training_log_phase1.json"),
           ("paligemma-shapes-phase2", "paligemma-shapes/training_log.json")]


@pytest.mark.parametrize("recipe, log_file", SHIPPED)
def test_recipes_rebuild_the_shipped_runs(recipe, log_file):
    """`--recipe NAME` gives every setting the shipped run recorded (its output paths aside), and so does
    the command the run recorded: the recipe and the defaults agree."""
    from gitdemo.io.assets import ASSETS

    shipped = json.loads((ASSETS / "models" / log_file).read_text())
    recorded = shipped["args"]
    paths = ["--out", recorded["out"]] + (["--init", recorded["init"]] if recorded.get("init") else [])
    parse = T.parse_paligemma_args if T.RECIPES[recipe].arch == "paligemma" else T.parse_args
    from_recipe = vars(parse(paths, recipe))
    from_command = vars(parse(shipped["argv"]))
    for key, value in recorded.items():
        assert from_recipe[key] == value, (recipe, key)
        assert from_command[key] == value, (recipe, key)


def test_recipe_flags_override_and_phases_chain(tmp_path, monkeypatch):
    from gitdemo.train import cli

    args = T.parse_args(["--out", "x", "--threads", "2", "--minutes", "5"], "git-shapes")
    assert (args.threads, args.minutes, args.aux_weight, args.recipe) == (2, 5.0, 0.5, "git-shapes")
    with pytest.raises(SystemExit):  # phase 2 needs phase 1's folder
        T.parse_paligemma_args(["--out", "x"], "paligemma-shapes-phase2")
    runs = []
    monkeypatch.setattr(cli, "train", lambda a, argv=(): runs.append(a))
    assert cli.main(["--recipe", "paligemma-shapes", "--out", str(tmp_path / "pg"), "--threads", "2"]) == 0
    p1, p2 = runs
    assert (p1.recipe, p1.out, p1.init, p1.minutes, p1.threads) == (
        "paligemma-shapes-phase1", str(tmp_path / "pg-phase1"), None, 125.0, 2)
    assert (p2.recipe, p2.out, p2.init, p2.minutes, p2.loc_jitter, p2.lr) == (
        "paligemma-shapes-phase2", str(tmp_path / "pg"), str(tmp_path / "pg-phase1"), 20.0, 6, 2e-4)
    runs.clear()
    assert cli.main(["--recipe", "git-shapes", "--out", str(tmp_path / "g"), "--steps", "7"]) == 0
    assert (runs[0].arch, runs[0].steps, runs[0].video_every) == ("git", 7, 2)
