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
A11Y_JS = """() => {
  const fix = () => {
    document.querySelectorAll('div.empty[aria-label]:not([role])').forEach((d) => d.setAttribute('role', 'img'));
    document.querySelectorAll('[id$="-status"]').forEach((s) => {
      if (!s.hasAttribute('aria-live')) { s.setAttribute('aria-live', 'polite'); s.setAttribute('role', 'status'); }
    });
    document.querySelectorAll('.gallery button, [id$="-examples"] button').forEach((b) => {
      if (b.innerText.trim() || b.getAttribute('aria-label')) return;
      const img = b.querySelector('img');
      const name = img && (img.getAttribute('alt') || (img.getAttribute('src') || '').split('/').pop().split('?')[0]);
      if (name) b.setAttribute('aria-label', name);
    });
  };
  let queued = false;
  const later = () => { if (!queued) { queued = true; requestAnimationFrame(() => { queued = false; fix(); }); } };
  fix();
  new MutationObserver(later).observe(document.body, {childList: true, subtree: true});
}"""

__all__ = ["theme", "CSS", "A11Y_JS"]
