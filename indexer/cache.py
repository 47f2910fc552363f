"""Caches keyed by passage content hash: unchanged passages are never embedded or tokenised twice.

Shards are written as batches finish, so a build that is interrupted (even by SIGKILL) resumes
without redoing the batches it completed. A build compacts the cache to the passages it indexed.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import struct
import uuid
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from indexer.load import ascii_slug
from indexer.rowfile import RowFile, read_npy_header

CACHE_DIR = "cache"
_LEGACY_SEP = "\x1f"  # between the tokens of a passage in the older token cache
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
    the file: through zipfile, the CRC of every byte was 40 % of a cached rebuild's reading time.
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


class _SqliteCache:
    """A key -> text table in SQLite beside the embeddings: read a row at a time, so a rebuild holds no
    whole cache in memory; a damaged file is started afresh (its rows are computed again)."""

    TABLE, KEY, VALUE = "", "", ""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = self._open()
        except sqlite3.DatabaseError:  # garbled or cut short: everything is computed again
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
        conn.execute(f"CREATE TABLE IF NOT EXISTS {self.TABLE} "
                     f"({self.KEY} TEXT PRIMARY KEY, {self.VALUE} TEXT NOT NULL)")
        conn.execute(f"SELECT count(*) FROM {self.TABLE}").fetchone()  # a damaged file fails here, not mid-build
        return conn

    def get(self, key: str) -> str | bytes | None:
        row = self._db.execute(f"SELECT {self.VALUE} FROM {self.TABLE} WHERE {self.KEY} = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, key: str, value: str | bytes) -> None:
        self._db.execute(f"INSERT OR REPLACE INTO {self.TABLE} VALUES (?, ?)", (key, value))

    def keep_only(self, keys: Iterable[str]) -> None:
        """Exactly these keys stay (deleted passages or articles leave)."""
        db = self._db
        db.execute("CREATE TEMP TABLE IF NOT EXISTS keep (k TEXT PRIMARY KEY)")
        db.execute("DELETE FROM keep")
        db.executemany("INSERT OR IGNORE INTO keep VALUES (?)", ((k,) for k in keys))
        db.execute(f"DELETE FROM {self.TABLE} WHERE {self.KEY} NOT IN (SELECT k FROM keep)")

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError(f"{type(self).__name__} used outside its with-block")
        return self._conn


class TokenCache(_SqliteCache):
    """BM25 tokens per passage id, for one tokenizer, as int32 ids of a vocabulary kept in the same file:
    a rebuild reads each passage's ids as one array instead of making a Python string per token (43M
    tokens at full size: 29 s of a rebuild as strings)."""

    TABLE, KEY, VALUE = "token_ids", "pid", "ids"

    def __init__(self, index_dir: Path, tokenizer: str) -> None:
        digest = hashlib.sha1(tokenizer.encode()).hexdigest()[:12]
        super().__init__(index_dir / CACHE_DIR / f"token-ids-{digest}.sqlite")
        self._legacy_path = index_dir / CACHE_DIR / f"tokens-{digest}.sqlite"  # tokens as joined strings
        self._legacy: sqlite3.Connection | None = None
        self._tokens: dict[str, int] | None = None  # the vocabulary, once a passage needs new ids
        self._next_id = 1

    def __enter__(self) -> TokenCache:
        self._legacy_path.with_suffix(".json").unlink(missing_ok=True)  # the JSON cache of older builds
        super().__enter__()
        try:
            if self._legacy_path.is_file():  # read once more, then deleted: its passages need no jieba
                self._legacy = sqlite3.connect(f"file:{self._legacy_path}?mode=ro", uri=True)
                self._legacy.execute("SELECT count(*) FROM tokens").fetchone()
        except sqlite3.Error:
            self._legacy = None
        return self

    def __exit__(self, *exc) -> None:
        if self._legacy is not None:
            self._legacy.close()
            self._legacy = None
            if exc[0] is None:
                self._legacy_path.unlink(missing_ok=True)
        super().__exit__(*exc)

    def _open(self) -> sqlite3.Connection:
        conn = super()._open()
        conn.execute("CREATE TABLE IF NOT EXISTS vocab (id INTEGER PRIMARY KEY, token TEXT UNIQUE NOT NULL)")
        conn.execute("SELECT count(*) FROM vocab").fetchone()
        return conn

    def ids(self, pid: str) -> np.ndarray | None:
        raw = self.get(pid)
        return None if raw is None else np.frombuffer(raw, dtype=np.int32)  # type: ignore[arg-type]

    def legacy_tokens(self, pid: str) -> list[str] | None:
        """The passage's tokens as an older build's cache kept them, or None."""
        if self._legacy is None:
            return None
        row = self._legacy.execute("SELECT joined FROM tokens WHERE pid = ?", (pid,)).fetchone()
        return None if row is None else (row[0].split(_LEGACY_SEP) if row[0] else [])

    def put_tokens(self, pid: str, tokens: list[str]) -> np.ndarray:
        """Store the passage's tokens (new ones join the vocabulary); their ids."""
        vocab = self._vocabulary()
        new = [t for t in dict.fromkeys(tokens) if t not in vocab]
        if new:
            rows = list(zip(range(self._next_id, self._next_id + len(new)), new))
            self._db.executemany("INSERT INTO vocab (id, token) VALUES (?, ?)", rows)
            vocab.update((token, tid) for tid, token in rows)
            self._next_id += len(new)
        ids = np.fromiter(map(vocab.__getitem__, tokens), dtype=np.int32, count=len(tokens))
        self.put(pid, ids.tobytes())
        return ids

    def _vocabulary(self) -> dict[str, int]:
        # read on the first new passage only: a rebuild that tokenises nothing never loads it
        if self._tokens is None:
            self._tokens = dict(self._db.execute("SELECT token, id FROM vocab"))
            self._next_id = max(self._tokens.values(), default=0) + 1
        return self._tokens

    def vocabulary(self, used: np.ndarray) -> dict[str, int]:
        """token -> id of every id marked in the boolean array `used`."""
        pairs = self._tokens.items() if self._tokens is not None else self._db.execute("SELECT token, id FROM vocab")
        return {token: tid for token, tid in pairs if tid < len(used) and used[tid]}


class CleanCache(_SqliteCache):
    """Cleaned and chunked articles by text hash, for one version of the cleaning code and settings
    (`version`): caches of other versions are deleted when this one opens."""

    TABLE, KEY, VALUE = "cleaned", "text_hash", "article"
    NAME = "cleaned"

    def __init__(self, index_dir: Path, version: str) -> None:
        super().__init__(index_dir / CACHE_DIR / f"{self.NAME}-{version[:12]}.sqlite")

    def __enter__(self):
        for other in self.path.parent.glob(f"{self.NAME}-*.sqlite"):
            if other != self.path:
                other.unlink(missing_ok=True)
        return super().__enter__()

    def load(self, key: str) -> Any:
        """The value stored under `key`, or None (also for a damaged row: it is computed again)."""
        raw = self.get(key)
        try:
            return None if raw is None else json.loads(zlib.decompress(raw))  # type: ignore[arg-type]
        except (zlib.error, ValueError, TypeError):
            return None

    def store(self, key: str, value: Any) -> None:
        # JSON compressed: cleaned text, its fingerprints and the boilerplate keys repeat one another
        # (the full archive's cleaned articles: 665 MB as plain JSON)
        self.put(key, zlib.compress(json.dumps(value, ensure_ascii=False).encode("utf-8"), 1))


class PageKeysCache(CleanCache):
    """Each page's label and sentence fingerprints by text hash (clean.page_keys), which the corpus-wide
    boilerplate is counted from: a third of a rebuild's cleaning time when computed again."""

    TABLE, KEY, VALUE = "page_keys", "text_hash", "keys"
    NAME = "page-keys"
