"""The search page in a real browser: headless Chromium driven by Playwright against a live server."""

from pathlib import Path

import pytest

from bench.query import start_server

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
# Chromium's own background services would try the (closed) network: switch them off.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def server(seed_index: Path):
    proc, base = start_server(seed_index)
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 800})  # phone-sized
        yield page
        browser.close()


def _search(page, server: str, query: str):
    page.goto(f"{server}/")
    page.fill("#q", query)
    page.press("#q", "Enter")
    page.wait_for_selector(".card")
    return page.locator(".card").first


def test_english_query_finds_the_chinese_passage(page, server):
    first = _search(page, server, "Which US official led the delegation to Beijing?")
    assert "Jen Daskal" in first.inner_text()
    assert "results in" in page.inner_text("#status")


def test_chinese_query_highlights_terms_and_links_to_the_anchored_passage(page, server):
    first = _search(page, server, "中国向瓦努阿图派遣警务专家")
    assert "瓦努阿图" in first.inner_text()
    assert first.locator("mark").count() >= 1
    first.locator("a.title").click()
    page.wait_for_url("**/articles/**#p*")
    anchor = page.url.split("#")[1]
    marked = page.locator(f"#{anchor}")
    assert "current" in marked.get_attribute("class")
    assert "瓦努阿图" in marked.inner_text()
    box = marked.bounding_box()
    assert box is not None and 0 <= box["y"] < 800  # scrolled into view


def test_empty_query_shows_an_error_state(page, server):
    page.goto(f"{server}/")
    page.fill("#q", "   ")
    page.press("#q", "Enter")
    assert "Please enter a query" in page.inner_text("#status")
    assert page.locator(".card").count() == 0


def test_no_results_state(page, server):
    page.goto(f"{server}/?q=zzqqxx&mode=lexical")
    page.wait_for_function("document.getElementById('status').textContent.startsWith('No results')")
