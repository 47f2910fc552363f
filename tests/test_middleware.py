"""The edge of the API: key rules, the article shell, security headers, hosts, body limits and CORS."""

import base64
import hashlib
import re

import pytest
from fastapi.testclient import TestClient

from indexer.config import IndexConfig
from indexer.pipeline import build_index
from search_api.app import create_app
from search_api.config import Settings
from search_api.middleware import KEY_REFUSED, PAGE_CSP
from tests.conftest import FakeEmbedder, write_messy_corpus

KEY = "s3cret"
HTML_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"  # what a browser navigation sends


@pytest.fixture(scope="module")
def built_index(tmp_path_factory):
    """The messy corpus indexed once for this module (nothing here changes the index)."""
    root = tmp_path_factory.mktemp("edge")
    config = IndexConfig(sources=(write_messy_corpus(root / "corpus"),), index_dir=root / "index", models=("fake",),
                         show_progress=False)
    embedders = [FakeEmbedder("fake")]
    build_index(config, embedders)
    return config.index_dir, {e.name: e for e in embedders}


def _client(built_index, **settings) -> TestClient:
    index_dir, embedders = built_index
    app = create_app(Settings(index_dir=index_dir, models=tuple(embedders), **settings), embedders=embedders)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def keyed(built_index):
    with _client(built_index, api_key=KEY) as c:
        yield c


@pytest.fixture(scope="module")
def open_client(built_index):
    with _client(built_index) as c:
        yield c


@pytest.mark.parametrize("headers, status", [
    ({}, 401),
    ({"X-API-Key": "wrong"}, 401),
    ({"X-API-Key": KEY[:-1]}, 401),
    ({"X-API-Key": KEY + KEY}, 401),
    ({"X-API-Key": KEY}, 200),
    ({"Authorization": f"Bearer {KEY}"}, 200),
    ({"Authorization": f"bearer {KEY}"}, 200),
    ({"Authorization": f"BEARER {KEY}"}, 200),
    ({"Authorization": KEY}, 401),  # a bare key is not a credential scheme
    ({"Authorization": f"Basic {KEY}"}, 401),
    ({"Authorization": "Bearer wrong"}, 401),
    ({"Authorization": "Bearer"}, 401),
    ({"Authorization": f"Bearer{KEY}"}, 401),
])
def test_api_key_is_taken_only_in_the_two_documented_forms(keyed, headers, status):
    r = keyed.get("/search", params={"q": "维和"}, headers=headers)
    assert r.status_code == status
    if status == 401:
        assert r.json() == {"detail": KEY_REFUSED}
        assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("path", ["/", "/static/app.js", "/static/style.css", "/static/article.html", "/health",
                                  "/docs", "/redoc", "/openapi.json"])
def test_page_assets_health_and_api_description_are_public(keyed, path):
    assert keyed.get(path).status_code == 200


@pytest.mark.parametrize("method, path", [
    ("GET", "/search?q=x"),
    ("POST", "/search"),
    ("GET", "/articles/j1?format=json"),
    ("GET", "/articles/nope"),
    ("POST", "/admin/reload"),
    ("GET", "/nope"),
    ("GET", "/static"),
    ("GET", "/healthz"),
    ("OPTIONS", "/search"),
])
def test_everything_else_needs_the_key(keyed, method, path):
    r = keyed.request(method, path, json={"q": "x"} if method == "POST" else None)
    assert r.status_code == 401 and r.json() == {"detail": KEY_REFUSED}


@pytest.mark.parametrize("path, headers, served", [
    ("/articles/j1", {"Accept": HTML_ACCEPT}, "shell"),
    ("/articles/j1?offset=0&limit=5", {"Accept": HTML_ACCEPT}, "shell"),
    ("/articles/nope", {"Accept": HTML_ACCEPT}, "shell"),  # the shell reports the 404 it gets
    ("/articles/j1", {"Accept": HTML_ACCEPT, "X-API-Key": KEY}, "page"),
    ("/articles/j1", {"Accept": HTML_ACCEPT, "X-API-Key": "wrong"}, "shell"),
    ("/articles/j1", {"Accept": "application/json"}, 401),
    ("/articles/j1", {"Accept": "text/html, application/json"}, 401),
    ("/articles/j1?format=json", {"Accept": HTML_ACCEPT}, 401),
    ("/articles/j1", {"Accept": "*/*"}, 401),  # curl: not a browser opening a page
    ("/articles/", {"Accept": HTML_ACCEPT}, 401),
    ("/articles/j1/x", {"Accept": HTML_ACCEPT}, 401),
    ("/search?q=x", {"Accept": HTML_ACCEPT}, 401),
])
def test_article_navigation_without_the_key_gets_the_static_shell(keyed, path, headers, served):
    r = keyed.get(path, headers=headers)
    if served == 401:
        assert r.status_code == 401
        return
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    shell = "<main class=\"article\" data-shell" in r.text
    assert shell == (served == "shell")
    # the shell holds no article text: it fetches the JSON with the key the page keeps
    assert ("日本和中国在东京举行安全对话" in r.text) == (served == "page")


def test_without_a_key_the_article_page_is_rendered_by_the_server(open_client):
    r = open_client.get("/articles/j1", headers={"Accept": HTML_ACCEPT})
    assert "日本和中国在东京举行安全对话" in r.text and "data-shell" not in r.text


def _csp_and_nosniff(r, html: bool) -> None:
    assert r.headers["x-content-type-options"] == "nosniff"
    if html:
        assert r.headers["content-type"].startswith("text/html")
        assert r.headers["content-security-policy"] == PAGE_CSP
    else:
        assert "content-security-policy" not in r.headers


@pytest.mark.parametrize("method, path, status, html", [
    ("GET", "/", 200, True),
    ("GET", "/articles/j1", 200, True),
    ("GET", "/static/article.html", 200, True),
    ("GET", "/static/app.js", 200, False),
    ("GET", "/static/missing.js", 404, False),
    ("GET", "/search?q=维和", 200, False),
    ("GET", "/search", 422, False),
    ("GET", "/articles/nope", 404, False),
    ("GET", "/articles/j1?format=json", 200, False),
    ("GET", "/health", 200, False),
    ("POST", "/admin/reload", 403, False),
    ("DELETE", "/search", 405, False),
])
def test_every_response_is_nosniff_and_every_page_has_the_strict_csp(open_client, method, path, status, html):
    r = open_client.request(method, path)
    assert r.status_code == status
    _csp_and_nosniff(r, html)


@pytest.mark.parametrize("path, headers, status, html", [
    ("/search?q=x", {}, 401, False),
    ("/articles/j1", {"Accept": HTML_ACCEPT}, 200, True),  # the shell
    ("/articles/j1", {"Accept": HTML_ACCEPT, "X-API-Key": KEY}, 200, True),
])
def test_key_refusals_and_the_shell_carry_the_headers_too(keyed, path, headers, status, html):
    r = keyed.get(path, headers=headers)
    assert r.status_code == status
    _csp_and_nosniff(r, html)


def test_unhandled_errors_are_500_with_nosniff(open_client, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("/secret/path exploded")

    monkeypatch.setattr(open_client.app.state.watcher.searcher, "search", boom)
    r = open_client.get("/search", params={"q": "维和"})
    assert r.status_code == 500 and r.json() == {"detail": "internal error"}
    assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/", "/articles/j1", "/static/article.html", "/static/index.html"])
def test_our_pages_have_no_inline_script_or_style(open_client, path):
    page = open_client.get(path).text
    assert re.findall(r"<script\b[^>]*>", page) and all("src=" in tag for tag in re.findall(r"<script\b[^>]*>", page))
    assert "<style" not in page and " style=" not in page and not re.search(r"\son[a-z]+=", page)


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_api_docs_csp_allows_their_cdn_and_exactly_their_inline_script(open_client, path):
    r = open_client.get(path)
    assert r.status_code == 200 and r.headers["x-content-type-options"] == "nosniff"
    policy = dict(d.strip().split(" ", 1) for d in r.headers["content-security-policy"].split(";"))
    scripts = policy["script-src"].split()
    assert "https://cdn.jsdelivr.net" in scripts and "'unsafe-inline'" not in scripts
    inline = re.findall(r"<script>(.*?)</script>", r.text, flags=re.S)
    hashes = {f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in inline}
    assert hashes == set(scripts) - {"https://cdn.jsdelivr.net"}
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"


def test_unlisted_host_is_refused(built_index):
    with _client(built_index, allowed_hosts=("news.example", "127.0.0.1")) as c:
        for host in ("evil.example", "testserver", "news.example.evil.example"):
            r = c.get("/health", headers={"Host": host})
            assert r.status_code == 400 and r.text == "Invalid host header"
            assert r.headers["x-content-type-options"] == "nosniff"
        assert c.get("/health", headers={"Host": "news.example"}).status_code == 200
        assert c.get("/health", headers={"Host": "127.0.0.1:8000"}).status_code == 200


def test_any_host_is_served_by_default(open_client):
    assert open_client.get("/health", headers={"Host": "anything.example"}).status_code == 200


def _chunks(*parts: bytes):
    yield from parts  # a generator body: httpx sends it chunked, without Content-Length


def test_chunked_body_over_limit_is_413(built_index):
    with _client(built_index, max_body_bytes=1024) as c:
        r = c.post("/search", content=_chunks(b'{"q": "', *[b"x" * 500] * 10, b'"}'),
                   headers={"content-type": "application/json"})
        assert "content-length" not in r.request.headers and r.request.headers["transfer-encoding"] == "chunked"
        assert r.status_code == 413 and r.json() == {"detail": "request body over 1024 bytes"}
        assert r.headers["x-content-type-options"] == "nosniff"
        small = c.post("/search", content=_chunks(b'{"q": "\\u7ef4', b'\\u548c", "k": 2}'),
                       headers={"content-type": "application/json"})
        assert small.status_code == 200 and small.json()["query"] == "维和"


def test_declared_body_over_limit_is_413_before_it_is_read(built_index):
    with _client(built_index, max_body_bytes=1024) as c:
        r = c.post("/search", content=b"x" * 1025, headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json() == {"detail": "request body over 1024 bytes"}
        assert c.post("/search", content=b'{"q": "' + b"x" * 1000 + b'"}',
                      headers={"content-type": "application/json"}).status_code == 200


def test_cors_preflight_allows_the_key_headers(built_index):
    origin = "https://news.example"
    with _client(built_index, cors_origins=(origin,), api_key=KEY) as c:
        r = c.options("/search", headers={"Origin": origin, "Access-Control-Request-Method": "GET",
                                          "Access-Control-Request-Headers": "authorization, x-api-key, content-type"})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == origin
        allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
        assert {"authorization", "x-api-key", "content-type"} <= allowed
        # a refusal is readable by the allowed origin's page, so it can ask for the key
        refused = c.get("/search", params={"q": "维和"}, headers={"Origin": origin})
        assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == origin
        ok = c.get("/search", params={"q": "维和"}, headers={"Origin": origin, "Authorization": f"Bearer {KEY}"})
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == origin
