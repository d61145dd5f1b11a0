"""How the page looks and reads, for every student: the theme's colours, the CSS and the one script that patches
Gradio's own markup where it fails WCAG 2.1 AA (checked by axe-core in tests/test_accessibility.py).

- Colours: Gradio's Soft theme, with every text colour it draws too light darkened to AA contrast (4.5:1 for
  text): block labels and titles, info lines, subdued text, placeholders, the selected radio's label, in light
  and dark mode. (Measured: Soft's indigo block labels were 3.6:1, its grey info text 2.5:1.)
- `A11Y_JS` (runs in the page, re-applied as Gradio renders): Gradio marks an empty image or plot box with
  `aria-label` on a plain `<div>`, which ARIA forbids (axe: aria-prohibited-attr): we give it `role="img"`,
  which is what the box shows (an empty picture); the explorer's status line becomes a polite live region,
  so a screen reader announces each finished result once, not the caption token by token; the Examples
  tables' image-only buttons get their picture's name.
- `prefers-reduced-motion` stops Gradio's transitions and animations; a visible focus ring everywhere.
"""
from __future__ import annotations

import gradio as gr


def theme() -> gr.themes.Base:
    """Soft, with AA contrast for every text it draws (light and dark)."""
    return gr.themes.Soft().set(
        block_label_text_color="*primary_800", block_label_text_color_dark="white",
        block_label_background_fill="*primary_100", block_label_background_fill_dark="*primary_800",
        block_title_text_color="*primary_800", block_title_text_color_dark="white",
        block_info_text_color="*neutral_600", block_info_text_color_dark="*neutral_300",
        body_text_color_subdued="*neutral_600", body_text_color_subdued_dark="*neutral_300",
        input_placeholder_color="*neutral_500", input_placeholder_color_dark="*neutral_400",
        checkbox_label_background_fill_selected="*primary_700",
        checkbox_label_background_fill_selected_dark="*primary_700",
        checkbox_label_text_color_selected="white", checkbox_label_text_color_selected_dark="white",
        button_primary_background_fill="*primary_700", button_primary_background_fill_dark="*primary_700",
        button_primary_background_fill_hover="*primary_800", button_primary_background_fill_hover_dark="*primary_800",
        link_text_color="*secondary_800", link_text_color_dark="*secondary_300",
        link_text_color_visited="*secondary_800", link_text_color_visited_dark="*secondary_300",
    )


CSS = """
/* AA contrast where Gradio hard-codes colours the theme does not reach */
.prose code, .json-holder .value, .json-holder .string { color: inherit !important; }
.figure-caption { font-size: 0.95em; }
.show-api, footer a, footer button { color: var(--body-text-color-subdued) !important; }
button[role=tab].selected { color: var(--block-label-text-color) !important; }
.json-holder .key { color: inherit !important; }
:focus-visible { outline: 3px solid var(--color-accent, #4338ca) !important; outline-offset: 2px; }
/* reflow at 320 CSS px (WCAG 1.4.10): nothing wider than the screen */
.gradio-container { overflow-wrap: anywhere; }
.gradio-container img, .gradio-container svg, .gradio-container table { max-width: 100%; }
.gd-bars table, .gd-numbers { table-layout: auto; }
@media (prefers-reduced-motion: reduce) {
  *, *::before, *::after { animation-duration: 0.001ms !important; animation-iteration-count: 1 !important;
                           transition-duration: 0.001ms !important; scroll-behavior: auto !important; }
}
"""

# A function, as Gradio's `launch(js=...)` takes it.
A11Y_JS = """(ALT) => {
  const fix = () => {
    document.querySelectorAll('div.empty[aria-label]:not([role])').forEach((d) => d.setAttribute('role', 'img'));
    document.querySelectorAll('[id$="-status"]').forEach((s) => {
      if (!s.hasAttribute('aria-live')) { s.setAttribute('aria-live', 'polite'); s.setAttribute('role', 'status'); }
    });
    // a text box whose <label> also holds a button (Copy) is labelled by that button, not by its title
    document.querySelectorAll('textarea, input[type=text], input[type=number]').forEach((t) => {
      if (t.getAttribute('aria-label') || (t.labels && [...t.labels].some((l) => l.control === t))) return;
      const block = t.closest('label, .block');
      const title = block && block.querySelector('[data-testid=block-info], [data-testid=block-label]');
      if (title && title.innerText.trim()) t.setAttribute('aria-label', title.innerText.trim());
    });
    // example thumbnails: the picture's description (assets/examples/truth.json), in the page's language
    const lang = (window.gitdemoLang ? window.gitdemoLang() : 'en').slice(0, 2);
    document.querySelectorAll('[id$="-examples"] img, [id$="-examples"] video').forEach((m) => {
      const file = (m.getAttribute('src') || '').split('?')[0].split('/').pop();
      const say = ALT[file];
      if (!say) return;
      const text = say[lang] || say.en;
      if (m.tagName === 'IMG' && m.getAttribute('alt') !== text) m.setAttribute('alt', text);
      const cell = m.closest('td, button');
      if (cell && cell.getAttribute('aria-label') !== text) cell.setAttribute('aria-label', text);
    });
    const blank = ALT.__empty__[lang] || ALT.__empty__.en;  // an empty example cell (a clip with no question)
    document.querySelectorAll('[id$="-examples"] td[role=gridcell]').forEach((td) => {
      if (!td.innerText.trim() && !td.querySelector('img, video') && td.getAttribute('aria-label') !== blank) {
        td.setAttribute('aria-label', blank);
      }
    });
  };
  let queued = false;
  const later = () => { if (!queued) { queued = true; requestAnimationFrame(() => { queued = false; fix(); }); } };
  fix();
  new MutationObserver(later).observe(document.body, {childList: true, subtree: true});
}"""

def example_alt_texts() -> dict[str, dict[str, str]]:
    """file name -> {"en", "ar", "zh"}: what each shipped example shows, for its thumbnail's text alternative
    (the scene's caption, in the models' English, after a translated word for what it is)."""
    from ..lang import say, use
    from . import examples

    out = {}
    files = examples.truth().get("files", {})
    for name, info in files.items():
        kind = "Shapes clip" if info.get("kind") == "video" else "Shapes scene"
        out[name] = {lang: _in(lang, say, use, kind) + ": " + info.get("caption", name) for lang in ("en", "ar", "zh")}
    for name, words in examples.PHOTO_WORDS.items():
        out[name] = {lang: _in(lang, say, use, words) for lang in ("en", "ar", "zh")}
    out["__empty__"] = {lang: _in(lang, say, use, "(empty)") for lang in ("en", "ar", "zh")}
    return out


def _in(lang, say, use, text):
    with use(lang):
        return say(text)


def page_js() -> str:
    """The accessibility script, called with the examples' text alternatives."""
    import json

    return f"({A11Y_JS})({json.dumps(example_alt_texts(), ensure_ascii=False)})"


__all__ = ["theme", "CSS", "A11Y_JS", "page_js", "example_alt_texts"]
