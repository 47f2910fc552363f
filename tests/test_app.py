import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from search_api.config import Settings


@pytest.fixture
def client(built_index):
    config, _, embedders = built_index
    app = create_app(Settings(index_dir=config.index_dir, models=tuple(embedders)), embedders=embedders)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_health(client):
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["articles"] == 7 and body["passages"] > 5
    assert body["models"] == {"fake": "fake-bigram-64", "fake2": "fake-span-32"}


def test_search_get_returns_ranked_passages_with_links(client):
    r = client.get("/search", params={"q": "中國是聯合國維和行動第二大出資國", "k": 3})
    assert r.status_code == 200
    body = r.json()
    assert body["query"] == "中國是聯合國維和行動第二大出資國" and body["took_ms"] >= 0
    first = body["results"][0]
    assert first["rank"] == 1 and "第二大出資國" in first["text"]
    assert set(first) >= {"score", "passage_id", "doc_id", "title", "date", "lang", "source", "link", "highlight"}
    assert re.fullmatch(rf"/articles/{re.escape(first['doc_id'])}#p\d+", first["link"])
    assert "<mark>" in first["highlight"]
    scores = [h["score"] for h in body["results"]]
    assert scores == sorted(scores, reverse=True)


def test_search_post_matches_get(client):
    get = client.get("/search", params={"q": "安全对话", "k": 2}).json()["results"]
    post = client.post("/search", json={"q": "安全对话", "k": 2}).json()["results"]
    assert [h["passage_id"] for h in get] == [h["passage_id"] for h in post]


def test_link_opens_the_article_with_the_passage_anchored(client):
    hit = client.get("/search", params={"q": "气球问题", "k": 1}).json()["results"][0]
    path, anchor = hit["link"].split("#")
    page = client.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f'id="{anchor}"' in page.text
    data = client.get(path, headers={"Accept": "application/json"}).json()
    assert data["doc_id"] == hit["doc_id"]
    assert any(p["passage_id"] == hit["passage_id"] for p in data["passages"])


@pytest.mark.parametrize("params, message", [
    ({"q": ""}, "at least 1 character"),
    ({"q": "   "}, "non-whitespace"),
    ({"q": "x" * 2001}, "at most 2000 characters"),
    ({"q": "x", "k": 0}, "greater than or equal to 1"),
    ({"q": "x", "k": 101}, "less than or equal to 100"),
    ({"q": "x", "mode": "magic"}, "'hybrid', 'dense' or 'lexical'"),
    ({"q": "x", "date_from": "yesterday"}, "valid date"),
    ({}, "Field required"),
])
def test_bad_requests_get_422_naming_the_problem(client, params, message):
    r = client.get("/search", params=params)
    assert r.status_code == 422
    assert message in r.text


def test_unknown_article_is_404(client):
    r = client.get("/articles/nope")
    assert r.status_code == 404 and r.json() == {"detail": "no article 'nope'"}


def test_missing_index_gives_503_with_build_hint(tmp_path: Path):
    app = create_app(Settings(index_dir=tmp_path / "none"), embedders={})
    with TestClient(app) as c:
        for path in ("/search?q=hi", "/health"):
            r = c.get(path)
            assert r.status_code == 503
            assert "python -m indexer build" in r.json()["detail"]


def test_home_page_and_docs_are_served(client):
    assert "<form" in client.get("/").text
    assert client.get("/docs").status_code == 200
    assert "/search" in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize("q", ["😀😀😀", "？？！！。。", "中文 and English 混合", "\x00\x07控制字符", "长" * 2000])
def test_odd_queries_never_500(client, q):
    r = client.get("/search", params={"q": q})
    assert r.status_code in (200, 422)


def test_concurrent_searches_wait_for_a_free_slot(built_index):
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from tests.conftest import FakeEmbedder

    config, _, embedders = built_index
    state = {"running": 0, "most": 0}
    lock = threading.Lock()

    class Slow(FakeEmbedder):
        def encode(self, texts, *, is_query=False):
            with lock:
                state["running"] += 1
                state["most"] = max(state["most"], state["running"])
            time.sleep(0.05)
            with lock:
                state["running"] -= 1
            return super().encode(texts, is_query=is_query)

    slow = {"fake": Slow("fake"), "fake2": embedders["fake2"]}
    app = create_app(Settings(index_dir=config.index_dir, models=tuple(slow), concurrent_searches=2), embedders=slow)
    with TestClient(app) as c:
        state["most"] = 0
        with ThreadPoolExecutor(6) as pool:
            codes = list(pool.map(lambda i: c.get("/search", params={"q": f"维和行动 {i}"}).status_code, range(6)))
    assert codes == [200] * 6
    assert state["most"] == 2
