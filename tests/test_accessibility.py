"""WCAG 2.1 AA on every tab (issue 21): axe-core finds nothing, in English, Arabic and Chinese, light and dark,
at 1280 px and on a 390 px phone, after each tab has shown a result (a caption, an answer, a video, a mask, a
detection, a comparison) and with every accordion open; the page reflows at 320 px (400% zoom) and honours
prefers-reduced-motion. No axe rule is switched off. (The keyboard walk is tests/test_keyboard.py.)"""
from __future__ import annotations

import json

import pytest

sync_api = pytest.importorskip("playwright.sync_api")
axe_sync = pytest.importorskip("axe_playwright_python.sync_playwright")
from test_app_browser import EXAMPLES, TIMEOUT, local_page  # noqa: E402 - same browser setup
from test_browser_i18n import _open_accordions  # noqa: E402

AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}
PALI = json.loads((EXAMPLES / "truth.json").read_text())["paligemma"]


def _idle(page) -> None:
    """Until no event is pending (Gradio dims a block while its event runs, which would fail contrast)."""
    page.wait_for_timeout(500)
    page.wait_for_function("() => !document.querySelector('.pending, .generating')", timeout=TIMEOUT)
    page.wait_for_timeout(300)


def _upload(page, key: str, name: str, media: str = "img") -> None:
    page.set_input_files(f"#{key} input[type=file]", str(EXAMPLES / name))
    page.wait_for_selector(f"#{key} {media}")


def show_a_result(page, tab: str) -> None:
    """What a student does first on each tab, until its result is drawn."""
    if tab == "caption":
        _upload(page, "caption-image", "scene_00000.png")
        page.click("#caption-run")
        page.wait_for_selector("#caption-heatmap .gd-grid")
    elif tab == "vqa":
        page.locator("#vqa-examples tbody tr").first.click()
        page.wait_for_selector("#vqa-heatmap .gd-grid")
    elif tab == "video":
        _upload(page, "video-input", "video_00000.mp4", "video")
        page.click("#video-run")
        page.wait_for_selector("#video-frames .gd-strip")
    elif tab == "mask":
        page.click("#mask-run")
        page.wait_for_selector("#mask-image img")
    elif tab == "paligemma" and PALI:
        k = next(i for i, e in enumerate(PALI) if e["prompt"].startswith("detect "))
        page.locator("#paligemma-examples tbody tr").nth(k).click()
        page.wait_for_selector("#paligemma-heatmap .gd-grid")
    elif tab == "compare":
        _upload(page, "compare-image", "scene_00001.png")
        page.click("#compare-run")
        page.wait_for_selector("#compare-heat-a img")


def _violations(axe, page, where: str) -> list[str]:
    found = []
    for v in axe.run(page, options=AXE_OPTIONS).response["violations"]:
        for node in v["nodes"][:3]:
            found.append(f"{where}: {v['id']} ({v['impact']}) {node['target']} {node['html'][:120]} "
                         f"{(node.get('failureSummary') or '')[:160]}")
    return found


@pytest.mark.parametrize("locale", ["en-US", "ar", "zh-CN"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_nothing_on_any_tab(app_url, locale, scheme):
    axe = axe_sync.Axe()
    leaked: list[str] = []
    found: list[str] = []
    with local_page(app_url, leaked, locale=locale, color_scheme=scheme,
                    viewport={"width": 1280, "height": 1000}) as page:
        dark = page.evaluate("document.body.classList.contains('dark')")
        assert dark == (scheme == "dark")
        tabs = page.locator("button[role=tab]")
        ids = [tabs.nth(i).get_attribute("data-tab-id") for i in range(tabs.count())]
        assert {"caption", "vqa", "video", "mask", "paligemma", "compare"} <= set(ids)
        for tab in ids:
            page.locator(f"button[role=tab][data-tab-id='{tab}']").click()
            page.wait_for_timeout(300)
            show_a_result(page, tab)
            _open_accordions(page)
            _idle(page)
            found += _violations(axe, page, f"{locale} {scheme} {tab} 1280px")
            page.set_viewport_size({"width": 390, "height": 844})
            page.wait_for_timeout(300)
            found += _violations(axe, page, f"{locale} {scheme} {tab} 390px")
            page.set_viewport_size({"width": 320, "height": 700})  # 400% zoom of 1280 (WCAG 1.4.10 reflow)
            page.wait_for_timeout(300)
            wider = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            if wider > 1:
                found.append(f"{locale} {scheme} {tab} 320px: the page is {wider}px wider than the screen")
            page.set_viewport_size({"width": 1280, "height": 1000})
    assert not leaked, leaked
    assert not found, "\n".join(found)


def test_reduced_motion_is_honoured(app_url):
    leaked: list[str] = []
    with local_page(app_url, leaked, reduced_motion="reduce", viewport={"width": 1280, "height": 900}) as page:
        longest = page.evaluate("""() => Math.max(...[...document.querySelectorAll('*')].map(e => {
            const s = getComputedStyle(e);
            return Math.max(...(s.transitionDuration + ',' + s.animationDuration).split(',').map(parseFloat));
        }))""")
        assert longest <= 0.001, f"a {longest}s transition or animation runs despite prefers-reduced-motion"
    with local_page(app_url, leaked, viewport={"width": 1280, "height": 900}) as page:  # and only then
        assert page.evaluate("""() => [...document.querySelectorAll('*')].some(e =>
            parseFloat(getComputedStyle(e).transitionDuration) > 0.01)""")
    assert not leaked, leaked
