"""Filters before ranking: the row mask, vector search restricted to it, and a rare filter that still finds."""

from types import SimpleNamespace

import numpy as np
import pytest

from indexer.store import make_vector_index, row_reader
from search_api import prefilter
from search_api.prefilter import Filters, RowFilter, restricted_search
from search_api.search import Searcher
from tests.serving import build_jsonl_index

ARTICLES = [SimpleNamespace(doc_id="a", date="2024-01-01", path="x/新华社.jsonl", source="Xinhua", url=None),
            SimpleNamespace(doc_id="b", date="2024-02-01", path="y.jsonl", source=None, url="https://bbc.com/1"),
            SimpleNamespace(doc_id="c", date=None, path="z.jsonl", source="新华社", url=None)]
ROWS = RowFilter(ARTICLES, ["a", "a", "b", "c", "c"], np.array(["zh-Hans", "en", "zh-Hant", "zh-Hans", "zh-Hans"]))


@pytest.mark.parametrize("filters, rows", [
    (Filters(), None),
    (Filters(lang="zh-Hans"), [0, 3, 4]),
    (Filters(date_from="2024-01-15"), [2]),  # an undated article passes no date filter
    (Filters(date_to="2024-01-31"), [0, 1]),
    (Filters(date_from="2024-01-01", date_to="2024-02-01"), [0, 1, 2]),
    (Filters(source="新华社"), [0, 1, 3, 4]),  # path or source
    (Filters(source="BBC.com"), [2]),  # url, case-insensitive
    (Filters(source="新华社", lang="en"), [1]),
    (Filters(date_from="2030-01-01"), []),
])
def test_the_mask_allows_exactly_the_matching_rows(filters, rows):
    mask = ROWS.mask(filters)
    assert (mask is None and rows is None) or np.flatnonzero(mask).tolist() == rows


@pytest.mark.parametrize("n_vectors, exact_rows", [(3000, 20_000), (3000, 10), (30_000, 20_000)])
def test_restricted_search_matches_brute_force(monkeypatch, n_vectors, exact_rows):
    """Exact scoring of the allowed rows, or FAISS's flat / HNSW search with a selector, against numpy."""
    monkeypatch.setattr(prefilter, "EXACT_ROWS", exact_rows)
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((n_vectors, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = make_vector_index(vectors, ann_threshold=20_000)
    if hasattr(index, "hnsw"):
        index.hnsw.efSearch = 128
    allowed = rng.random(n_vectors) < 0.3
    recall = []
    for query in vectors[:20]:
        found = restricted_search(index, row_reader(index), query, 10, allowed)
        assert allowed[found].all() and len(found) == 10
        truth = np.flatnonzero(allowed)[np.argsort(-(vectors[allowed] @ query))[:10]]
        recall.append(len(set(found.tolist()) & set(truth.tolist())) / 10)
    assert np.mean(recall) >= (0.95 if hasattr(index, "hnsw") else 1.0)


def test_restricted_search_of_nothing_allowed_is_empty():
    vectors = np.eye(4, dtype=np.float32)
    index = make_vector_index(vectors)
    assert restricted_search(index, row_reader(index), vectors[0], 3, np.zeros(4, bool)).size == 0


def test_a_filter_matching_one_article_finds_it_under_a_broad_query(tmp_path):
    """300 articles match the query better; the one the date filter allows is still returned (filters
    used to apply after ranking, to 4x the candidates, and answered nothing)."""
    crowd = [{"id": f"n{i}", "title": f"新闻{i}", "date": "2024-03-01",
              "text": f"今天的最新消息：第{i}条新闻，市政府发布了最新的通知和消息。"} for i in range(300)]
    lone = {"id": "lone", "title": "农业", "date": "2024-03-02", "text": "水稻种植面积扩大，农民收入稳步增长。"}
    index, embedders = build_jsonl_index(tmp_path, crowd + [lone])
    searcher = Searcher(index, embedders, candidates=10)
    for mode in ("hybrid", "dense"):
        outcome = searcher.search("这一天的最新消息", k=3, mode=mode,
                                  filters=Filters(date_from="2024-03-02", date_to="2024-03-02"))
        assert [h.doc_id for h in outcome.hits] == ["lone"]
    wide = searcher.search("这一天的最新消息", k=3, filters=Filters(date_from="2024-03-01"))
    assert wide.hits and all(h.article.date >= "2024-03-01" for h in wide.hits)
