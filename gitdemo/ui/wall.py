"""The class wall drawn as HTML (no Gradio): the posts as a grid of cards, a word's maps side by side on one
colour scale, and the class counts.

Cheap on purpose: a teacher's wall redraws whenever a student posts. Each card is a 96-pixel thumbnail of
what the model saw (a JPEG kept by the room) or, for the chosen word, that thumbnail with the word's map
laid over it by PIL (`viz.overlay.blend`: a few milliseconds, no matplotlib); the counts are an HTML table.
Maps from different models have different patch grids (Shapes GIT 7 x 7, PaliGemma 16 x 16), so each is
shown relative to an even spread (x its number of patches, as the Compare tab does) and all share one vmax.
Every image has an alt text with its numbers; everything a student typed or a model wrote is escaped.
"""
from __future__ import annotations

import base64
import html
import io
from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..explain.compare import SKIP, find_token, norm_word
from ..lang import say
from ..viz.overlay import blend

VIRIDIS = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")  # the legend's gradient (the maps' colour map)
MAX_WORDS = 24  # words offered in the picker, the most said first

CSS = """
.wall-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 12px; }
.wall-card { margin: 0; padding: 8px; border: 1px solid #52525b; border-radius: 8px; background: #fff; color: #111; }
.wall-card img { width: 100%; height: auto; image-rendering: pixelated; display: block; border-radius: 4px; }
.wall-card figcaption { font-size: 0.95em; margin-top: 6px; line-height: 1.3; }
.wall-card .wall-text { font-weight: 600; }
.wall-card .wall-meta { color: #3f3f46; font-size: 0.85em; }
.wall-legend { display: flex; align-items: center; gap: 8px; margin: 8px 0; color: #111; }
.wall-legend .bar { width: 200px; height: 14px; border: 1px solid #52525b;
  background: linear-gradient(to right, GRADIENT); }
.wall-counts table { border-collapse: collapse; }
.wall-counts th, .wall-counts td { border: 1px solid #a1a1aa; padding: 2px 10px; text-align: start; }
.wall-empty { font-size: 1.05em; padding: 12px 0; }
""".replace("GRADIENT", ", ".join(VIRIDIS))


def _words(post) -> list[str]:
    """The words of one post (each once), as the picker offers them: no `<loc>` tokens, no punctuation."""
    out = []
    for t in post.tokens:
        w = norm_word(t.text)
        if w and not w.startswith("<") and any(ch.isalnum() for ch in w) and w not in out:
            out.append(w)
    return out


def word_counts(posts) -> Counter:
    """word -> how many posts say it (a post counts once)."""
    return Counter(w for p in posts for w in _words(p))


def word_choices(posts) -> list[str]:
    """The words to pick from: content words first, most said first, then in alphabetical order."""
    counts = word_counts(posts)
    ranked = sorted(counts, key=lambda w: (w in SKIP, -counts[w], w))
    return ranked[:MAX_WORDS]


def mean_share(posts, word: str | None = None) -> dict[str, float] | None:
    """Where attention went on average, over every token of every post (or over the tokens that are `word`):
    {"image", "cls", "text"}, or None when no token carries its shares."""
    shares = [t.share for p in posts for t in p.tokens
              if t.share and (word is None or norm_word(t.text) == word)]
    if not shares:
        return None
    return {k: float(np.mean([s.get(k, 0.0) for s in shares])) for k in ("image", "cls", "text")}


@dataclass
class WordMap:
    post: object
    index: int  # the token that is the word
    grid: np.ndarray  # relative to an even spread (1 = even)


def word_maps(posts, word: str) -> tuple[list[WordMap], float]:
    """Every post that says `word`, with its map for it relative to an even spread, and the one vmax they share."""
    maps = []
    for p in posts:
        i = find_token([t.text for t in p.tokens], word)
        if i is not None and p.tokens[i].grid is not None:
            g = np.asarray(p.tokens[i].grid, np.float64)
            maps.append(WordMap(p, i, g * g.size))
    vmax = max([float(m.grid.max()) for m in maps] or [1.0])
    return maps, vmax if vmax > 0 else 1.0


def _data_uri(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()


def _overlay(jpeg: bytes, grid: np.ndarray, vmax: float) -> str:
    from PIL import Image

    im = blend(Image.open(io.BytesIO(jpeg)), grid, 0.6, "viridis", 0.0, vmax)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=85)
    return _data_uri(buf.getvalue())


def _meta(post) -> str:
    bits = [post.model] + ([post.precision] if post.precision else [])
    if post.question:
        bits.append(say("asked: {q}", q=post.question))
    return " · ".join(html.escape(str(b)) for b in bits)


def _card(n: int, post, src: str, alt: str) -> str:
    return (f'<figure class="wall-card" data-post="{html.escape(post.id)}"><img src="{src}" alt="{html.escape(alt)}" '
            f'width="96" height="96"><figcaption><span class="wall-text">{html.escape(post.text or "…")}</span><br>'
            f'<span class="wall-meta">{_meta(post)}</span></figcaption></figure>')


def wall_html(posts, word: str | None = None) -> str:
    """The grid of posts; with `word`, only the posts that say it, each showing its map for the word."""
    if not posts:
        empty = say("No posts yet: students join with the code, then caption or ask.")
        return f'<p class="wall-empty">{html.escape(empty)}</p>'
    if not word:
        cards = [_card(n, p, _data_uri(p.thumbnail), say("Post {n}: what the model saw; it wrote “{text}”.", n=n,
                                                          text=p.text)) for n, p in enumerate(posts, 1)]
        return f'<div class="wall-grid">{"".join(cards)}</div>'
    maps, vmax = word_maps(posts, word)
    if not maps:
        return f'<p class="wall-empty">{html.escape(say("No post says “{word}”.", word=word))}</p>'
    cards = []
    for n, m in enumerate(maps, 1):
        r, c = np.unravel_index(int(np.argmax(m.grid)), m.grid.shape)
        alt = say("Post {n}, “{text}”: the map of “{word}”; its strongest patch is row {row}, column {col} of "
                  "{rows} x {cols}, {peak} times an even share.", n=n, text=m.post.text, word=word, row=int(r) + 1,
                  col=int(c) + 1, rows=m.grid.shape[0], cols=m.grid.shape[1], peak=f"{float(m.grid.max()):.1f}")
        cards.append(_card(n, m.post, _overlay(m.post.thumbnail, m.grid, vmax), alt))
    legend = (f'<div class="wall-legend" role="img" aria-label="{html.escape(legend_text(vmax))}"><span>0</span>'
              f'<span class="bar"></span><span>{vmax:.1f}</span><span>{html.escape(legend_text(vmax))}</span></div>')
    said = say("{k} of {n} posts say “{word}”; every map below uses the same colour scale.", k=len(maps),
               n=len(posts), word=word)
    return f'<p>{html.escape(said)}</p>{legend}<div class="wall-grid">{"".join(cards)}</div>'


def legend_text(vmax: float) -> str:
    return say("Colour: from 0 to {vmax} times an even share of the patches (viridis; brighter is more).",
               vmax=f"{vmax:.1f}")


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def counts_html(posts, word: str | None = None) -> str:
    """How many posts say each word, and where attention went on average (image patches, CLS, text)."""
    counts = word_counts(posts)
    head = html.escape(say("{n} posts from the class.", n=len(posts)))
    rows = "".join(f"<tr><td>{html.escape(w)}</td><td>{counts[w]}</td></tr>" for w in word_choices(posts)[:12])
    table = (f'<table><caption>{html.escape(say("How many posts say each word"))}</caption>'
             f'<thead><tr><th scope="col">{html.escape(say("word"))}</th><th scope="col">'
             f'{html.escape(say("posts"))}</th></tr></thead><tbody>{rows}</tbody></table>') if rows else ""
    lines = []
    for label, share in ((say("All tokens"), mean_share(posts)),
                         (say("“{word}”", word=word) if word else None, mean_share(posts, word) if word else None)):
        if label and share:
            lines.append(say("{label}: on average {image} of the attention went to image patches, {cls} to CLS, "
                             "{text} to the text.", label=label, image=_pct(share["image"]), cls=_pct(share["cls"]),
                             text=_pct(share["text"])))
    return (f'<div class="wall-counts"><p>{head}</p>{table}'
            + "".join(f"<p>{html.escape(s)}</p>" for s in lines) + "</div>")


__all__ = ["CSS", "word_counts", "word_choices", "mean_share", "word_maps", "wall_html", "counts_html", "legend_text",
           "WordMap"]
