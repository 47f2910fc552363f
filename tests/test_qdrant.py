"""Qdrant (embedded local mode) behind the same store interface as FAISS: same results."""

import pytest

from indexer import qdrant, store
from indexer.config import IndexConfig
from indexer.pipeline import build_index
from search_api.search import Searcher
from tests.conftest import FakeEmbedder

QUERIES = ["中國是聯合國維和行動第二大出資國", "拜登 太平洋岛国 海底电缆", "安全对话 气球", "NFL game", "上合组织峰会"]


@pytest.fixture
def both(tmp_path, messy_corpus):
    def build(index_dir, **kw):
        config = IndexConfig(sources=(messy_corpus,), index_dir=index_dir, models=("fake", "fake2"),
                             show_progress=False, **kw)
        build_index(config, [FakeEmbedder("fake"), FakeEmbedder("fake2", dim=32)])
        return Searcher(index_dir, {"fake": FakeEmbedder("fake"), "fake2": FakeEmbedder("fake2", dim=32)})

    qpath = str(tmp_path / "qdrant")
    return build(tmp_path / "faiss"), build(tmp_path / "q", store="qdrant", qdrant_path=qpath), qpath


def test_qdrant_and_faiss_return_the_same_ranking(both):
    faiss_searcher, qdrant_searcher, _ = both
    assert qdrant_searcher.manifest["vector_store"]["kind"] == "qdrant"
    for q in QUERIES:
        a = faiss_searcher.search(q, k=5).hits
        b = qdrant_searcher.search(q, k=5).hits
        assert [h.passage_id for h in a] == [h.passage_id for h in b]
        assert [h.score for h in a] == pytest.approx([h.score for h in b], abs=1e-4)


def test_rebuild_replaces_the_collections(both, tmp_path, messy_corpus):
    _, qdrant_searcher, qpath = both
    config = IndexConfig(sources=(messy_corpus,), index_dir=tmp_path / "q", models=("fake", "fake2"),
                         show_progress=False, store="qdrant", qdrant_path=qpath)
    build_index(config, [FakeEmbedder("fake"), FakeEmbedder("fake2", dim=32)])
    live = store.build_id(store.live_dir(config.index_dir))
    names = {c.name for c in qdrant.client(None, qpath).get_collections().collections}
    assert names == {f"newssearch-{live}-{s}" for s in ("fake", "fake2", "fake.sent", "fake2.sent")}


@pytest.mark.parametrize("kw, message", [
    ({"store": "qdrant"}, "exactly one of"),
    ({"store": "qdrant", "qdrant_url": "http://x", "qdrant_path": "/tmp/x"}, "exactly one of"),
    ({"store": "milvus"}, "'faiss' or 'qdrant'"),
])
def test_store_settings_are_validated(kw, message):
    with pytest.raises(ValueError, match=message):
        IndexConfig(**kw)
