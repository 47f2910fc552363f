"""Caches keyed by passage content hash: unchanged passages are never embedded or tokenised twice.

Shards are written as batches finish, so a build that is interrupted (even by SIGKILL) resumes
without redoing the batches it completed. A build compacts the cache to the passages it indexed.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import uuid
import zipfile
from collections.abc import Iterable, Iterator
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

    def fill(self, rows: dict[str, int], out: RowFile) -> tuple[np.ndarray, bool]:
        """Write each cached vector whose id is in `rows` to row rows[id] of `out`: which rows were filled,
        and whether the cache holds ids not asked for (then it is worth compacting).

        Shards are read a block at a time, so memory holds one block, not the whole cache.
        """
        found = np.zeros(len(out), dtype=bool)
        stale = False
        for ids, vectors in self._shards():
            hits = [(k, rows[uid]) for k, uid in enumerate(ids.tolist()) if uid in rows]
            stale = stale or len(hits) < len(ids)
            if hits:
                src, dst = (np.array(x, dtype=np.int64) for x in zip(*hits))
                out.scatter(dst, vectors[src])
                found[dst] = True
        return found, stale

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
    """A shard's ids and vectors, SHARD_ROWS rows at a time; nothing when its vectors have another width."""
    with zipfile.ZipFile(shard) as archive:
        with archive.open("ids.npy") as handle:
            ids = np.lib.format.read_array(handle)
        with archive.open("vectors.npy") as handle:
            shape, fortran, dtype = read_npy_header(handle)
            if len(shape) != 2 or shape[0] != len(ids) or fortran or dtype != np.float32:
                raise ValueError("ids and vectors disagree")
            if shape[1] != dim:
                return
            for start in range(0, len(ids), SHARD_ROWS):
                rows = min(SHARD_ROWS, len(ids) - start)
                data = handle.read(rows * dim * 4)
                if len(data) != rows * dim * 4:
                    raise ValueError("shard cut short")
                yield ids[start:start + rows], np.frombuffer(data, dtype=np.float32).reshape(rows, dim)


class TokenCache:
    """BM25 tokens per passage id (joined into one string), for one tokenizer, in SQLite: a rebuild
    tokenises only new passages, and reads the others one at a time instead of loading them all (at 145k
    passages a JSON file of them took 3.3 GB to load)."""

    def __init__(self, index_dir: Path, tokenizer: str) -> None:
        self.path = index_dir / CACHE_DIR / f"tokens-{hashlib.sha1(tokenizer.encode()).hexdigest()[:12]}.sqlite"
        self._conn: sqlite3.Connection | None = None

    def __enter__(self) -> TokenCache:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.with_suffix(".json").unlink(missing_ok=True)  # the JSON cache of older builds
        try:
            self._conn = self._open()
        except sqlite3.DatabaseError:  # garbled or cut short: everything is tokenised again
            self.path.unlink(missing_ok=True)
            self._conn = self._open()
        return self

    def __exit__(self, *exc) -> None:
        if self._conn is not None:
            if exc[0] is None:
                self._conn.commit()
            self._conn.close()
            self._conn = None

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path)
        conn.execute("CREATE TABLE IF NOT EXISTS tokens (pid TEXT PRIMARY KEY, joined TEXT NOT NULL)")
        conn.execute("SELECT count(*) FROM tokens").fetchone()  # a damaged file fails here, not mid-build
        return conn

    def get(self, pid: str) -> str | None:
        row = self._db.execute("SELECT joined FROM tokens WHERE pid = ?", (pid,)).fetchone()
        return row[0] if row else None

    def put(self, pid: str, joined: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO tokens VALUES (?, ?)", (pid, joined))

    def keep_only(self, pids: Iterable[str]) -> None:
        """Exactly these passages stay (deleted ones leave)."""
        db = self._db
        db.execute("CREATE TEMP TABLE IF NOT EXISTS keep (pid TEXT PRIMARY KEY)")
        db.execute("DELETE FROM keep")
        db.executemany("INSERT OR IGNORE INTO keep VALUES (?)", ((pid,) for pid in pids))
        db.execute("DELETE FROM tokens WHERE pid NOT IN (SELECT pid FROM keep)")

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("TokenCache used outside its with-block")
        return self._conn
