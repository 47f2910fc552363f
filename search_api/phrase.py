"""Exact-phrase evidence: which articles contain the query's wording as contiguous runs."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from search_api.fusion import article_best, normalise


class QueryGrams:
    """A query's n-grams and where each starts, worked out once for all the passages it is matched
    against: a passage that shares no n-gram is done after one lookup per distinct n-gram, and a run is
    only ever started where a shared n-gram starts."""

    def __init__(self, query: str, min_len: int = 2) -> None:
        self.query = query
        self.min_len = min_len
        self.starts: dict[str, list[int]] = {}
        for i in range(len(query) - min_len + 1):
            self.starts.setdefault(query[i:i + min_len], []).append(i)

    def runs(self, passage: str) -> list[tuple[int, int]]:
        """(start, length) of the longest query substrings found in the passage, left to right."""
        shared = {g for g in self.starts if g in passage}
        if not shared:
            return []
        query, n = self.query, self.min_len
        runs: list[tuple[int, int]] = []
        end = 0
        for i in sorted(i for g in shared for i in self.starts[g]):
            if i < end:
                continue  # inside the previous run
            length = n
            # a longer run needs its last n-gram shared: a set lookup before the substring search
            while (i + length < len(query) and query[i + length + 1 - n:i + length + 1] in shared
                   and query[i:i + length + 1] in passage):
                length += 1
            runs.append((i, length))
            end = i + length
        return runs


def matched_runs(query: str, passage: str, min_len: int = 2) -> list[tuple[int, int]]:
    """(start, length) of the longest query substrings found in the passage, left to right."""
    return QueryGrams(query, min_len).runs(passage)


def phrase_score(query: str, passage: str, bigram_idf: Sequence[float], grams: QueryGrams | None = None) -> float:
    """Sum over matched runs of the run's bigram idf times its number of bigrams: a rare run of six
    characters counts far more than three scattered pairs, which plain BM25 cannot tell apart."""
    runs = (grams or QueryGrams(query)).runs(passage)
    return sum(sum(bigram_idf[start:start + length - 1]) * (length - 1) for start, length in runs)


def article_evidence(query: str, passages: Sequence[str], docs: Sequence[str],
                     idf: Callable[[str], float]) -> np.ndarray:
    """Per candidate passage, the best normalised phrase score of any candidate from its article.

    Phrase matches identify the article a question is about (a name, a policy, an event); within the
    article the other signals choose the passage. Scoring the passage itself instead would favour
    passages that restate the question's topic (a repeated headline) over the one that answers it.
    """
    grams = QueryGrams(query)
    idf_of = {g: idf(g) for g in grams.starts}  # a repeated bigram is looked up once
    bigram_idf = [idf_of[query[i:i + 2]] for i in range(len(query) - 1)]
    raw = np.array([phrase_score(query, p, bigram_idf, grams) for p in passages], dtype=np.float32)
    return article_best(normalise(raw, raw), docs)
