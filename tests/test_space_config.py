"""README.md is the Hugging Face Space's configuration and the project's landing page: check both.

Space front matter, as the Hub documents it ("Spaces Configuration Reference",
https://huggingface.co/docs/hub/spaces-config-reference, and its `preload_from_hub` section):
- `emoji`: emoji-only characters; `colorFrom` / `colorTo`: one of red, yellow, green, blue,
  indigo, purple, pink, gray.
- `sdk`: gradio, docker or static; `sdk_version`: the gradio version to install; `app_file`: path
  from the repository root; `python_version`: a string, 3.x or 3.x.x (quote it: unquoted, YAML
  reads 3.10 as the float 3.1).
- `suggested_hardware`: a hardware flavour (cpu-basic, cpu-upgrade, t4-small, t4-medium, l4x1,
  l4x4, a10g-small, a10g-large, a10g-largex2, a10g-largex4, a100-large, ...); it assigns nothing.
- `models`, `tags`: lists of strings (model ids; free terms).
- `preload_from_hub`: list of "repo_id", "repo_id file1,file2" or "repo_id file1,file2 commit";
  files go to the default huggingface_hub cache; private repositories cannot be preloaded (and the
  gated PaliGemma ones need a token), so only public GIT checkpoints belong there.
- `short_description`: the Hub rejects one over 60 characters (Spaces with 64- and 88-character
  descriptions failed to upload until shortened).

The model ids the app offers are read from the gitdemo/ui source text (quoted "microsoft/git-..."
and "google/paligemma..." strings), not by importing it, so the test does not depend on how the ui
is organised. The landing page: at most 150 lines, every relative link and image exists, and every
markdown table has the same number of cells in each row.
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
UI = ROOT / "gitdemo" / "ui"

COLORS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}
HARDWARE = {"cpu-basic", "cpu-upgrade", "t4-small", "t4-medium", "l4x1", "l4x4", "a10g-small", "a10g-large",
            "a10g-largex2", "a10g-largex4", "a100-large", "zero-a10g"}
REQUIRED = ("title", "emoji", "colorFrom", "colorTo", "sdk", "sdk_version", "app_file", "python_version",
            "license", "short_description", "suggested_hardware", "models", "tags", "preload_from_hub")
SHORT_DESCRIPTION_MAX = 60
README_MAX_LINES = 150
MODEL_ID = re.compile(r"""["'](microsoft/git-[A-Za-z0-9._-]+|google/paligemma[A-Za-z0-9._-]*)["']""")
REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


def front_matter() -> tuple[dict, str]:
    text = README.read_text(encoding="utf-8")
    m = re.match(r"\A---\n(.*?)\n---\n", text, re.S)
    assert m, "README.md must start with a YAML front matter block between '---' lines"
    data = yaml.safe_load(m.group(1))
    assert isinstance(data, dict)
    return data, m.group(1)


def offered_models() -> set[str]:
    ids = set()
    for path in sorted(UI.rglob("*.py")):
        ids.update(MODEL_ID.findall(path.read_text(encoding="utf-8")))
    return ids


def test_required_keys_and_types():
    data, _ = front_matter()
    missing = [k for k in REQUIRED if k not in data]
    assert not missing, f"missing front matter keys: {missing}"
    for key in ("title", "emoji", "colorFrom", "colorTo", "sdk", "sdk_version", "app_file", "python_version",
                "license", "short_description", "suggested_hardware"):
        assert isinstance(data[key], str) and data[key].strip(), f"{key} must be a non-empty string"
    for key in ("models", "tags", "preload_from_hub"):
        assert isinstance(data[key], list) and data[key], f"{key} must be a non-empty list"
        assert all(isinstance(x, str) and x.strip() for x in data[key]), f"{key} must hold strings"
        assert len(set(data[key])) == len(data[key]), f"{key} has duplicates"


def test_short_description_within_hub_limit():
    data, _ = front_matter()
    n = len(data["short_description"])
    assert n <= SHORT_DESCRIPTION_MAX, f"short_description is {n} characters; the Hub allows {SHORT_DESCRIPTION_MAX}"


def test_sdk_matches_pinned_gradio_and_app_file_exists():
    data, raw = front_matter()
    assert data["sdk"] == "gradio"
    pins = re.findall(r"^gradio==(\S+)\s*$", (ROOT / "requirements.txt").read_text(encoding="utf-8"), re.M)
    assert len(pins) == 1, "requirements.txt must pin gradio exactly once (gradio==X.Y.Z)"
    assert data["sdk_version"] == pins[0]
    assert (ROOT / data["app_file"]).is_file()
    assert re.fullmatch(r"3\.\d+(\.\d+)?", data["python_version"])
    assert re.search(r"^python_version:\s*[\"']3\.\d+(\.\d+)?[\"']\s*$", raw, re.M), "quote python_version"
    assert data["suggested_hardware"] in HARDWARE


def test_emoji_and_colors():
    data, _ = front_matter()
    assert data["colorFrom"] in COLORS and data["colorTo"] in COLORS
    emoji = data["emoji"]
    assert 1 <= len(emoji) <= 8
    for ch in emoji:  # symbols, plus the joiners and modifiers that build emoji sequences
        assert unicodedata.category(ch) in {"So", "Sk", "Mn", "Cf"}, f"{ch!r} in emoji is not an emoji character"


def test_every_offered_model_is_listed():
    data, _ = front_matter()
    offered = offered_models()
    assert any(m.startswith("microsoft/git-") for m in offered), "no GIT ids found in gitdemo/ui (regex stale?)"
    assert any(m.startswith("google/paligemma") for m in offered), "no PaliGemma ids found in gitdemo/ui"
    assert all(REPO_ID.match(m) for m in data["models"]), data["models"]
    missing = sorted(offered - set(data["models"]))
    assert not missing, f"offered by the app but not in README `models:`: {missing}"


def test_preload_only_public_git_checkpoints():
    data, _ = front_matter()
    offered_git = {m for m in offered_models() if m.startswith("microsoft/git-")}
    for entry in data["preload_from_hub"]:
        parts = entry.split()
        assert 1 <= len(parts) <= 3, f"preload_from_hub entry {entry!r}: 'repo [files [commit]]'"
        repo = parts[0]
        assert repo in offered_git, f"preload {repo!r}: only public GIT checkpoints the app offers"
        assert repo in data["models"]
        if len(parts) == 3:
            assert re.fullmatch(r"[0-9a-f]{40}", parts[2]), entry


def test_tags_are_simple_terms():
    data, _ = front_matter()
    for tag in data["tags"]:
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", tag), f"tag {tag!r}: lowercase words joined by '-'"


# --- the landing page and docs/ -------------------------------------------------------------

def markdown_files() -> list[Path]:
    return [README] + sorted((ROOT / "docs").glob("*.md"))


def outside_code(text: str) -> list[tuple[int, str]]:
    """(line number, line) for the lines not inside ``` fences."""
    out, fenced = [], False
    for i, line in enumerate(text.split("\n"), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            out.append((i, line))
    return out


def test_readme_length():
    n = len(README.read_text(encoding="utf-8").splitlines())
    assert n <= README_MAX_LINES, f"README.md has {n} lines; the landing page keeps to {README_MAX_LINES}"


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_and_images_exist(path):
    text = path.read_text(encoding="utf-8")
    broken = []
    for lineno, line in outside_code(text):
        line = re.sub(r"`[^`]*`", "", line)
        for target in re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", line):
            if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue
            if not (path.parent / target.split("#")[0]).exists():
                broken.append(f"{path.name}:{lineno}: {target}")
    assert not broken, broken


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_tables_have_consistent_rows(path):
    text = path.read_text(encoding="utf-8")
    lines = outside_code(text)
    problems, i = [], 0

    def cells(row: str) -> int:
        row = row.strip()
        row = row[1:] if row.startswith("|") else row
        row = row[:-1] if row.endswith("|") and not row.endswith("\\|") else row
        return len(re.split(r"(?<!\\)\|", row))

    while i < len(lines):
        lineno, line = lines[i]
        if line.lstrip().startswith("|"):
            block = []
            while i < len(lines) and lines[i][1].lstrip().startswith("|"):
                block.append(lines[i])
                i += 1
            if len(block) < 2 or not re.fullmatch(r"\|?(\s*:?-{3,}:?\s*\|)+\s*:?-{0,}:?\s*\|?", block[1][1].strip()):
                problems.append(f"{path.name}:{lineno}: table without a delimiter row")
                continue
            width = cells(block[0][1])
            for n, row in block:
                if cells(row) != width:
                    problems.append(f"{path.name}:{n}: {cells(row)} cells, header has {width}")
        else:
            i += 1
    assert not problems, problems
