"""Retrieval quality on labelled query sets: hit@1, recall@5 and MRR@10, overall and per language."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from indexer.normalize import fingerprint
from search_api.fusion import Tuning
from search_api.search import Searcher

MAX_RELEVANT_CHARS = 1000  # longer "passages" never count: chunks must stay passage-sized


@dataclass(frozen=True)
class LabelledQuery:
    id: str
    lang: str
    query: str
    relevant: tuple[str, ...]


def load_queries(path: Path) -> list[LabelledQuery]:
    queries = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        obj = json.loads(line)
        if not obj.get("query") or not obj.get("relevant"):
            raise ValueError(f"{path}:{lineno}: a query needs 'query' and 'relevant'")
        queries.append(LabelledQuery(str(obj.get("id", lineno)), obj.get("lang", "?"), obj["query"],
                                     tuple(obj["relevant"])))
    return queries


def is_relevant(passage: str, labels: tuple[str, ...]) -> bool:
    fp = fingerprint(passage)
    return len(fp) <= MAX_RELEVANT_CHARS and any(fingerprint(label) in fp for label in labels)


def first_relevant_rank(texts: list[str], labels: tuple[str, ...]) -> int | None:
    for rank, text in enumerate(texts, start=1):
        if is_relevant(text, labels):
            return rank
    return None


def metrics(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks) or 1
    return {
        "n": len(ranks),
        "hit@1": sum(r == 1 for r in ranks) / n,
        "recall@5": sum(r is not None and r <= 5 for r in ranks) / n,
        "mrr@10": sum(1 / r for r in ranks if r is not None and r <= 10) / n,
    }


def evaluate(searcher: Searcher, queries: list[LabelledQuery], k: int = 10, mode: str = "hybrid",
             only: tuple[str, ...] | None = None, tuning: Tuning | None = None) -> dict:
    """Metrics overall and per query language, plus each query's first relevant rank."""
    by_lang: dict[str, list[int | None]] = defaultdict(list)
    ranks: dict[str, int | None] = {}
    for q in queries:
        outcome = searcher.search(q.query, k=k, mode=mode, only=only, tuning=tuning)
        rank = first_relevant_rank([h.text for h in outcome.hits], q.relevant)
        ranks[q.id] = rank
        by_lang[q.lang].append(rank)
    return {"overall": metrics(list(ranks.values())),
            "by_lang": {lang: metrics(r) for lang, r in sorted(by_lang.items())},
            "ranks": ranks}


def format_table(results: dict[str, dict]) -> str:
    """One row per (configuration, language)."""
    lines = [f"{'config':<14} {'lang':<9} {'n':>5} {'hit@1':>7} {'recall@5':>9} {'mrr@10':>7}"]
    for config, result in results.items():
        for lang, m in [("all", result["overall"]), *result["by_lang"].items()]:
            lines.append(f"{config:<14} {lang:<9} {m['n']:>5} {m['hit@1']:>7.3f} {m['recall@5']:>9.3f} "
                         f"{m['mrr@10']:>7.3f}")
    return "\n".join(lines)
