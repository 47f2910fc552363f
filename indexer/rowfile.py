"""Float32 rows in an unlinked scratch file: a build's vectors wait on disk (the page cache), not in RAM."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

BLOCK_ROWS = 65_536  # rows read at a time when a consumer walks the whole file


class RowFile:
    """n rows of `dim` float32, written and read by row number through pread/pwrite.

    Not a memory map on purpose: pages written through a shared mapping count in the process's resident
    memory until it exits, pages written through the file only in the kernel's reclaimable cache. The
    file is unlinked at once, so a killed build leaves nothing behind.
    """

    def __init__(self, folder: Path, n: int, dim: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.n, self.dim = n, dim
        self._row_bytes = dim * 4
        self._file = tempfile.TemporaryFile(dir=folder)
        self._file.truncate(n * self._row_bytes)  # sparse: rows never written read as zeros
        self._fd = self._file.fileno()

    def __len__(self) -> int:
        return self.n

    def close(self) -> None:
        self._file.close()

    def write(self, start: int, block: np.ndarray) -> None:
        """Rows start .. start + len(block)."""
        data = np.ascontiguousarray(block, dtype=np.float32).reshape(-1, self.dim)
        if start < 0 or start + len(data) > self.n:
            raise IndexError(f"rows {start}..{start + len(data)} outside 0..{self.n}")
        view = data.data.cast("B")  # ascontiguousarray: one flat buffer
        offset = start * self._row_bytes
        while view:  # pwrite may write less than asked
            done = os.pwrite(self._fd, view, offset)
            view, offset = view[done:], offset + done

    def read(self, start: int, stop: int) -> np.ndarray:
        stop = min(stop, self.n)
        size = max(stop - start, 0) * self._row_bytes
        data = os.pread(self._fd, size, start * self._row_bytes)
        if len(data) != size:
            raise OSError(f"short read from the scratch file: {len(data)} of {size} bytes")
        return np.frombuffer(data, dtype=np.float32).reshape(-1, self.dim).copy()

    def gather(self, rows: np.ndarray) -> np.ndarray:
        """The given rows, in the given order (each run of consecutive rows is one read)."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), self.dim), dtype=np.float32)
        order = np.argsort(rows, kind="stable")
        for lo, hi in _runs(rows[order]):
            out[order[lo:hi]] = self.read(int(rows[order[lo]]), int(rows[order[hi - 1]]) + 1)
        return out

    def scatter(self, rows: np.ndarray, block: np.ndarray) -> None:
        """block[i] into row rows[i] (each run of consecutive rows is one write)."""
        rows = np.asarray(rows, dtype=np.int64)
        order = np.argsort(rows, kind="stable")
        for lo, hi in _runs(rows[order]):
            self.write(int(rows[order[lo]]), block[order[lo:hi]])

    def blocks(self, rows: np.ndarray | None = None, size: int = BLOCK_ROWS) -> Iterator[np.ndarray]:
        """The given rows (default: all), `size` at a time."""
        if rows is None:
            for start in range(0, self.n, size):
                yield self.read(start, start + size)
            return
        for start in range(0, len(rows), size):
            yield self.gather(rows[start:start + size])


def read_npy_header(handle) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran_order, dtype) of the .npy file at `handle`, which is left at the first data byte:
    the rows that follow can then be read a block or a run at a time."""
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(handle)
    return np.lib.format.read_array_header_2_0(handle)


def _runs(sorted_rows: np.ndarray) -> Iterator[tuple[int, int]]:
    """[lo, hi) index ranges of sorted_rows holding consecutive, distinct row numbers."""
    if not len(sorted_rows):
        return
    breaks = np.flatnonzero(np.diff(sorted_rows) != 1) + 1
    edges = np.concatenate([[0], breaks, [len(sorted_rows)]])
    yield from zip(edges[:-1].tolist(), edges[1:].tolist())
