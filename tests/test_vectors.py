"""embed_units: batches of equal token counts, cached units never re-embedded, repeats embedded once."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.config import IndexConfig
from indexer.vectors import Unit, embed_units
from tests.conftest import FakeEmbedder


class CountingEmbedder(FakeEmbedder):
    """A fake whose token count runs against character count (as English words against CJK characters)."""

    def __init__(self) -> None:
        super().__init__("counted")
        self.batches: list[list[str]] = []

    def token_counts(self, texts: list[str]) -> list[int]:
        return [100 - len(t) for t in texts]

    def encode(self, texts, *, is_query=False):
        self.batches.append(list(texts))
        return super().encode(texts, is_query=is_query)


def _units(texts: list[str]) -> list[Unit]:
    return [Unit(f"u{i}-{t}", t) for i, t in enumerate(texts)]


def test_batches_follow_the_models_token_counts_not_characters(tmp_path):
    texts = ["短", "稍长一点", "这是更长的一段文字", "中等长度文本", "一二三四五六七八九十甲乙"]
    embedder = CountingEmbedder()
    config = IndexConfig(index_dir=tmp_path, models=("counted",), batch_size=2, show_progress=False)
    vectors, embedded = embed_units(config, embedder, _units(texts))
    assert embedded == 5
    flat = [t for batch in embedder.batches for t in batch]
    assert flat == sorted(texts, key=lambda t: 100 - len(t))  # most "tokens" (fewest characters) last
    np.testing.assert_allclose(vectors.read(0, 5), FakeEmbedder("x").encode(texts), atol=1e-6)


def test_cached_units_are_read_back_and_repeats_embedded_once(tmp_path):
    config = IndexConfig(index_dir=tmp_path, models=("fake",), batch_size=4, show_progress=False)
    first = FakeEmbedder()
    embed_units(config, first, _units(["甲乙丙", "丁戊己"]))
    again = FakeEmbedder()
    units = _units(["甲乙丙", "丁戊己"]) + [Unit("new", "庚辛壬"), Unit("new", "庚辛壬")]
    vectors, embedded = embed_units(config, again, units)
    assert embedded == 1 and again.calls == 1
    expected = FakeEmbedder().encode(["甲乙丙", "丁戊己", "庚辛壬", "庚辛壬"])
    np.testing.assert_allclose(vectors.read(0, 4), expected, atol=1e-6)


def test_a_shard_larger_than_a_block_is_read_in_blocks_and_filled_whole(tmp_path, monkeypatch):
    from indexer import cache as cache_module
    from indexer.rowfile import RowFile

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((10, 4)).astype(np.float32)
    store = cache_module.EmbeddingCache(tmp_path, "m", 4)
    store.append([f"id{i}" for i in range(10)], vectors)  # one shard of 10 rows, as an old build wrote it
    monkeypatch.setattr(cache_module, "SHARD_ROWS", 3)
    assert [len(ids) for ids, _ in store._shards()] == [3, 3, 3, 1]
    out = RowFile(tmp_path / "scratch", 12, 4)
    found, unused = store.fill({f"id{i}": 11 - i for i in range(9)}, out)  # id9 is no longer wanted
    assert unused == 1 and found.sum() == 9 and not found[:3].any()
    np.testing.assert_array_equal(out.gather(np.arange(11, 2, -1)), vectors[:9])


@pytest.mark.parametrize("dropped, compacted", [(1, False), (3, True)])
def test_the_cache_is_rewritten_only_when_dropped_passages_are_a_real_share(tmp_path, dropped, compacted):
    from indexer.cache import EmbeddingCache

    config = IndexConfig(index_dir=tmp_path, models=("fake",), batch_size=4, show_progress=False)
    texts = [f"第{i}段文字内容" for i in range(12)]
    embed_units(config, FakeEmbedder(), _units(texts))
    cache = EmbeddingCache(tmp_path, FakeEmbedder().model_id, FakeEmbedder().dim)
    shards = sorted(cache.dir.glob("*.npz"))
    kept = _units(texts)[dropped:] + [Unit("new", "新的一段文字")]  # 1 of 12 is under STALE_SHARE, 3 are over
    vectors, embedded = embed_units(config, FakeEmbedder(), kept)
    assert embedded == 1
    assert (not set(shards) <= set(cache.dir.glob("*.npz"))) is compacted
    assert cache.ids() == ({u.uid for u in kept} if compacted else {u.uid for u in _units(texts)} | {"new"})
    np.testing.assert_allclose(vectors.read(0, len(kept)), FakeEmbedder().encode([u.text for u in kept]), atol=1e-6)
