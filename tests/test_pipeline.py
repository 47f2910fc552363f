import dataclasses
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
                 "sentence_index": "int8-mmap", "sentence_vectors": "separate"},
        "fake2": {"model_id": "fake-span-32", "dim": 32, "index": "flat-ip", "sentences": n_sent,
                  "sentence_index": "int8-mmap", "sentence_vectors": "late-chunked"}}
    assert manifest["chunking"] == {"max_chars": 400, "min_chars": 20}
    assert manifest["counts"]["passages"] == summary.passages
    assert summary.articles == 7
    reasons = {(s.where, s.reason.split(" ")[0]) for s in summary.skipped}
    assert reasons >= {("empty.txt", "empty"), ("binary.txt", "binary")}
    for name in embedders:
        assert store.read_vectors(live, name).ntotal == summary.passages
        assert len(np.load(live / f"{name}{store.SENTENCE_SUFFIX}.i8.npy", mmap_mode="r")) == n_sent
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
        stored = store.sentence_reader(live, name)(np.array([offsets[row]]))[0]
        # int8 with a scale per dimension: each component within half a quantisation step
        scale = np.load(live / f"{name}{store.SENTENCE_SUFFIX}.scale.npy")
        assert np.all(np.abs(stored - embedder.encode([first])[0]) <= scale / 2 + 1e-6)


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


def test_the_same_inputs_again_are_not_even_cleaned(built_index, monkeypatch):
    from indexer import pipeline

    config, summary, _ = built_index
    monkeypatch.setattr(pipeline, "collect", lambda *a: pytest.fail("cleaned an unchanged corpus"))
    again = build_index(config, _embedders())
    assert again.unchanged
    assert (again.articles, again.passages, again.duplicates) == (summary.articles, summary.passages,
                                                                   summary.duplicates)
    assert sorted(again.skipped) == sorted(summary.skipped)  # incl. what cleaning found: same exit status
    monkeypatch.undo()
    edited = config.sources[0] / "new.txt"
    edited.write_text("格陵兰冰盖融化速度创下新的纪录。", encoding="utf-8")
    assert not build_index(config, _embedders()).unchanged
    edited.write_text("格陵兰冰盖融化速度创下新的纪录！", encoding="utf-8")  # one character: a new input
    assert not build_index(config, _embedders()).unchanged


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


def test_deleted_articles_leave_the_index_and_the_cache(built_index, monkeypatch):
    from indexer import vectors
    from indexer.cache import EmbeddingCache
    from indexer.chunk import passage_id

    # any deleted share compacts here (test_vectors.py covers the share under which the cache is kept)
    monkeypatch.setattr(vectors, "STALE_SHARE", 0.0)
    config, summary, embedders = built_index
    gone = passage_id("日本和中国在东京举行安全对话，双方同意建立防务热线。")
    cache = EmbeddingCache(config.index_dir, "fake-bigram-64", 64)
    assert gone in cache.ids()
    (config.sources[0] / "d.jsonl").unlink()
    config = dataclasses.replace(config, allow_shrink=True)  # 2 of 7 articles: over the 10 % guard
    again = build_index(config, [FakeEmbedder("fake"), FakeSpanEmbedder("fake2", dim=32)])
    assert again.articles == summary.articles - 2 and again.removed == 2
    assert gone not in cache.ids()
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


def test_added_articles_extend_the_live_hnsw_graph_and_a_changed_one_rebuilds_it(tmp_path, messy_corpus,
                                                                                  monkeypatch):
    config = IndexConfig(sources=(messy_corpus,), index_dir=tmp_path / "idx", models=("fake",), ann_threshold=1,
                         show_progress=False)
    build_index(config, [FakeEmbedder("fake")])
    before = store.read_vectors(store.live_dir(config.index_dir), "fake")
    old = before.reconstruct_n(0, before.ntotal)
    fresh_builds = []
    monkeypatch.setattr(store, "make_vector_index",
                        lambda *a, real=store.make_vector_index: fresh_builds.append(1) or real(*a))
    added = tmp_path / "added"  # a day's new articles, given as one more source
    added.mkdir()
    (added / "new.txt").write_text("格陵兰冰盖融化速度创下新的纪录，科学家呼吁各国加快减排。", encoding="utf-8")
    config = dataclasses.replace(config, sources=(messy_corpus, added))
    build_index(config, [FakeEmbedder("fake")])
    after = store.read_vectors(store.live_dir(config.index_dir), "fake")
    assert not fresh_builds and after.ntotal > before.ntotal
    vectors = after.reconstruct_n(0, after.ntotal)
    np.testing.assert_array_equal(vectors[:len(old)], old)  # the old graph's rows, then the new ones
    _, ids = after.search(vectors, 1)
    assert ids[:, 0].tolist() == list(range(after.ntotal))
    (messy_corpus / "a_utf8.txt").write_text("外交部发言人今天宣布了新的签证便利措施。", encoding="utf-8")
    build_index(dataclasses.replace(config, allow_shrink=True), [FakeEmbedder("fake")])
    assert fresh_builds  # the first article changed: its rows are not the old index's start


def test_a_rebuild_cleans_only_what_changed_and_makes_what_a_fresh_build_makes(built_index, tmp_path, monkeypatch):
    from indexer import collect

    config, _, _ = built_index
    (config.sources[0] / "a_utf8.txt").write_text("外交部发言人今天宣布了新的签证便利措施。", encoding="utf-8")
    (config.sources[0] / "z_new.txt").write_text("格陵兰冰盖融化速度创下新的纪录。", encoding="utf-8")
    cleaned = []
    monkeypatch.setattr(collect, "clean_text", lambda text, *a, real=collect.clean_text: cleaned.append(text)
                        or real(text, *a))
    build_index(dataclasses.replace(config, allow_shrink=True), _embedders())
    assert sorted(cleaned) == sorted(["外交部发言人今天宣布了新的签证便利措施。", "格陵兰冰盖融化速度创下新的纪录。"])
    fresh = dataclasses.replace(config, index_dir=tmp_path / "fresh")  # no caches at all
    build_index(fresh, _embedders())

    def rows(index_dir):
        db = sqlite3.connect(store.live_dir(index_dir) / store.DB)
        return [db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in ("articles", "passages")]

    assert rows(config.index_dir) == rows(fresh.index_dir)
    offsets = [np.load(store.live_dir(d) / store.SENTENCE_OFFSETS) for d in (config.index_dir, fresh.index_dir)]
    np.testing.assert_array_equal(*offsets)  # the cached sentence spans are the ones a fresh build finds


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


def _embedders():
    return [FakeEmbedder("fake"), FakeSpanEmbedder("fake2", dim=32)]


def _doc_ids(index_dir: Path) -> set[str]:
    return set(store.live_articles(index_dir))


def test_a_rebuild_that_would_lose_many_articles_is_refused_and_changes_nothing(built_index):
    from indexer.cache import EmbeddingCache
    from indexer.pipeline import PublishRefusedError

    config, _, _ = built_index
    before, ids = store.live_dir(config.index_dir), _doc_ids(config.index_dir)
    cache = EmbeddingCache(config.index_dir, "fake-bigram-64", 64)
    cached = cache.ids()
    (config.sources[0] / "d.jsonl").write_bytes(b"\xff\xfe broken export")  # the whole file is now bad
    with pytest.raises(PublishRefusedError) as err:
        build_index(config, _embedders())
    message = str(err.value)
    assert "remove 2 of the live index's 7 articles (29%" in message and "--allow-shrink" in message
    assert "j1 (d.jsonl:1 skipped: malformed JSON" in message
    assert "j3 (d.jsonl:4 not found; d.jsonl has 1 skipped record(s))" in message
    assert store.live_dir(config.index_dir) == before and _doc_ids(config.index_dir) == ids
    assert cache.ids() == cached  # nothing was purged from the embedding cache


def test_a_small_deletion_publishes_as_before(tmp_path: Path):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(12):
        (src / f"a{i:02d}.txt").write_text(f"第{i}篇文章的正文，讲述了第{i}件不同的事情。", encoding="utf-8")
    config = IndexConfig(sources=(src,), index_dir=tmp_path / "idx", models=("fake",), show_progress=False)
    build_index(config, [FakeEmbedder()])
    (src / "a03.txt").unlink()  # 1 of 12 = 8 %
    summary = build_index(config, [FakeEmbedder()])
    assert summary.removed == 1 and _doc_ids(config.index_dir) == {f"a{i:02d}" for i in range(12)} - {"a03"}


def test_a_vanished_source_among_several_is_an_error_and_the_live_index_stays(built_index, tmp_path: Path):
    from indexer.load import SourceError

    config, _, _ = built_index
    extra = tmp_path / "share"
    extra.mkdir()
    (extra / "x.txt").write_text("格陵兰冰盖融化速度创下新的纪录。", encoding="utf-8")
    two = dataclasses.replace(config, sources=(*config.sources, extra))
    build_index(two, _embedders())
    before = store.live_dir(config.index_dir)
    extra.rename(tmp_path / "unmounted")
    with pytest.raises(SourceError, match=f"{extra}: does not exist"):
        build_index(dataclasses.replace(two, allow_shrink=True), _embedders())
    assert store.live_dir(config.index_dir) == before


def test_one_bad_record_is_skipped_and_listed_the_rest_published(built_index):
    config, summary, _ = built_index
    jsonl = config.sources[0] / "d.jsonl"
    jsonl.write_bytes(jsonl.read_bytes() + b'\n{"id": "j9", "text": "\xff\xfe\xfd"}\n'
                      + '{"id": "j10", "text": "新增的一条。"}'.encode())
    again = build_index(config, _embedders())
    assert {"j1", "j3", "j10"} <= _doc_ids(config.index_dir) and "j9" not in _doc_ids(config.index_dir)
    assert ("d.jsonl:5", "not valid UTF-8", "record") in again.skipped
    assert again.as_json()["skipped"][0].keys() == {"where", "reason", "kind"}


def test_strict_publishes_nothing_when_anything_was_skipped(built_index):
    from indexer.pipeline import PublishRefusedError

    config, _, _ = built_index
    before = store.live_dir(config.index_dir)
    (config.sources[0] / "new.txt").write_text("格陵兰冰盖融化速度创下新的纪录。", encoding="utf-8")
    with pytest.raises(PublishRefusedError, match=r"--strict: \d+ input\(s\) skipped.*empty\.txt \(empty file\)"):
        build_index(dataclasses.replace(config, strict=True), _embedders())
    assert store.live_dir(config.index_dir) == before


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_a_damaged_cache_shard_is_recomputed(built_index, damage):
    from indexer.cache import EmbeddingCache

    config, summary, _ = built_index
    cache = EmbeddingCache(config.index_dir, "fake-bigram-64", 64)
    shards = sorted(cache.dir.glob("*.npz"))
    data = shards[0].read_bytes()
    shards[0].write_bytes({"truncate": data[: len(data) // 2], "garbage": b"PK\x03\x04" + b"x" * 100,
                           "empty": b""}[damage])
    (config.sources[0] / "new.txt").write_text("格陵兰冰盖融化速度创下新的纪录。", encoding="utf-8")
    fresh = _embedders()
    again = build_index(config, fresh)
    assert again.passages == summary.passages + 1 and fresh[0].calls > 1  # lost vectors embedded again
    assert not shards[0].exists()
    assert build_index(config, _embedders()).unchanged  # and the next build is whole again


def test_previous_builds_are_kept_and_rollback_makes_the_last_one_live(built_index):
    from indexer.cli import main

    config, _, _ = built_index
    builds = [store.live_dir(config.index_dir).name]
    for i in range(3):
        (config.sources[0] / f"new{i}.txt").write_text(f"第{i}条新增新闻的正文内容。", encoding="utf-8")
        builds.append(build_index(config, _embedders()).builds[0])
    assert sorted(p.name for p in (config.index_dir / store.BUILDS).iterdir()) == builds[1:]  # live + 2
    assert main(["rollback", "--index", str(config.index_dir)]) == 0
    assert store.live_dir(config.index_dir).name == builds[2] and "new2" not in _doc_ids(config.index_dir)
    assert main(["rollback", "--index", str(config.index_dir)]) == 0
    assert store.live_dir(config.index_dir).name == builds[1]
    assert main(["rollback", "--index", str(config.index_dir)]) == 1  # nothing older is kept


def test_leftovers_of_a_killed_build_are_cleaned_by_the_next(built_index):
    config, _, _ = built_index
    debris = store.new_build_dir(config.index_dir)
    (debris / "e5.faiss").write_bytes(b"half written")
    (config.index_dir / ".current.tmp").symlink_to("builds/nowhere")
    build_index(config, _embedders())
    assert not debris.exists() and not (config.index_dir / ".current.tmp").is_symlink()


def test_build_files_are_fsynced_before_current_switches(built_index, monkeypatch):
    config, _, _ = built_index
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: events.append(os.readlink(f"/proc/self/fd/{fd}")) or real_fsync(fd))
    monkeypatch.setattr(os, "replace", lambda a, b: events.append(f"replace {b}") or real_replace(a, b))
    (config.sources[0] / "new.txt").write_text("格陵兰冰盖融化速度创下新的纪录。", encoding="utf-8")
    build_index(config, _embedders())
    switch = events.index(f"replace {config.index_dir / store.CURRENT}")
    live = store.live_dir(config.index_dir)
    synced = {Path(e).name for e in events[:switch] if e.startswith(str(live).removesuffix(live.name))}
    assert {"manifest.json", store.DB, "fake.faiss", "fake2.sent.i8.npy"} <= synced
    assert str(config.index_dir.resolve()) in events[switch + 1:]  # the switch itself is made durable


def test_cli_exit_status_tells_a_script_about_skips(built_index, tmp_path: Path, monkeypatch):
    import indexer.embed as embed
    from indexer.cli import EXIT_SKIPPED, main

    config, _, _ = built_index
    out = tmp_path / "summary.json"
    argv = ["build", "--source", str(config.sources[0]), "--index", str(tmp_path / "cli"), "--model", "st:x",
            "--quiet", "--summary-json", str(out)]
    monkeypatch.setattr(embed, "load_embedder", lambda spec, threads=None: FakeEmbedder("st"))
    assert main(argv) == EXIT_SKIPPED
    assert main([*argv, "--strict"]) == 1
    skipped = json.loads(out.read_text())["skipped"]
    assert {"where": "d.jsonl:2", "reason": "malformed JSON (Expecting property name enclosed in double quotes)",
            "kind": "record"} in skipped


@pytest.mark.parametrize("pattern, expected", [
    ("parts/*.jsonl.gz", ["parts/a.jsonl.gz", "parts/b.jsonl.gz"]),
    ("parts/[ab].jsonl*", ["parts/a.jsonl.gz", "parts/b.jsonl.gz"]),
    ("parts", ["parts"]),
])
def test_a_glob_source_expands_to_its_matches_in_order(tmp_path: Path, monkeypatch, pattern, expected):
    from indexer.cli import expand_sources

    (tmp_path / "parts").mkdir()
    for name in ("b.jsonl.gz", "a.jsonl.gz", "notes.txt"):
        (tmp_path / "parts" / name).write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    assert [str(p) for p in expand_sources([Path(pattern)])] == expected
    assert expand_sources([tmp_path / pattern]) == tuple(tmp_path / e for e in expected)  # absolute too


def test_a_glob_that_matches_nothing_is_an_error(tmp_path: Path, capsys):
    from indexer.cli import main

    assert main(["build", "--source", str(tmp_path / "none*.jsonl.gz"), "--index", str(tmp_path / "i")]) == 1
    assert "no file or folder matches the source pattern" in capsys.readouterr().err


def test_gzipped_parts_given_as_a_glob_build_one_index(tmp_path: Path):
    import gzip

    from indexer.cli import expand_sources
    from tests.conftest import FakeEmbedder

    for part in range(2):
        topics = enumerate(["水稻", "地铁", "港口"])
        records = [{"id": f"p{part}-{i}", "title": f"第{part}部分",
                    "text": f"第{part}部分第{i}篇：{topic}建设的新闻正文。"} for i, topic in topics]
        with gzip.open(tmp_path / f"corpus-part{part:02d}.jsonl.gz", "wt", encoding="utf-8") as f:
            f.write("\n".join(json.dumps(r, ensure_ascii=False) for r in records))
    sources = expand_sources([tmp_path / "corpus-part*.jsonl.gz"])
    config = IndexConfig(sources=sources, index_dir=tmp_path / "index", models=("fake",), show_progress=False)
    summary = build_index(config, [FakeEmbedder("fake")])
    assert summary.articles == 6 and not summary.skipped


def test_build_folders_sort_in_creation_order_across_a_second_boundary(tmp_path: Path, monkeypatch):
    """The stamp's seconds and microseconds come from one clock reading (two readings once named a build
    made at .999999 s after the next one, and rollback then chose the wrong build)."""
    import time

    second = 1_700_000_000 * 10**9
    readings = iter([second + 999_999_000, second + 10**9 + 1_000])
    monkeypatch.setattr(time, "time_ns", lambda: next(readings))
    first, later = store.new_build_dir(tmp_path), store.new_build_dir(tmp_path)
    assert sorted([later.name, first.name]) == [first.name, later.name]
