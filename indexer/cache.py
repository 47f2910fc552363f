"""The embedding cache, keyed by passage content hash: unchanged passages are never embedded twice.

Shards are written as batches finish, so a build that is interrupted (even by SIGKILL) resumes
without redoing the batches it completed. A build compacts the cache to the passages it indexed once
stale vectors are a real share of it (indexer/vectors.py). The SQLite caches: indexer/sqlcache.py.
"""

from __future__ import annotations

import os
import struct
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from indexer.load import ascii_slug
from indexer.rowfile import RowFile, read_npy_header

CACHE_DIR = "cache"
SHARD_ROWS = 65_536  # vectors per compacted shard: 128 MB at 512 dimensions


class EmbeddingCache:
    def __init__(self, index_dir: Path, model_id: str, dim: int) -> None:
        self.dir = index_dir / CACHE_DIR / f"{ascii_slug(model_id)}-{dim}"
        self.dim = dim

    def _shards(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(ids, vectors) blocks of at most SHARD_ROWS rows, shard after shard; a damaged shard is deleted
        (its batches are embedded again). A shard is read a block at a time, so one written whole by an
        older build costs no more memory than the others."""
        for shard in sorted(self.dir.glob("*.npz")) if self.dir.is_dir() else []:
            try:
                # blocks read before damage is found are sound vectors: they may be used
                yield from _read_blocks(shard, self.dim)
            except Exception:  # noqa: BLE001 - any damage (a cut zip, bad arrays): the batch is redone
                shard.unlink(missing_ok=True)

    def ids(self) -> set[str]:
        return {uid for ids, _ in self._shards() for uid in ids.tolist()}

    def fill(self, rows: dict[str, int], out: RowFile) -> tuple[np.ndarray, int]:
        """Write each cached vector whose id is in `rows` to row rows[id] of `out`: which rows were filled,
        and how many cached vectors were not asked for (deleted or changed passages').

        Shards are read a block at a time, so memory holds one block, not the whole cache.
        """
        found = np.zeros(len(out), dtype=bool)
        unused = 0
        for ids, vectors in self._shards():
            hits = [(k, rows[uid]) for k, uid in enumerate(ids.tolist()) if uid in rows]
            unused += len(ids) - len(hits)
            if hits:
                src, dst = (np.array(x, dtype=np.int64) for x in zip(*hits))
                out.scatter(dst, vectors[src])
                found[dst] = True
        return found, unused

    def append(self, ids: list[str], vectors: np.ndarray) -> None:
        if not ids:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        name = f"{uuid.uuid4().hex}.npz"
        tmp = self.dir / f".{name}.tmp"
        with open(tmp, "wb") as handle:
            np.savez(handle, ids=np.array(ids), vectors=np.asarray(vectors, dtype=np.float32))
        os.replace(tmp, self.dir / name)  # a shard is either whole or absent

    def compact(self, ids: list[str], vectors: RowFile) -> None:
        """Keep exactly these passages: deleted articles' vectors leave the cache. Written in shards of
        SHARD_ROWS, so neither this nor a later read needs the whole cache in memory."""
        old = list(self.dir.glob("*.npz")) if self.dir.is_dir() else []
        for start in range(0, len(ids), SHARD_ROWS):
            self.append(ids[start:start + SHARD_ROWS], vectors.read(start, start + SHARD_ROWS))
        keep = {p.name for p in self.dir.glob("*.npz")} - {p.name for p in old}
        for shard in old:
            if shard.name not in keep:
                shard.unlink(missing_ok=True)


def _read_blocks(shard: Path, dim: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """A shard's ids and vectors, SHARD_ROWS rows at a time; nothing when its vectors have another width.

    The vectors of a stored (uncompressed) member, which is what np.savez writes, are read straight from
    the file: zipfile's CRC check of every byte doubled the time (865k cached rows, warm: 1.9 s -> 0.9 s).
    """
    with zipfile.ZipFile(shard) as archive:
        with archive.open("ids.npy") as handle:
            ids = np.lib.format.read_array(handle)
        info = archive.getinfo("vectors.npy")
        stored = info.compress_type == zipfile.ZIP_STORED
        with _stored(shard, info) if stored else archive.open(info) as handle:
            begin = handle.tell()
            shape, fortran, dtype = read_npy_header(handle)
            if len(shape) != 2 or shape[0] != len(ids) or fortran or dtype != np.float32:
                raise ValueError("ids and vectors disagree")
            if shape[1] != dim:
                return
            if stored and info.file_size != handle.tell() - begin + len(ids) * dim * 4:
                raise ValueError("shard size disagrees with its arrays")
            for start in range(0, len(ids), SHARD_ROWS):
                rows = min(SHARD_ROWS, len(ids) - start)
                data = handle.read(rows * dim * 4)
                if len(data) != rows * dim * 4:
                    raise ValueError("shard cut short")
                yield ids[start:start + rows], np.frombuffer(data, dtype=np.float32).reshape(rows, dim)


def _stored(shard: Path, info: zipfile.ZipInfo):
    """The file, positioned at the first byte of a stored member's data."""
    handle = open(shard, "rb")  # noqa: SIM115 - returned open, closed by the caller's with-block
    handle.seek(info.header_offset)
    local = handle.read(30)
    if len(local) != 30 or local[:4] != b"PK\x03\x04":
        handle.close()
        raise ValueError("bad local zip header")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    handle.seek(info.header_offset + 30 + name_len + extra_len)
    return handle
