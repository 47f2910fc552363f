"""Exact-phrase evidence: which articles contain the query's wording as contiguous runs."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from search_api.fusion import normalise


def matched_runs(query: str, passage: str, min_len: int = 2) -> list[tuple[int, int]]:
    """(start, length) of the longest query substrings found in the passage, left to right."""
    runs: list[tuple[int, int]] = []
    i = 0
    while i <= len(query) - min_len:
        if query[i:i + min_len] not in passage:
            i += 1
            continue
        length = min_len
        while i + length < len(query) and query[i:i + length + 1] in passage:
            length += 1
        runs.append((i, length))
        i += length
    return runs


def phrase_score(query: str, passage: str, bigram_idf: Sequence[float]) -> float:
    """Sum over matched runs of the run's bigram idf times its number of bigrams: a rare run of six
    characters counts far more than three scattered pairs, which plain BM25 cannot tell apart."""
    return sum(sum(bigram_idf[start:start + length - 1]) * (length - 1)
               for start, length in matched_runs(query, passage))


def article_evidence(query: str, passages: Sequence[str], docs: Sequence[str],
                     idf: Callable[[str], float]) -> np.ndarray:
    """Per candidate passage, the best normalised phrase score of any candidate from its article.

    Phrase matches identify the article a question is about (a name, a policy, an event); within the
    article the other signals choose the passage. Scoring the passage itself instead would favour
    passages that restate the question's topic (a repeated headline) over the one that answers it.
    """
    bigram_idf = [idf(query[i:i + 2]) for i in range(len(query) - 1)]
    raw = np.array([phrase_score(query, p, bigram_idf) for p in passages], dtype=np.float32)
    scores = normalise(raw, raw)
    best: dict[str, float] = {}
    for doc, score in zip(docs, scores.tolist()):
        best[doc] = max(best.get(doc, 0.0), score)
    return np.array([best[doc] for doc in docs], dtype=np.float32)
