"""Filters applied before ranking: which rows a query may return, and vector search restricted to them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from indexer.store import ArticleRow

# A filter that leaves at most this many vectors is searched exactly, by scoring the allowed rows
# (1 % of the 69k-article archive is ~1,600 passages); a wider one goes through the index with a
# selector, which FAISS's flat and HNSW searches honour while they search.
EXACT_ROWS = 20_000


@dataclass(frozen=True)
class Filters:
    lang: str | None = None
    source: str | None = None
    date_from: str | None = None
    date_to: str | None = None

    def active(self) -> bool:
        return any((self.lang, self.source, self.date_from, self.date_to))


class RowFilter:
    """Per row (passage) its article's date and sources and its own language, as arrays, so a filter
    becomes a boolean mask over all rows in a few vector operations."""

    def __init__(self, articles: Iterable[ArticleRow], row_doc: Sequence[str], row_lang: np.ndarray) -> None:
        position: dict[str, int] = {}
        low, high = [], []
        self.haystacks: list[str] = []
        for a in articles:
            position[a.doc_id] = len(position)
            # undated articles never pass a date filter: "" sorts before every date and "~" after every one
            low.append(a.date or "")
            high.append(a.date or "~")
            self.haystacks.append(" ".join(v.lower() for v in (a.path, a.source, a.url) if v))
        self.dates_low, self.dates_high = np.array(low), np.array(high)
        self.row_article = np.fromiter((position[d] for d in row_doc), dtype=np.int32, count=len(row_doc))
        self.row_lang = row_lang
        self._source_mask = lru_cache(maxsize=64)(self._source)

    def mask(self, filters: Filters) -> np.ndarray | None:
        """Rows the filters allow (None: no filter, every row)."""
        if not filters.active():
            return None
        per_article = np.ones(len(self.dates_low), dtype=bool)
        if filters.date_from:
            per_article &= self.dates_low >= filters.date_from
        if filters.date_to:
            per_article &= self.dates_high <= filters.date_to
        if filters.source:
            per_article &= self._source_mask(filters.source.lower())
        rows = per_article[self.row_article]
        if filters.lang:
            rows &= self.row_lang == filters.lang
        return rows

    def _source(self, needle: str) -> np.ndarray:
        return np.fromiter((needle in h for h in self.haystacks), dtype=bool, count=len(self.haystacks))


def restricted_search(index, read_rows: Callable[[np.ndarray], np.ndarray], query: np.ndarray, n: int,
                      allowed: np.ndarray) -> np.ndarray:
    """Ids of the (up to) n vectors nearest `query` among the `allowed` ones."""
    ids = np.flatnonzero(allowed)
    if ids.size == 0:
        return ids
    if ids.size <= EXACT_ROWS:
        scores = read_rows(ids) @ query
        return ids[np.argpartition(-scores, min(n, ids.size) - 1)[:n]]
    if not _selectable(index):  # Qdrant: ask for more and keep the allowed ones
        _, found = index.search(query[None, :], min(4 * n, len(allowed)))
        found = found[0][found[0] >= 0]
        return found[allowed[found]][:n]
    import faiss

    bitmap = np.packbits(allowed, bitorder="little")
    selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bitmap))
    # faiss's stubs lack SearchParametersHNSW and the keyword arguments of the SWIG constructors (sel=)
    if hasattr(index, "hnsw"):
        params = faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
            sel=selector, efSearch=max(index.hnsw.efSearch, n))
    else:
        params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
    _, found = index.search(query[None, :], n, params=params)
    return found[0][found[0] >= 0]


def _selectable(index) -> bool:
    """A FAISS index (not the Qdrant adapter, whose filters run in Qdrant)."""
    return not hasattr(index, "collection")
