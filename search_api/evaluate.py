"""Quality on labelled query sets: hit@1, recall@5, MRR@10, and for Q&A answer hit@1 and context recall."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from indexer.normalize import fingerprint
from search_api.context import pack
from search_api.fusion import Tuning
from search_api.search import Mode, Outcome, Searcher

MAX_RELEVANT_CHARS = 1000  # longer "passages" never count: chunks must stay passage-sized
CONTEXT_CHARS = 4000  # the budget context recall is measured under


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


def evaluate(searcher: Searcher, queries: list[LabelledQuery], k: int = 10, mode: Mode = "hybrid",
             only: tuple[str, ...] | None = None, tuning: Tuning | None = None, qa: bool = False) -> dict:
    """Metrics overall and per query language, plus each query's first relevant rank; with `qa`, also
    what a Q&A tool gets (qa_metrics)."""
    by_lang: dict[str, list[int | None]] = defaultdict(list)
    qa_by_lang: dict[str, list[tuple[bool, bool, int, int]]] = defaultdict(list)
    ranks: dict[str, int | None] = {}
    for q in queries:
        outcome = searcher.search(q.query, k=k, mode=mode, only=only, tuning=tuning)
        rank = first_relevant_rank([h.text for h in outcome.hits], q.relevant)
        ranks[q.id] = rank
        by_lang[q.lang].append(rank)
        if qa:
            qa_by_lang[q.lang].append(answer_and_context(searcher, outcome, q.relevant))
    result = {"overall": metrics(list(ranks.values())),
              "by_lang": {lang: metrics(r) for lang, r in sorted(by_lang.items())},
              "ranks": ranks}
    if qa:
        result["qa"] = {lang: qa_metrics(r) for lang, r in sorted(qa_by_lang.items())}
    return result


def answer_and_context(searcher: Searcher, outcome: Outcome, labels: tuple[str, ...]) -> tuple[bool, bool, int, int]:
    """Whether the first hit's answer sentence and the CONTEXT_CHARS context (as POST /context makes
    them) contain a label, and the lengths of that answer and of the first passage."""
    if not outcome.hits:
        return False, False, 0, 0
    first = outcome.hits[0]
    a, b = searcher.answer(first.row, outcome)
    context = pack(searcher, outcome, outcome.hits, neighbors=0, max_chars=CONTEXT_CHARS).context
    fp_answer, fp_context = fingerprint(first.text[a:b]), fingerprint(context)
    gold = [fingerprint(label) for label in labels]
    return any(g in fp_answer for g in gold), any(g in fp_context for g in gold), b - a, len(first.text)


def qa_metrics(rows: list[tuple[bool, bool, int, int]]) -> dict[str, float]:
    n = len(rows) or 1
    passage_chars = sum(r[3] for r in rows) or 1
    return {"n": len(rows), "answer_hit@1": sum(r[0] for r in rows) / n, "context_recall": sum(r[1] for r in rows) / n,
            "answer_share": sum(r[2] for r in rows) / passage_chars}


def format_qa(results: dict[str, dict]) -> str:
    """Answer hit@1, context recall at CONTEXT_CHARS and mean answer length / mean passage length."""
    lines = [f"{'config':<14} {'lang':<9} {'n':>5} {'answer@1':>9} {f'ctx@{CONTEXT_CHARS}':>9} {'ans/psg':>8}"]
    for config, result in results.items():
        for lang, m in result.get("qa", {}).items():
            lines.append(f"{config:<14} {lang:<9} {m['n']:>5} {m['answer_hit@1']:>9.3f} {m['context_recall']:>9.3f} "
                         f"{m['answer_share']:>8.2f}")
    return "\n".join(lines)


def format_table(results: dict[str, dict]) -> str:
    """One row per (configuration, language)."""
    lines = [f"{'config':<14} {'lang':<9} {'n':>5} {'hit@1':>7} {'recall@5':>9} {'mrr@10':>7}"]
    for config, result in results.items():
        for lang, m in [("all", result["overall"]), *result["by_lang"].items()]:
            lines.append(f"{config:<14} {lang:<9} {m['n']:>5} {m['hit@1']:>7.3f} {m['recall@5']:>9.3f} "
                         f"{m['mrr@10']:>7.3f}")
    return "\n".join(lines)
