"""The 10-minute lesson with the keyboard alone (issue 21): pick an example, run, move between tokens (chips and
scrubber), change layer, head and view, pick a patch, open "Test this map" and draw its curve. Every stop is
reached with Tab / Shift+Tab, operated with Enter, Space or the arrow keys, and shows a visible focus ring;
no mouse event is sent. Also: every control of the page has an accessible name."""
from __future__ import annotations

import pytest

sync_api = pytest.importorskip("playwright.sync_api")
from test_app_browser import TIMEOUT, TRUTH, local_page  # noqa: E402 - same browser setup

ACTIVE = """() => { const e = document.activeElement; if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';
  const host = e.closest('[id]'), path = [];
  for (let p = e; p; p = p.parentElement) if (p.id) path.push(p.id);
  return {tag: e.tagName, type: e.type || '', value: e.value || '', label: e.getAttribute('aria-label') || '',
          text: (e.innerText || '').trim().slice(0, 80), id: host ? host.id : '', path: path, ring: ring}; }"""


def tab_to(page, match, limit: int = 120, back: bool = False) -> dict:
    """Press Tab (or Shift+Tab) until the focused element satisfies `match`; it must show a focus ring."""
    now = None
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        now = page.evaluate(ACTIVE)
        if now and match(now):
            assert now["ring"], f"no visible focus on {now}"
            return now
    raise AssertionError(f"not reachable by keyboard (last: {now})")


def test_the_lesson_by_keyboard_alone(app_url):
    leaked: list[str] = []
    with local_page(app_url, leaked, viewport={"width": 1280, "height": 1000}) as page:
        # 1. pick the first example (the examples table is a grid: Enter picks the focused cell's row)
        tab_to(page, lambda a: a["id"] == "caption-examples" and a["tag"] == "TD")
        page.keyboard.press("Enter")
        page.wait_for_selector("#caption-image img", timeout=TIMEOUT)
        # 2. run it (back up to the Caption button)
        tab_to(page, lambda a: a["id"] == "caption-run", back=True)
        page.keyboard.press("Enter")
        first = sorted(n for n, f in TRUTH.items() if f["kind"] == "image")[0]
        words = TRUTH[first]["caption"].split()
        page.wait_for_function("v => document.querySelector('#caption-text textarea').value === v", arg=" ".join(words),
                               timeout=TIMEOUT)
        page.wait_for_selector("#caption-heatmap .gd-grid", timeout=TIMEOUT)
        # 3. a token: the chips are radio buttons
        tab_to(page, lambda a: a["id"] == "caption-chips" and a["value"] == "2")
        page.keyboard.press("Space")
        page.wait_for_function("w => document.querySelector('#caption-heatmap .gd-title').innerText.includes(w)",
                               arg=f"'{words[2]}'", timeout=TIMEOUT)
        # 4. the scrubber: one step on with the arrow key
        tab_to(page, lambda a: a["type"] == "range" and "scrubber" in a["label"].lower())
        page.keyboard.press("ArrowRight")
        page.wait_for_function("w => document.querySelector('#caption-step').innerText.includes(w)",
                               arg=f"Step 4 of {len(words)}", timeout=TIMEOUT)
        # 5. layer 2, head 1, then the rollout view
        for group, value in (("caption-layer", "2"), ("caption-head", "1"), ("caption-map", "rollout")):
            tab_to(page, lambda a, g=group, v=value: a["id"] == g and a["value"] == v)
            page.keyboard.press("Space")
        page.wait_for_function("() => document.querySelector('#caption-heatmap figcaption').innerText"
                               ".startsWith('Attention rollout')", timeout=TIMEOUT)
        tab_to(page, lambda a: a["id"] == "caption-map" and a["value"] == "attention", back=True)
        page.keyboard.press("Space")
        page.wait_for_function("() => document.querySelector('#caption-heatmap .gd-title').innerText"
                               ".includes('layer 2, head 1')", timeout=TIMEOUT)
        # 6. a patch: into the heatmap's grid, move with the arrows, Enter picks it
        tab_to(page, lambda a: a["label"].startswith("row ") and "caption-heatmap" in a["path"], back=True)
        page.keyboard.press("Home")
        page.keyboard.press("ArrowRight")
        label = page.evaluate("document.activeElement.getAttribute('aria-label')")
        assert label.split(":")[0].endswith("column 2"), label
        page.keyboard.press("Enter")
        page.wait_for_function("w => document.querySelector('#caption-readers') && "
                               "document.querySelector('#caption-readers').innerText.includes(w)",
                               arg=label.split(":")[0], timeout=TIMEOUT)
        # 7. "Test this map": open the section, draw the deletion curve
        tab_to(page, lambda a: a["text"].startswith("Test this map"))
        page.keyboard.press("Enter")
        tab_to(page, lambda a: a["id"] == "caption-faith-curve-run")
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.querySelector('#caption-faith-curve svg') && "
                               "document.querySelector('#caption-faith-curve').innerText.includes('random patches')",
                               timeout=TIMEOUT)
    assert not leaked, leaked


NAMELESS = """() => [...document.querySelectorAll('input, select, textarea, button, [role=gridcell][tabindex], [role=tab]')]
  .filter(e => e.offsetParent !== null && e.type !== 'hidden')
  .filter(e => {
    const labelled = (e.labels && [...e.labels].some(l => l.innerText.trim())) || e.getAttribute('aria-label') ||
      e.getAttribute('aria-labelledby') || e.getAttribute('title') || (e.innerText || '').trim() ||
      (e.querySelector && e.querySelector('img[alt]:not([alt=""])'));
    return !labelled;
  }).map(e => e.outerHTML.slice(0, 160))"""


@pytest.mark.parametrize("locale", ["en-US", "ar"])
def test_every_control_has_a_name(app_url, locale):
    leaked: list[str] = []
    with local_page(app_url, leaked, locale=locale, viewport={"width": 1280, "height": 1000}) as page:
        tabs = page.locator("button[role=tab]")
        for i in range(tabs.count()):
            tabs.nth(i).click()
            page.wait_for_timeout(300)
            for _ in range(3):
                closed = page.locator(".label-wrap:not(.open):visible")
                for j in range(closed.count() - 1, -1, -1):
                    closed.nth(j).click()
                page.wait_for_timeout(200)
            nameless = page.evaluate(NAMELESS)
            assert nameless == [], "\n".join([tabs.nth(i).inner_text(), *nameless])
    assert not leaked, leaked
