"""Sentence vectors: written a block at a time, read back by row with pread, as numpy would."""

from __future__ import annotations

import numpy as np
import pytest

from indexer import store


@pytest.fixture
def written(tmp_path):
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((500, 24)).astype(np.float32)
    vectors[:, 5] = 0  # a dimension that is zero everywhere keeps scale 1, not a division by zero
    blocks = [vectors[:170], vectors[170:171], vectors[171:]]
    store.write_sentence_vectors(tmp_path, "x", 24, lambda: iter(blocks))
    # what the single-pass writer produced before blocks: one scale per dimension over all rows
    scale = np.abs(vectors).max(axis=0) / 127
    scale = np.where(scale > 0, scale, 1).astype(np.float32)
    expected = np.round(vectors / scale).astype(np.int8).astype(np.float32) * scale
    return tmp_path, vectors, expected


@pytest.mark.parametrize("rows", [
    [0], [499], [3, 1, 2], [10, 10, 10], [0, 17, 400, 18, 499, 33], list(range(100, 160)), [],
])
def test_rows_read_back_equal_numpy_dequantised(written, rows):
    folder, vectors, expected = written
    got = store.sentence_reader(folder, "x")(np.array(rows, dtype=np.int64))
    assert got.shape == (len(rows), 24)
    np.testing.assert_array_equal(got, expected[rows])
    if rows:
        assert np.abs(got - vectors[rows]).max() < np.abs(vectors).max() / 127  # int8 keeps them close


def test_the_file_is_a_plain_numpy_array(written):
    folder, vectors, _ = written
    codes = np.load(folder / f"x{store.SENTENCE_SUFFIX}.i8.npy")
    assert codes.dtype == np.int8 and codes.shape == (500, 24)


def test_no_sentences_and_rows_out_of_range(written, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    store.write_sentence_vectors(empty, "x", 8, lambda: iter([]))
    assert store.sentence_reader(empty, "x")(np.array([], dtype=np.int64)).shape == (0, 8)
    folder, _, _ = written
    with pytest.raises(IndexError, match="outside 0..500"):
        store.sentence_reader(folder, "x")(np.array([500]))


@pytest.mark.parametrize("base_rows, base_dim, threshold, extended", [
    (150, 16, 100, True),    # an HNSW index of the first rows: extended
    (150, 16, 200, False),   # the base was flat (under the threshold then): built afresh
    (150, 8, 100, False),    # other dimensions
    (260, 16, 100, False),   # more rows than this build has: not its start
])
def test_an_index_is_extended_only_from_an_hnsw_index_of_its_first_rows(tmp_path, monkeypatch, base_rows, base_dim,
                                                                        threshold, extended):
    rng = np.random.default_rng(base_rows + base_dim)
    vectors = rng.standard_normal((250, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    base, new = tmp_path / "base", tmp_path / "new"
    base.mkdir(), new.mkdir()
    store.write_vectors(base, "x", rng.standard_normal((base_rows, base_dim)).astype(np.float32) if base_dim != 16
                        or base_rows > 250 else vectors[:base_rows], threshold)
    fresh = []
    monkeypatch.setattr(store, "make_vector_index",
                        lambda *a, real=store.make_vector_index: fresh.append(1) or real(*a))
    store.write_vectors(new, "x", vectors, 100, base=base)
    assert (not fresh) == extended
    index = store.read_vectors(new, "x")
    _, ids = index.search(vectors, 1)
    assert index.ntotal == 250 and (ids[:, 0] == np.arange(250)).mean() >= 0.98
