"""POST /context: numbered blocks under a budget, citation offsets that resolve, answer sentences."""

import re
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from indexer.chunk import sentence_spans
from search_api.app import create_app
from search_api.config import Settings
from search_api.context import growing, windows
from search_api.search import ArticleText, Part
from tests.serving import build_jsonl_index, long_article

OTHER = {"id": "short", "title": "上海通报", "date": "2024-02-03", "url": "",
         "text": "上海市政府宣布新的地铁线路将于明年开工建设，全长三十公里。该线路连接浦东机场和虹桥枢纽。\n\n"
                 "另据报道，北京将扩建第二机场的航站楼。"}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    index, embedders = build_jsonl_index(tmp_path_factory.mktemp("ctx"), [long_article(), OTHER])
    app = create_app(Settings(index_dir=index, models=tuple(embedders)), embedders=embedders)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _context(client, **body):
    r = client.post("/context", json={"q": "上海市政府宣布新的地铁线路", **body})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("body", [{}, {"neighbors": 1}, {"neighbors": 2, "k": 6}, {"max_chars": 300}])
def test_every_span_resolves_in_the_article_text(client, body):
    ctx = _context(client, **body)
    assert ctx["passages"]
    for p in ctx["passages"]:
        article = client.get(f"/articles/{p['doc_id']}", params={"format": "json"}).json()
        assert article["text"][p["span"]["start"]:p["span"]["end"]] == p["text"]
        assert p["text"][p["answer"]["start"]:p["answer"]["end"]] == p["answer"]["text"]
        assert p["passage_id"] in p["passage_ids"]


def test_response_fields_and_numbered_context(client):
    ctx = _context(client, k=3)
    assert set(ctx) == {"query", "took_ms", "truncated", "context", "passages", "sources"}
    first = ctx["passages"][0]
    assert set(first) == {"n", "passage_id", "passage_ids", "doc_id", "title", "date", "lang", "url", "link", "text",
                          "score", "matches", "span", "answer"}
    assert [p["n"] for p in ctx["passages"]] == list(range(1, len(ctx["passages"]) + 1))
    for p in ctx["passages"]:
        header = f"[{p['n']}] {p['title']} ({p['date']})\n"
        assert header + p["text"] in ctx["context"]
        assert all(p["text"][a:b] for a, b in p["matches"])
    assert ctx["context"].startswith("[1] ")
    # one source per article, listing its blocks' numbers
    assert sorted(n for s in ctx["sources"] for n in s["n"]) == [p["n"] for p in ctx["passages"]]
    assert len({s["doc_id"] for s in ctx["sources"]}) == len(ctx["sources"])


def test_neighbours_add_text_but_never_reorder_the_hits(client):
    plain = _context(client, k=6)
    wide = _context(client, k=6, neighbors=1)
    hits = [p["passage_id"] for p in plain["passages"]]
    wide_hits = [p["passage_id"] for p in wide["passages"]]
    assert wide_hits == [h for h in hits if h in wide_hits]  # the same order, merged hits folded in
    assert sum(len(p["passage_ids"]) for p in wide["passages"]) > len(wide["passages"])
    for p in wide["passages"]:  # windows of one article never overlap or touch
        others = [q for q in wide["passages"] if q["doc_id"] == p["doc_id"] and q is not p]
        assert all(q["span"]["start"] > p["span"]["end"] + 2 or q["span"]["end"] < p["span"]["start"] - 2
                   for q in others)


@pytest.mark.parametrize("max_chars", [200, 260, 400, 800, 6000])
def test_the_budget_holds_and_nothing_is_cut_mid_sentence(client, max_chars):
    unlimited = len(_context(client, k=10, neighbors=2, max_chars=100_000)["context"])
    ctx = _context(client, k=10, neighbors=2, max_chars=max_chars)
    assert len(ctx["context"]) <= max_chars
    article = client.get("/articles/long", params={"format": "json"}).json()
    ends = {m.end() for m in re.finditer(r"[。！？]", article["text"])}
    for p in ctx["passages"]:
        if p["doc_id"] == "long":
            assert p["span"]["end"] in ends  # every block ends where a sentence does
    assert ctx["truncated"] == (max_chars < unlimited)


def test_per_article_and_min_score(client):
    one = _context(client, k=10, per_article=1)
    assert len({p["doc_id"] for p in one["passages"]}) == len(one["passages"])
    everything = _context(client, k=10)
    cut = sorted(p["score"] for p in everything["passages"])[len(everything["passages"]) // 2]
    high = _context(client, k=10, min_score=cut)
    assert high["passages"] and all(p["score"] >= cut for p in high["passages"])
    assert len(high["passages"]) < len(everything["passages"])


@pytest.mark.parametrize("body, message", [
    ({"q": "x", "max_chars": 10}, "greater than or equal to 200"),
    ({"q": "x", "neighbors": 3}, "less than or equal to 2"),
    ({"q": "x", "per_article": 0}, "greater than or equal to 1"),
    ({"q": "x", "neighbours": 1}, "Extra inputs are not permitted"),
    ({"q": "x", "date_from": "2024-05-02", "date_to": "2024-05-01"}, "date_from 2024-05-02 is after date_to"),
    ({"q": " "}, "non-whitespace"),
])
def test_bad_context_requests_are_422_naming_the_value(client, body, message):
    r = client.post("/context", json=body)
    assert r.status_code == 422
    assert message in str(r.json()["detail"])


def test_urls_are_absolute_the_own_url_first(client):
    ctx = _context(client, k=10)
    urls = {p["doc_id"]: p["url"] for p in ctx["passages"]}
    assert urls["long"] == "https://example.com/long"
    assert re.fullmatch(r"http://testserver/articles/short#p\d+", urls["short"])


def test_public_url_makes_links_absolute(tmp_path):
    index, embedders = build_jsonl_index(tmp_path, [OTHER])
    settings = Settings(index_dir=index, models=tuple(embedders), public_url="https://news.example.org/search/")
    with TestClient(create_app(settings, embedders=embedders)) as c:
        hit = c.get("/search", params={"q": "地铁"}).json()["results"][0]
        assert hit["url"] == f"https://news.example.org/search/articles/short#p{hit['link'].split('#p')[1]}"
        assert c.get("/articles/short", params={"format": "json"}).json()["url"] == \
            "https://news.example.org/search/articles/short"


@pytest.mark.parametrize("value", ["news.example.org", "ftp://x", "https://x/?a=1", "https://x/#f"])
def test_public_url_must_be_http(value):
    with pytest.raises(ValueError, match="NEWSSEARCH_PUBLIC_URL"):
        Settings(public_url=value)


def test_answer_is_the_sentence_with_the_question_terms(client):
    ctx = _context(client, k=10)
    short = next(p for p in ctx["passages"] if p["doc_id"] == "short" and "浦东" in p["text"])
    r = client.post("/context", json={"q": "哪条线路连接浦东机场和虹桥枢纽", "k": 10}).json()
    answer = next(p["answer"] for p in r["passages"] if p["passage_id"] == short["passage_id"])
    assert answer["text"] == "该线路连接浦东机场和虹桥枢纽。"
    assert (answer["start"], answer["end"]) in sentence_spans(short["text"])


def _article(positions: int) -> ArticleText:
    parts, cursor = [], 0
    for i in range(positions):
        parts.append(Part(i, f"p{i}", i, cursor, cursor + 10))
        cursor += 12
    return ArticleText(SimpleNamespace(doc_id="d"), "", parts)


@pytest.mark.parametrize("positions, neighbors, expected", [
    ([3], 0, [(3, 3, [3])]),
    ([3], 1, [(2, 4, [3])]),
    ([0], 2, [(0, 2, [0])]),
    ([9], 2, [(7, 9, [9])]),
    ([3, 4], 0, [(3, 4, [3, 4])]),  # adjacent passages merge
    ([3, 5], 0, [(3, 3, [3]), (5, 5, [5])]),
    ([3, 5], 1, [(2, 6, [3, 5])]),
    ([2, 8, 5], 1, [(1, 9, [2, 8, 5])]),  # the third window bridges the first two
])
def test_windows_merge_when_they_overlap_or_touch(positions, neighbors, expected):
    hits = [SimpleNamespace(doc_id="d", position=p) for p in positions]
    got = windows(hits, {"d": _article(10)}, neighbors)
    assert [(w.lo, w.hi, [h.position for h in w.hits]) for w in got] == expected


@pytest.mark.parametrize("spans, answer, expected", [
    ([], (0, 5), [(0, 5)]),
    ([(0, 5), (5, 9)], (0, 5), [(0, 5)]),
    ([(0, 5), (5, 9), (9, 14)], (5, 9), [(5, 14), (5, 9)]),
    ([(0, 5), (5, 9), (9, 14), (14, 20)], (9, 14), [(5, 20), (9, 20), (9, 14)]),
])
def test_excerpts_grow_around_the_answer_by_whole_sentences(spans, answer, expected):
    assert growing(spans, answer) == expected
