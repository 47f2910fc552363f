"""Query-aware weighted score fusion of the dense and lexical signals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexer.normalize import cjk_ratio, detect_lang


@dataclass(frozen=True)
class QueryProfile:
    lang: str  # en, zh-Hans, zh-Hant
    cjk: float  # share of CJK among the query's letters
    coverage: float  # idf-weighted share of query tokens that occur in the corpus
    n_tokens: int


def profile_query(query: str, coverage: float, n_tokens: int) -> QueryProfile:
    return QueryProfile(lang=detect_lang(query), cjk=cjk_ratio(query), coverage=coverage, n_tokens=n_tokens)


def signal_weights(profile: QueryProfile, signals: list[str]) -> dict[str, float]:
    """How much each signal counts for this query.

    Chinese queries: e5 and BM25 carry the ranking (names and numbers match exactly), USE helps.
    Cross-lingual (English) queries: USE carries it; BM25 only counts for the share of the query the
    corpus actually contains (names, acronyms, English passages), so lexical noise cannot bury it.
    """
    zh = profile.cjk
    base = {
        "use": 0.30 * zh + 0.70 * (1 - zh),
        "e5": 0.40 * zh + 0.15 * (1 - zh),
        "st": 0.40,
        "bm25": (0.40 * zh + 0.30 * (1 - zh)) * profile.coverage,
    }
    weights = {s: base.get(s, 0.3) for s in signals}
    total = sum(weights.values())
    return {s: w / total for s, w in weights.items()} if total > 0 else weights


def normalise(scores: np.ndarray, top: np.ndarray) -> np.ndarray:
    """Map scores onto [0, 1] relative to this signal's own top list for the query (min-max)."""
    if top.size == 0:
        return np.zeros_like(scores)
    hi, lo = float(top.max()), float(top.min())
    if hi <= lo or hi <= 0:
        return np.where(scores >= hi, 1.0, 0.0).astype(np.float32) if hi > 0 else np.zeros_like(scores)
    return np.clip((scores - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def fuse(candidate_scores: dict[str, np.ndarray], top_scores: dict[str, np.ndarray],
         weights: dict[str, float]) -> np.ndarray:
    """Weighted sum of normalised scores over one candidate list (same order in every array)."""
    total = None
    for name, scores in candidate_scores.items():
        part = weights.get(name, 0.0) * normalise(scores, top_scores[name])
        total = part if total is None else total + part
    return total if total is not None else np.zeros(0, np.float32)
