"""RowFile: the build's scratch vectors on disk behave like a numpy array of rows."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.rowfile import RowFile


@pytest.fixture
def pair(tmp_path):
    rng = np.random.default_rng(7)
    expected = rng.standard_normal((1000, 12)).astype(np.float32)
    rows = RowFile(tmp_path, 1000, 12)
    rows.write(0, expected[:400])
    rows.scatter(np.arange(999, 399, -1), expected[999:399:-1])  # the rest, written backwards
    yield rows, expected
    rows.close()


@pytest.mark.parametrize("wanted", [
    [5], [0, 1, 2, 3], [999, 0, 500], [7, 7, 8, 6, 7], list(range(398, 405)), [],
])
def test_gather_returns_rows_in_the_order_asked(pair, wanted):
    rows, expected = pair
    np.testing.assert_array_equal(rows.gather(np.array(wanted, dtype=np.int64)), expected[wanted])


def test_scatter_then_read_matches_numpy_fancy_assignment(pair):
    rows, expected = pair
    rng = np.random.default_rng(1)
    where = rng.choice(1000, 300, replace=False)
    block = rng.standard_normal((300, 12)).astype(np.float32)
    rows.scatter(where, block)
    expected[where] = block
    np.testing.assert_array_equal(rows.read(0, 1000), expected)


def test_blocks_walk_all_or_chosen_rows(pair):
    rows, expected = pair
    np.testing.assert_array_equal(np.vstack(list(rows.blocks(size=300))), expected)
    chosen = np.arange(1, 1000, 3)
    parts = list(rows.blocks(chosen, size=64))
    assert [len(p) for p in parts[:2]] == [64, 64]
    np.testing.assert_array_equal(np.vstack(parts), expected[chosen])


def test_unwritten_rows_are_zero_and_writes_past_the_end_are_refused(tmp_path):
    rows = RowFile(tmp_path, 10, 4)
    assert not rows.read(0, 10).any()
    with pytest.raises(IndexError, match="rows 8..12 outside 0..10"):
        rows.write(8, np.ones((4, 4), np.float32))
    rows.close()


def test_the_scratch_file_leaves_no_trace_in_the_folder(tmp_path):
    rows = RowFile(tmp_path, 100, 8)
    rows.write(0, np.ones((100, 8), np.float32))
    assert list(tmp_path.iterdir()) == []  # unlinked from the start: a killed build leaves nothing
    rows.close()
