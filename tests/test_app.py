import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from search_api.config import Settings
from tests.serving import build_jsonl_index, long_article


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


def test_missing_index_gives_503_with_build_hint(tmp_path: Path, caplog):
    app = create_app(Settings(index_dir=tmp_path / "none"), embedders={})
    with TestClient(app) as c:
        for path in ("/search?q=hi", "/health"):
            r = c.get(path)
            assert r.status_code == 503
            assert r.json() == {"detail": "search unavailable: no index has been built yet "
                                          "(build one with `python -m indexer build`)"}
            assert str(tmp_path) not in r.text  # the server's file system is not the client's business
    assert any(str(tmp_path / "none") in rec.getMessage() for rec in caplog.records)  # the operator's is


def test_home_page_and_docs_are_served(client):
    assert "<form" in client.get("/").text
    assert client.get("/docs").status_code == 200
    assert client.get("/redoc").status_code == 200
    assert "/search" in client.get("/openapi.json").json()["paths"]


def test_shared_passage_lists_the_other_article_with_a_total(client):
    hit = client.get("/search", params={"q": "美国总统拜登将于星期一与18位太平洋岛国领导人在白宫举行第二次峰会",
                                        "k": 1}).json()["results"][0]
    assert hit["also_in_total"] == len(hit["also_in"]) == 1
    assert hit["also_in"][0]["doc_id"] in {"a_utf8", "j3"} - {hit["doc_id"]}


def test_also_in_is_capped_at_ten_with_the_total_counted():
    from types import SimpleNamespace

    from indexer.store import ArticleRow
    from search_api.search import Hit
    from search_api.service import Links, public_hit

    rows = {f"d{i}": ArticleRow(f"d{i}", f"t{i}", None, f"d{i}.txt", None, None, "zh-Hans") for i in range(40)}
    hit = Hit(0.5, "pid", "同一段话", "zh-Hans", "d0", 0, rows["d0"], [], [(f"d{i}", i) for i in range(1, 40)])
    public = public_hit(hit, 1, SimpleNamespace(article_meta=rows.__getitem__), Links())
    assert public.also_in_total == 39
    assert [(o.doc_id, o.link) for o in public.also_in] == [(f"d{i}", f"/articles/d{i}#p{i}") for i in range(1, 11)]


@pytest.fixture(scope="module")
def long_client(tmp_path_factory):
    """An index whose one article has 12 passages, positions 0..11."""
    index, embedders = build_jsonl_index(tmp_path_factory.mktemp("long"), [long_article()])
    app = create_app(Settings(index_dir=index, models=tuple(embedders)), embedders=embedders)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize("params, positions, next_offset", [
    ({}, list(range(12)), None),
    ({"limit": 5}, [0, 1, 2, 3, 4], 5),
    ({"offset": 5, "limit": 5}, [5, 6, 7, 8, 9], 10),
    ({"offset": 10, "limit": 5}, [10, 11], None),
    ({"offset": 7, "limit": 5}, [7, 8, 9, 10, 11], None),
    ({"offset": 12}, [], None),
    ({"offset": 10**6, "limit": 1000}, [], None),
])
def test_article_json_is_paged(long_client, params, positions, next_offset):
    r = long_client.get("/articles/long", params={"format": "json", **params})
    assert r.status_code == 200
    body = r.json()
    assert [p["position"] for p in body["passages"]] == positions
    assert (body["total"], body["offset"], body["limit"], body["next_offset"]) == (
        12, params.get("offset", 0), params.get("limit", 200), next_offset)


@pytest.mark.parametrize("params, message", [
    ({"offset": -1}, "greater than or equal to 0"),
    ({"limit": 0}, "greater than or equal to 1"),
    ({"limit": 1001}, "less than or equal to 1000"),
    ({"offset": "x"}, "valid integer"),
])
def test_article_paging_bad_params_get_422(long_client, params, message):
    r = long_client.get("/articles/long", params=params)
    assert r.status_code == 422 and message in r.text


def test_article_page_shows_its_window_with_previous_and_next_links(long_client):
    page = long_client.get("/articles/long", params={"offset": 5, "limit": 5}).text
    assert re.findall(r'id="p(\d+)"', page) == ["5", "6", "7", "8", "9"]
    assert 'data-offset="5" data-limit="5" data-total="12"' in page  # what article.js needs to find #p11
    assert '<a rel="prev" href="?offset=0&amp;limit=5">' in page
    assert '<a rel="next" href="?offset=10&amp;limit=5">' in page
    assert "passages 6–10 of 12" in page
    last = long_client.get("/articles/long", params={"offset": 10, "limit": 5}).text
    assert 'rel="prev"' in last and 'rel="next"' not in last


def test_whole_article_page_has_no_pager(long_client):
    page = long_client.get("/articles/long").text
    assert len(re.findall(r'class="passage"', page)) == 12 and "pager" not in page


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
