"""The tokenizers the trainers build and the tokenizer / preprocessor files they write, in the
Hugging Face layout: a BERT-like WordPiece for GIT, a Gemma-shaped BPE for PaliGemma."""
from __future__ import annotations

import json
from pathlib import Path

from ..processing import CLIP_MEAN, CLIP_STD
from ..processing.paligemma import LOC_TOKENS, SEG_TOKENS
from ..shapes import COLOURS, SHAPES


def write_json(folder: Path, name: str, obj: dict) -> None:
    """`folder/name` as indented JSON with a final newline (every config file we write)."""
    (Path(folder) / name).write_text(json.dumps(obj, indent=2) + "\n")


# ============================================================================ GIT: WordPiece, BERT-style
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
    """tokenizer.json, vocab.txt and the two JSON files of a BertTokenizer."""
    folder = Path(folder)
    make_tokenizer(vocab).save(str(folder / "tokenizer.json"))
    (folder / "vocab.txt").write_text("".join(w + "\n" for w in vocab), encoding="utf-8")
    special = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
               "mask_token": "[MASK]"}
    write_json(folder, "special_tokens_map.json", special)
    write_json(folder, "tokenizer_config.json", {
        "tokenizer_class": "BertTokenizer", "do_lower_case": True, "do_basic_tokenize": True,
        "tokenize_chinese_chars": True, "strip_accents": None, "model_max_length": 32,
        "model_input_names": ["input_ids", "attention_mask"], "processor_class": "GitProcessor",
        "clean_up_tokenization_spaces": True, **special})


def write_preprocessor(folder: Path, size: int) -> None:
    """preprocessor_config.json of a CLIPImageProcessor (GIT)."""
    write_json(folder, "preprocessor_config.json", {
        "do_resize": True, "size": {"shortest_edge": size}, "resample": 3, "do_center_crop": True,
        "crop_size": {"height": size, "width": size}, "do_rescale": True, "rescale_factor": 1 / 255,
        "do_normalize": True, "image_mean": list(CLIP_MEAN), "image_std": list(CLIP_STD),
        "do_convert_rgb": True, "image_processor_type": "CLIPImageProcessor", "processor_class": "GitProcessor"})


# ============================================================================ PaliGemma: Gemma-shaped BPE
PG_SPECIAL = ["<pad>", "<eos>", "<bos>", "<unk>"]  # ids 0..3, in Gemma's order
IMAGE_TOKEN = "<image>"
SIGLIP_MEAN = SIGLIP_STD = (0.5, 0.5, 0.5)


def corpus() -> list[str]:
    """Every prompt and answer word sequence the world has (the tokenizer's training text)."""
    texts = ["caption en", "answer en", "detect"]
    for c in COLOURS:
        for s in SHAPES:
            texts += [f"a {c} {s}", f"is there a {c} {s}?", f"where is the {c} {s}?", f"detect {c} {s}",
                      f"a {c} {s} left of a {c} {s}", f"a {c} {s} above a {c} {s}", f"a {c} {s} moving left",
                      f"<loc0001> {c} {s} ; <loc0002> {c} {s}"]
        texts += [f"what shape is the {c} object?", f"detect {c}", f"<loc0001> {c} ; <loc0002> {c}"]
    for s in SHAPES:
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
                                                          special_tokens=PG_SPECIAL, show_progress=False))
    tok.add_special_tokens([AddedToken(IMAGE_TOKEN, special=True, normalized=False)])
    tok.add_tokens([AddedToken(t, normalized=False) for t in LOC_TOKENS + SEG_TOKENS])
    return tok


def write_pg_tokenizer(folder: Path, tok) -> None:
    """tokenizer.json and the JSON files of a PaliGemma fast tokenizer."""
    tok.save(str(Path(folder) / "tokenizer.json"))
    special = {"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>", "unk_token": "<unk>",
               "additional_special_tokens": [IMAGE_TOKEN]}
    write_json(folder, "special_tokens_map.json", special)
    write_json(folder, "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast", "processor_class": "PaliGemmaProcessor",
        "padding_side": "left", "model_max_length": 256, "clean_up_tokenization_spaces": False, **special})


def write_pg_preprocessor(folder: Path, size: int, n_image_tokens: int) -> None:
    """preprocessor_config.json of a SiglipImageProcessor (PaliGemma)."""
    write_json(folder, "preprocessor_config.json", {
        "do_normalize": True, "do_rescale": True, "do_resize": True, "do_convert_rgb": True,
        "image_mean": list(SIGLIP_MEAN), "image_std": list(SIGLIP_STD), "image_processor_type": "SiglipImageProcessor",
        "image_seq_length": n_image_tokens, "processor_class": "PaliGemmaProcessor", "resample": 3,
        "rescale_factor": 1 / 255, "size": {"height": size, "width": size}})
