"""Caches in SQLite beside the embeddings: BM25 token ids, cleaned articles and page fingerprints.

Read a row at a time, so a rebuild never holds a whole cache in memory.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from indexer.cache import CACHE_DIR

_LEGACY_SEP = "\x1f"  # between the tokens of a passage in the older token cache


def token_ids(tokens: list[str], vocab: dict[str, int], next_id: int) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """The tokens' ids, and the (id, token) pairs added to `vocab` for tokens it lacked, numbered from
    next_id in sorted order (so a build is reproducible). The lookups run in C (map over
    dict.__getitem__): a third of the time of a per-token Python loop."""
    added = list(enumerate(sorted(set(tokens).difference(vocab)), start=next_id))
    vocab.update((token, tid) for tid, token in added)
    return np.fromiter(map(vocab.__getitem__, tokens), dtype=np.int32, count=len(tokens)), added


class _SqliteCache:
    """A key -> value table in SQLite beside the embeddings: read a row at a time, so a rebuild holds no
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
        conn.execute("CREATE TABLE IF NOT EXISTS vocab (id INTEGER PRIMARY KEY, token TEXT NOT NULL)")
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
        ids, added = token_ids(tokens, self._vocabulary(), self._next_id)
        if added:
            self._db.executemany("INSERT INTO vocab (id, token) VALUES (?, ?)", added)
            self._next_id += len(added)
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
