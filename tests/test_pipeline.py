import json
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from indexer import FORMAT_VERSION, store
from indexer.config import IndexConfig
from indexer.pipeline import NothingToIndexError, build_index
from tests.conftest import FakeEmbedder, FakeSpanEmbedder


def test_build_writes_manifest_db_and_vectors(built_index):
    config, summary, embedders = built_index
    live = store.live_dir(config.index_dir)
    manifest = json.loads((live / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION
    n_sent = manifest["models"]["fake"]["sentences"]
    assert n_sent > 0
    assert manifest["models"] == {
        "fake": {"model_id": "fake-bigram-64", "dim": 64, "index": "flat-ip", "sentences": n_sent,
                 "sentence_index": "flat-ip", "sentence_vectors": "separate"},
        "fake2": {"model_id": "fake-span-32", "dim": 32, "index": "flat-ip", "sentences": n_sent,
                  "sentence_index": "flat-ip", "sentence_vectors": "late-chunked"}}
    assert manifest["chunking"] == {"max_chars": 400, "min_chars": 20}
    assert manifest["counts"]["passages"] == summary.passages
    assert summary.articles == 7
    assert {(w, r.split(" ")[0]) for w, r in summary.skipped} >= {("empty.txt", "empty"), ("binary.txt", "binary")}
    for name in embedders:
        assert store.read_vectors(live, name).ntotal == summary.passages
        assert store.read_vectors(live, name + store.SENTENCE_SUFFIX).ntotal == n_sent
    # the late-chunking model ran once per passage; the other also embedded each distinct sentence
    assert embedders["fake2"].calls == summary.passages < embedders["fake"].calls


def test_sentence_rows_line_up_for_both_kinds_of_model(built_index):
    from indexer.chunk import passage_sentences

    config, _, embedders = built_index
    live = store.live_dir(config.index_dir)
    offsets = np.load(live / store.SENTENCE_OFFSETS)
    conn = sqlite3.connect(live / store.DB)
    texts = [t for (t,) in conn.execute("SELECT text FROM passages ORDER BY row")]
    row = next(i for i, t in enumerate(texts) if len(passage_sentences(t)) >= 2)
    first = passage_sentences(texts[row])[0]
    for name, embedder in embedders.items():
        stored = store.read_vectors(live, name + store.SENTENCE_SUFFIX).reconstruct(int(offsets[row]))
        np.testing.assert_allclose(stored, embedder.encode([first])[0], atol=1e-5)


def test_duplicate_passages_are_stored_once_with_every_source(built_index):
    config, summary, _ = built_index
    conn = sqlite3.connect(store.live_dir(config.index_dir) / store.DB)
    texts = [t for (t,) in conn.execute("SELECT text FROM passages")]
    assert len(texts) == len(set(texts))
    # the summit paragraph is in a_utf8.txt and in d.jsonl (j3); Big5 and UTF-16 copies of article B too
    docs = {d for (d,) in conn.execute(
        "SELECT o.doc_id FROM occurrences o JOIN passages p USING (passage_id) WHERE p.text LIKE '%海底电缆%'")}
    assert docs == {"a_utf8", "j3"}
    assert summary.duplicates >= 2


def test_faiss_matches_numpy_brute_force(built_index):
    config, _, embedders = built_index
    live = store.live_dir(config.index_dir)
    index = store.read_vectors(live, "fake")
    vectors = index.reconstruct_n(0, index.ntotal)
    rng = np.random.default_rng(0)
    queries = rng.normal(size=(5, 64)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    scores, ids = index.search(queries, 5)
    exact = queries @ vectors.T
    best = -np.sort(-exact, axis=1)[:, :5]
    # FAISS and numpy sum in different orders (SIMD width depends on the CPU), so scores agree to float32
    # rounding in absolute terms, and among near-ties either order is a correct top 5.
    np.testing.assert_allclose(scores, best, rtol=0, atol=1e-5)
    np.testing.assert_allclose(np.take_along_axis(exact, ids, axis=1), scores, rtol=0, atol=1e-5)
    assert all(len(set(row)) == 5 for row in ids.tolist())


def test_rebuild_with_no_change_keeps_the_live_index(built_index):
    config, summary, embedders = built_index
    before = store.live_dir(config.index_dir)
    fresh = [FakeEmbedder("fake"), FakeSpanEmbedder("fake2", dim=32)]
    again = build_index(config, fresh)
    assert again.unchanged and store.live_dir(config.index_dir) == before
    assert fresh[0].calls == 0 and again.passages == summary.passages


def test_rebuild_embeds_only_new_passages(built_index, monkeypatch):
    from indexer import lexical

    config, summary, embedders = built_index
    tokenised = []
    monkeypatch.setattr(lexical, "tokenize", lambda text: tokenised.append(text) or text.split())
    (config.sources[0] / "new.txt").write_text(
        "格陵兰冰盖融化速度创下新的纪录，科学家发出警告。海平面上升将威胁沿海城市的安全。", encoding="utf-8")
    fresh = [FakeEmbedder("fake"), FakeSpanEmbedder("fake2", dim=32)]
    again = build_index(config, fresh)
    assert not again.unchanged and again.passages == summary.passages + 1
    # the new passage and its two sentences; the late-chunking model embeds the passage alone
    assert again.embedded == {"fake": 3, "fake2": 1}
    assert fresh[0].calls == 3 and fresh[1].calls == 1
    assert len(tokenised) == 1 and tokenised[0].startswith("格陵兰")  # BM25 tokens of the others are cached


def test_failed_build_keeps_the_last_good_index(built_index):
    config, _, _ = built_index
    before = store.live_dir(config.index_dir)

    class Broken(FakeEmbedder):
        def encode(self, texts, *, is_query=False):
            raise RuntimeError("model crashed")

    with pytest.raises(RuntimeError, match="model crashed"):
        build_index(IndexConfig(sources=config.sources, index_dir=config.index_dir, models=("broken",),
                                show_progress=False), [Broken("broken", dim=16)])
    assert store.live_dir(config.index_dir) == before
    assert [p.name for p in (config.index_dir / store.BUILDS).iterdir()] == [before.name]


def test_second_concurrent_build_is_refused(built_index):
    config, _, embedders = built_index
    with store.build_lock(config.index_dir):
        with pytest.raises(store.IndexLockedError, match="another build is running"):
            build_index(config, list(embedders.values()))


def test_nothing_to_index_fails_clearly(tmp_path: Path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "empty.txt").write_bytes(b"")
    config = IndexConfig(sources=(tmp_path / "src",), index_dir=tmp_path / "idx", models=("fake",),
                         show_progress=False)
    with pytest.raises(NothingToIndexError, match="1 input"):
        build_index(config, [FakeEmbedder()])
    assert not (tmp_path / "idx" / store.CURRENT).exists()


def test_missing_index_error_says_how_to_build(tmp_path: Path):
    with pytest.raises(store.IndexNotFoundError, match="python -m indexer build"):
        store.live_dir(tmp_path)


def test_current_is_a_relative_symlink(built_index):
    config, _, _ = built_index
    assert not os.readlink(config.index_dir / store.CURRENT).startswith("/")


def test_interrupted_build_resumes_without_redoing_finished_batches(tmp_path, messy_corpus, monkeypatch):
    from indexer import vectors

    monkeypatch.setattr(vectors, "CHECKPOINT_TEXTS", 1)
    config = IndexConfig(sources=(messy_corpus,), index_dir=tmp_path / "idx", models=("fake",), batch_size=2,
                         show_progress=False)

    class DiesAfterTwoBatches(FakeEmbedder):
        def encode(self, texts, *, is_query=False):
            if self.calls >= 4:
                raise KeyboardInterrupt
            return super().encode(texts, is_query=is_query)

    with pytest.raises(KeyboardInterrupt):
        build_index(config, [DiesAfterTwoBatches("fake")])
    assert not (config.index_dir / store.CURRENT).exists()
    resumed = FakeEmbedder("fake")
    summary = build_index(config, [resumed])
    full = build_index(IndexConfig(sources=(messy_corpus,), index_dir=tmp_path / "full", models=("fake",),
                                   show_progress=False), [FakeEmbedder("fake")])
    assert resumed.calls == summary.embedded["fake"] == full.embedded["fake"] - 4


def test_deleted_articles_leave_the_index_and_the_cache(built_index):
    from indexer.cache import EmbeddingCache
    from indexer.chunk import passage_id

    config, summary, embedders = built_index
    gone = passage_id("日本和中国在东京举行安全对话，双方同意建立防务热线。")
    cache = EmbeddingCache(config.index_dir, "fake-bigram-64", 64)
    assert gone in cache.load()
    (config.sources[0] / "d.jsonl").unlink()
    again = build_index(config, [FakeEmbedder("fake"), FakeSpanEmbedder("fake2", dim=32)])
    assert again.articles == summary.articles - 2
    assert gone not in cache.load()
    assert gone not in {r[0] for r in sqlite3.connect(store.live_dir(config.index_dir) / store.DB)
                        .execute("SELECT passage_id FROM passages")}


def test_large_corpora_get_an_hnsw_index_that_agrees_with_exact_search(tmp_path, messy_corpus):
    from search_api.search import Searcher

    config = IndexConfig(sources=(messy_corpus,), index_dir=tmp_path / "idx", models=("fake",), ann_threshold=1,
                         show_progress=False)
    build_index(config, [FakeEmbedder("fake")])
    live = store.live_dir(config.index_dir)
    index = store.read_vectors(live, "fake")
    assert hasattr(index, "hnsw") and store.read_manifest(config.index_dir)["models"]["fake"]["index"] == "hnsw-ip"
    vectors = index.reconstruct_n(0, index.ntotal)
    _, ids = index.search(vectors[:3], 1)
    assert ids[:, 0].tolist() == [0, 1, 2]
    rows = np.array([2, 0, 1])  # gathered from the fp16 storage without reconstruct, in any order
    np.testing.assert_array_equal(store.row_reader(index)(rows), vectors[rows])
    hits = Searcher(config.index_dir, {"fake": FakeEmbedder("fake")}).search("维和行动第二大出资国", k=3).hits
    assert "出資國" in hits[0].text


def test_a_failing_second_model_publishes_nothing(tmp_path, messy_corpus):
    class Broken(FakeEmbedder):
        def encode(self, texts, *, is_query=False):
            raise RuntimeError("model crashed")

    slow = FakeEmbedder("fake")
    config = IndexConfig(sources=(messy_corpus,), index_dir=tmp_path / "idx", models=("fake", "broken"),
                         batch_size=1, show_progress=False)
    with pytest.raises(RuntimeError, match="model crashed"):
        build_index(config, [slow, Broken("broken", dim=16)])
    assert not (config.index_dir / store.CURRENT).exists()
    assert not list((config.index_dir / store.BUILDS).iterdir())
