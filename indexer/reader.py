"""Named records of a built index, read on demand from its SQLite file rather than held in memory."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from indexer import store
from indexer.store import ArticleRow

# SQLite caps the host parameters of one statement (32,766 since 3.32); rows are asked for in slices.
BATCH = 900


class PassageRecord(NamedTuple):
    row: int  # the passage's row in the vector and BM25 indexes
    passage_id: str
    text: str
    lang: str
    doc_id: str
    position: int  # in its first article
    fp: str  # matching form (normalize.fingerprint)


class Occurrence(NamedTuple):
    doc_id: str
    position: int


class ArticlePassage(NamedTuple):
    position: int
    row: int


class IndexReader:
    """Passages, articles and where each passage occurs, by row, passage id or doc id.

    Every thread gets its own read-only connection (sqlite3 objects must stay in their thread);
    article metadata, asked for again and again, is cached.
    """

    def __init__(self, build_dir: Path) -> None:
        self.path = build_dir / store.DB
        self._local = threading.local()
        conn = self._conn()
        self.n_passages = conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
        self.n_articles = conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
        self.article = lru_cache(maxsize=4096)(self._article)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    def passages(self, rows: Sequence[int]) -> list[PassageRecord]:
        """The passages of `rows`, in that order."""
        found: dict[int, PassageRecord] = {}
        wanted = list(dict.fromkeys(int(r) for r in rows))
        for start in range(0, len(wanted), BATCH):
            chunk = wanted[start:start + BATCH]
            marks = ",".join("?" * len(chunk))
            for r in self._conn().execute(f"SELECT row, passage_id, text, lang, doc_id, position, fp FROM passages "
                                          f"WHERE row IN ({marks})", chunk):
                found[r[0]] = PassageRecord(*r)
        return [found[int(r)] for r in rows]

    def passage(self, row: int) -> PassageRecord:
        return self.passages([row])[0]

    def row_of(self, passage_id: str) -> int | None:
        r = self._conn().execute("SELECT row FROM passages WHERE passage_id = ?", (passage_id,)).fetchone()
        return None if r is None else r[0]

    def _article(self, doc_id: str) -> ArticleRow | None:
        r = self._conn().execute("SELECT doc_id, title, date, path, url, source, lang FROM articles WHERE doc_id = ?",
                                 (doc_id,)).fetchone()
        return None if r is None else ArticleRow(*r)

    def article_passages(self, doc_id: str) -> list[ArticlePassage]:
        """The article's passages in order (a passage shared with other articles included)."""
        return [ArticlePassage(*r) for r in self._conn().execute(
            "SELECT o.position, p.row FROM occurrences o JOIN passages p ON p.passage_id = o.passage_id "
            "WHERE o.doc_id = ? ORDER BY o.position", (doc_id,))]

    def occurrences_of(self, passage_ids: Sequence[str]) -> dict[str, list[Occurrence]]:
        """Every article each passage is in, with its position there, in one statement (a result page's hits)."""
        found: dict[str, list[Occurrence]] = {}
        for start in range(0, len(passage_ids), BATCH):
            chunk = list(passage_ids[start:start + BATCH])
            marks = ",".join("?" * len(chunk))
            for pid, doc_id, position in self._conn().execute(
                    f"SELECT passage_id, doc_id, position FROM occurrences WHERE passage_id IN ({marks}) "
                    "ORDER BY doc_id, position", chunk):
                found.setdefault(pid, []).append(Occurrence(doc_id, position))
        return found

    def articles(self) -> Iterator[ArticleRow]:
        """Every article, in the table's order (for the filter arrays; streamed, not held)."""
        for r in self._conn().execute("SELECT doc_id, title, date, path, url, source, lang FROM articles"):
            yield ArticleRow(*r)

    def row_columns(self) -> tuple[list[str], np.ndarray]:
        """Per row, its article's doc id and its language: the columns filters need."""
        docs, langs = [], []
        for doc_id, lang in self._conn().execute("SELECT doc_id, lang FROM passages ORDER BY row"):
            docs.append(doc_id)
            langs.append(lang)
        return docs, np.array(langs)
