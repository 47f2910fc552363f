"""Filtered queries: latency against unfiltered ones, and whether a rare filter still finds its articles."""

from __future__ import annotations

import time
from collections import Counter

from bench.stats import percentiles
from search_api.prefilter import Filters


def date_filters(dates: list[str], share: float) -> tuple[Filters, Filters]:
    """A date range holding about `share` of the dated articles, and one date with a single article."""
    ordered = sorted(dates)
    start = len(ordered) // 2
    end = min(len(ordered) - 1, start + max(1, int(len(ordered) * share)) - 1)
    counts = Counter(ordered)
    lone = min(counts, key=lambda d: (counts[d], d))
    return Filters(date_from=ordered[start], date_to=ordered[end]), Filters(date_from=lone, date_to=lone)


def run(index, queries: list[str], share: float = 0.01) -> dict:
    from search_api.cli import open_searcher

    searcher = open_searcher(index)
    dates = [d for d in searcher.row_filter.dates_low.tolist() if d]
    wide, lone = date_filters(dates, share)
    configs = {"unfiltered": Filters(), f"dates ~{share:.0%}": wide, "one article": lone,
               "lang zh-Hans": Filters(lang="zh-Hans")}
    for q in queries[:10]:
        searcher.search(q, k=10)  # warm up
    out: dict = {}
    for name, filters in configs.items():
        allowed = searcher.row_filter.mask(filters)
        times, answered = [], 0
        for q in queries:
            started = time.perf_counter()
            outcome = searcher.search(q, k=10, filters=filters)
            times.append((time.perf_counter() - started) * 1000)
            answered += bool(outcome.hits)
        out[name] = {"filter": {k: v for k, v in vars(filters).items() if v},
                     "rows_allowed": int(allowed.sum()) if allowed is not None else searcher.size,
                     "answered": answered, "queries": len(queries), "ms": percentiles(times)}
    base = out["unfiltered"]["ms"]["p50"]
    for entry in out.values():
        entry["p50_ratio"] = round(entry["ms"]["p50"] / base, 2)
    return out


def summarise(result: dict) -> list[str]:
    lines = ["filters        rows allowed  answered   p50 ms  p95 ms  p50 / unfiltered"]
    for name, e in result.items():
        lines.append(f"  {name:<14} {e['rows_allowed']:>10}  {e['answered']:>4}/{e['queries']:<4} "
                     f"{e['ms']['p50']:>7.1f} {e['ms']['p95']:>7.1f}  {e['p50_ratio']:>6.2f}")
    return lines
