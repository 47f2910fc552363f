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
