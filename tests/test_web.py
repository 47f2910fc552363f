"""The search page in a real browser: headless Chromium driven by Playwright against a live server."""

import json
import socket
import threading
import time
from pathlib import Path

import pytest

from bench.query import running_server
from tests.serving import build_jsonl_index, long_article

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
# Chromium's own background services would try the (closed) network: switch them off.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def server(seed_index: Path):
    with running_server(seed_index) as (_, base):
        yield base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page(browser, server):
    page = browser.new_page(viewport={"width": 390, "height": 800})  # phone-sized
    yield page
    page.close()


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
    # a function, not an expression: Playwright polls an expression with eval(), which our CSP forbids
    page.wait_for_function("() => document.getElementById('status').textContent.startsWith('No results')")


# A server with an API key, over a small fake-embedder index (one 12-passage article), run in a thread.
KEY = "s3cret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory):
    import uvicorn

    from search_api.app import create_app
    from search_api.config import Settings

    index, embedders = build_jsonl_index(tmp_path_factory.mktemp("keyed"), [long_article()])
    app = create_app(Settings(index_dir=index, models=tuple(embedders), api_key=KEY), embedders=embedders)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def context(browser):
    """A fresh browser profile: nothing in localStorage."""
    context = browser.new_context(viewport={"width": 390, "height": 800})
    yield context
    context.close()


def _csp_errors(page) -> list[str]:
    """Collects the page's CSP violations (Chromium reports them on the console)."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    return errors


def _enter_key(page, key: str) -> None:
    page.wait_for_selector("#key-form:not([hidden])")
    assert page.get_attribute("#api-key", "type") == "password"
    page.fill("#api-key", key)
    page.click("#key-form button")


def test_search_page_asks_for_the_key_in_the_page_and_retries(context, keyed_server):
    page = context.new_page()
    csp = _csp_errors(page)
    page.goto(f"{keyed_server}/?q=北京市政府宣布新的地铁线路")
    _enter_key(page, "wrong")
    page.wait_for_function("() => document.getElementById('key-message').textContent.includes('refused')")
    _enter_key(page, KEY)
    page.wait_for_selector(".card")
    assert page.is_hidden("#key-form")
    assert page.evaluate("localStorage.getItem('newssearch.apiKey')") == KEY
    page.reload()  # the stored key is sent without asking again
    page.wait_for_selector(".card")
    assert page.is_hidden("#key-form") and csp == []


def test_result_link_opens_the_article_shell_with_the_stored_key(context, keyed_server):
    page = context.new_page()
    csp = _csp_errors(page)
    page.goto(f"{keyed_server}/")
    page.evaluate(f"localStorage.setItem('newssearch.apiKey', {json.dumps(KEY)})")
    page.goto(f"{keyed_server}/?q=成都市政府宣布新的地铁线路")
    page.wait_for_selector(".card")
    first = page.locator(".card").first
    assert "成都" in first.inner_text()
    first.locator("a.title").click()
    page.wait_for_url("**/articles/**#p*")
    marked = page.locator(".passage.current")
    marked.wait_for()
    assert page.locator("main[data-shell]").count() == 1  # a followed link carries no key: the shell
    assert f"#{marked.get_attribute('id')}" == "#" + page.url.split("#")[1]
    assert "成都" in marked.inner_text()
    assert page.inner_text("h1") == "地铁建设长篇报道"
    box = marked.bounding_box()
    assert box is not None and 0 <= box["y"] < 800
    assert csp == []


def test_shell_asks_for_the_key_and_opens_the_window_of_the_passage(context, keyed_server):
    page = context.new_page()
    csp = _csp_errors(page)
    page.goto(f"{keyed_server}/articles/long?limit=5#p11")
    _enter_key(page, KEY)
    page.wait_for_url("**/articles/long?limit=5&offset=10#p11")
    page.wait_for_selector("#p11.current")
    assert page.locator(".passage").evaluate_all("els => els.map(e => e.id)") == ["p10", "p11"]
    assert page.get_attribute("a[rel=prev]", "href") == "?offset=5&limit=5"
    assert page.locator("a[rel=next]").count() == 0
    assert "2040" in page.inner_text("#p10")  # the 11th paragraph, set as text
    assert csp == []


def test_server_rendered_page_opens_the_window_of_the_passage(browser, keyed_server):
    # a client that sends the key with every request gets the server-rendered page
    context = browser.new_context(extra_http_headers={"X-API-Key": KEY}, viewport={"width": 390, "height": 800})
    try:
        page = context.new_page()
        csp = _csp_errors(page)
        page.goto(f"{keyed_server}/articles/long?limit=5#p7")
        page.wait_for_url("**/articles/long?limit=5&offset=5#p7")
        page.wait_for_selector("#p7.current")
        assert page.locator("main[data-shell]").count() == 0
        assert page.locator(".passage").evaluate_all("els => els.map(e => e.id)") == ["p5", "p6", "p7", "p8", "p9"]
        page.click("a[rel=next]")
        page.wait_for_url("**/articles/long?offset=10&limit=5")
        assert page.locator(".passage").count() == 2 and csp == []
    finally:
        context.close()


def _fake_hit(i: int, url: str | None) -> dict:
    return {"rank": i, "score": 0.5, "passage_id": f"p{i}", "text": f"段落{i}", "highlight": f"段落{i}",
            "matches": [], "doc_id": f"d{i}", "title": f"标题{i}", "date": None, "lang": "zh-Hans",
            "source": {"path": f"d{i}.txt", "url": url}, "link": f"/articles/d{i}#p0", "also_in": [],
            "also_in_total": 0}


def test_only_http_urls_become_original_links(context, keyed_server):
    urls = ["javascript:alert(document.domain)", "  JavaScript:alert(1)", "data:text/html,x", "vbscript:x",
            "//evil.example/x", " HTTPS://example.com/x ", "http://example.com/y", None]
    body = {"query": "q", "mode": "hybrid", "took_ms": 1.0, "results": [_fake_hit(i, u) for i, u in enumerate(urls)]}
    page = context.new_page()
    # the server never sends such URLs; the page must not trust that
    page.route("**/search?*", lambda route: route.fulfill(status=200, content_type="application/json",
                                                          body=json.dumps(body)))
    page.goto(f"{keyed_server}/?q=q")
    page.wait_for_selector(".card")
    originals = page.locator(".card .meta a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert originals == ["HTTPS://example.com/x", "http://example.com/y"]
    titles = page.locator(".card a.title").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert titles == [f"/articles/d{i}#p0" for i in range(len(urls))]


# Stand-ins for the docs' CDN bundles (no network here): each records that it ran and what it was given.
DOCS_STUBS = {
    "swagger-ui-bundle.js": "window.SwaggerUIBundle = Object.assign(o => { window.docsStarted = o.url; return {}; },"
                            " {presets: {apis: {}}, SwaggerUIStandalonePreset: {}});",
    "redoc.standalone.js": "window.docsStarted = document.querySelector('redoc').getAttribute('spec-url');",
}


def _cdn(route) -> None:
    name = route.request.url.rsplit("/", 1)[-1]
    if name in DOCS_STUBS:
        route.fulfill(status=200, content_type="text/javascript", body=DOCS_STUBS[name])
    else:
        route.abort()


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_api_docs_run_under_their_csp(context, keyed_server, path):
    page = context.new_page()
    csp = _csp_errors(page)
    page.route("https://**/*", _cdn)
    page.goto(f"{keyed_server}{path}")
    page.wait_for_function("() => window.docsStarted !== undefined")
    assert page.evaluate("window.docsStarted") == "/openapi.json"  # the CDN bundle and the inline script ran
    assert csp == []
