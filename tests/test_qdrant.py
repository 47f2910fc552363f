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


def _collections(qpath: str) -> set[str]:
    return {c.name for c in qdrant.client(None, qpath).get_collections().collections}


def _signals(prefix: str, build: str) -> set[str]:
    return {f"{prefix}-{build}-{s}" for s in ("fake", "fake2")}


def test_rebuilds_keep_the_previous_builds_collections_and_drop_older_ones(both, tmp_path, messy_corpus):
    _, _, qpath = both
    config = IndexConfig(sources=(messy_corpus,), index_dir=tmp_path / "q", models=("fake", "fake2"),
                         show_progress=False, store="qdrant", qdrant_path=qpath, keep_builds=1)
    prefix = store.read_manifest(config.index_dir)["vector_store"]["prefix"]
    assert prefix == f"newssearch-{store.index_id(config.index_dir)}"
    for i in range(2):
        (messy_corpus / f"new{i}.txt").write_text(f"第{i}条新增的新闻正文，内容足够长以成为段落。", encoding="utf-8")
        builds = build_index(config, [FakeEmbedder("fake"), FakeEmbedder("fake2", dim=32)]).builds
    live, previous = builds
    assert live == store.live_dir(config.index_dir).name
    assert _collections(qpath) - {c for c in _collections(qpath) if not c.startswith(prefix)} == (
        _signals(prefix, live) | _signals(prefix, previous))
    assert sorted(p.name for p in (config.index_dir / store.BUILDS).iterdir()) == sorted(builds)


def test_two_indexes_share_one_qdrant_without_touching_each_other(both, tmp_path, messy_corpus):
    _, _, qpath = both
    other = tmp_path / "other_corpus"
    other.mkdir()
    (other / "x.txt").write_text("格陵兰冰盖融化速度创下新的纪录，科学家发出警告。", encoding="utf-8")
    config = IndexConfig(sources=(other,), index_dir=tmp_path / "second", models=("fake", "fake2"),
                         show_progress=False, store="qdrant", qdrant_path=qpath)
    for i in range(2):  # a rebuild prunes only its own collections
        (other / "y.txt").write_text(f"第{i}次重建的附加文章正文。", encoding="utf-8")
        build_index(config, [FakeEmbedder("fake"), FakeEmbedder("fake2", dim=32)])
    again = Searcher(tmp_path / "q", {"fake": FakeEmbedder("fake"), "fake2": FakeEmbedder("fake2", dim=32)})
    assert "出資國" in again.search("中國是聯合國維和行動第二大出資國", k=1).hits[0].text
    second = Searcher(config.index_dir, {"fake": FakeEmbedder("fake"), "fake2": FakeEmbedder("fake2", dim=32)})
    assert "格陵兰" in second.search("格陵兰冰盖", k=1).hits[0].text


def test_rollback_serves_the_previous_build_from_its_kept_collections(both, tmp_path, messy_corpus):
    _, _, qpath = both
    config = IndexConfig(sources=(messy_corpus,), index_dir=tmp_path / "q", models=("fake", "fake2"),
                         show_progress=False, store="qdrant", qdrant_path=qpath)
    (messy_corpus / "new.txt").write_text("格陵兰冰盖融化速度创下新的纪录，科学家发出警告。", encoding="utf-8")
    build_index(config, [FakeEmbedder("fake"), FakeEmbedder("fake2", dim=32)])
    embedders = {"fake": FakeEmbedder("fake"), "fake2": FakeEmbedder("fake2", dim=32)}
    assert "格陵兰" in Searcher(config.index_dir, embedders).search("格陵兰冰盖", k=1).hits[0].text
    store.rollback(config.index_dir)
    hits = Searcher(config.index_dir, embedders).search("格陵兰冰盖", k=3).hits
    assert all("格陵兰" not in h.text for h in hits)


@pytest.mark.parametrize("kw, message", [
    ({"store": "qdrant"}, "exactly one of"),
    ({"store": "qdrant", "qdrant_url": "http://x", "qdrant_path": "/tmp/x"}, "exactly one of"),
    ({"store": "milvus"}, "'faiss' or 'qdrant'"),
])
def test_store_settings_are_validated(kw, message):
    with pytest.raises(ValueError, match=message):
        IndexConfig(**kw)
