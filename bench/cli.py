"""`python -m bench build|query|all`: build cost and query latency, printed and saved as JSON."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

EVAL = Path("../shared/eval")


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.ArgumentDefaultsHelpFormatter
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__, formatter_class=fmt)
    parser.add_argument("what", choices=("build", "query", "filters", "ann", "load", "bigfile", "all"),
                        help="which benchmark to run ('all' = build, query, ann)")
    parser.add_argument("--megabytes", type=int, default=50, help="bigfile: size of the generated text file")
    parser.add_argument("--index", type=Path, help="index for query/load [default: WORK/index]")
    parser.add_argument("--seconds", type=float, default=60, help="load test duration")
    parser.add_argument("--reload-every", type=float, help="load test: republish the index this often (s)")
    parser.add_argument("--ann-vectors", type=int, default=120_000, help="vectors for the HNSW recall check")
    parser.add_argument("--ann-signal", help="ann: use this signal's real vectors from --index (e.g. use.sent) "
                        "instead of synthetic ones")
    parser.add_argument("--corpus", type=Path, default=EVAL / "news" / "corpus.jsonl", help="JSONL corpus to index")
    parser.add_argument("--work", type=Path, default=Path(".cache/bench"), help="where indexes are built")
    parser.add_argument("--model", action="append", help="embedding signals [default: use e5]")
    parser.add_argument("--zh-queries", type=Path, default=EVAL / "news" / "qrels.jsonl", help="Chinese queries")
    parser.add_argument("--en-queries", type=Path, default=EVAL / "xquad" / "qrels_en.jsonl", help="English queries")
    parser.add_argument("--n", type=int, default=100, help="queries per language")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients (load test: use 32)")
    parser.add_argument("--keep", action="store_true", help="reuse an existing index instead of a fresh build")
    parser.add_argument("--out", type=Path, default=Path("bench/results"), help="folder for the JSON results")
    return parser


def main(argv: list[str] | None = None) -> int:
    from bench import build, query

    args = build_parser().parse_args(argv)
    results: dict = {"corpus": str(args.corpus), "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    index = args.index or args.work / "index"
    if args.what in ("build", "all"):
        results["build"] = build.run(args.corpus, args.work, args.model or ["use", "e5"], fresh=not args.keep)
    if args.what in ("query", "all"):
        queries = {"zh": query.load_queries(args.zh_queries, args.n), "en": query.load_queries(args.en_queries, args.n)}
        results["in_process"] = query.in_process(index, queries)
        results["http"] = query.over_http(index, queries, clients=args.clients)
    if args.what == "filters":
        from bench import filters

        results["filters"] = filters.run(index, query.load_queries(args.zh_queries, args.n))
    if args.what == "load":
        from bench import load

        results["load"] = load.run(index, clients=args.clients, seconds=args.seconds, reload_every=args.reload_every)
    if args.what == "bigfile":
        from bench import bigfile

        results["bigfile"] = bigfile.run(args.work, args.megabytes)
    if args.what in ("ann", "all"):
        from bench import ann

        if args.ann_signal:
            results["ann"] = ann.run(vectors=ann.index_vectors(index, args.ann_signal),
                                     source=f"{index}:{args.ann_signal}")
        else:
            results["ann"] = ann.run(n=args.ann_vectors)
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"bench-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(summarise(results))
    print(f"\nraw numbers: {out}")
    return 0


def summarise(r: dict) -> str:
    lines = [f"corpus: {r['corpus']}"]
    if "build" in r:
        b = r["build"]
        full = b["full"]
        lines.append(f"full build      {full['wall_s']:>8.1f} s   {full['articles']} articles, {full['passages']} "
                     f"passages, peak {full['peak_rss_mb']:.0f} MB")
        lines.append("  passages/s    " + ", ".join(f"{k}={v}" for k, v in full["passages_per_s"].items()))
        lines.append(f"no-change build {b['no_change']['wall_s']:>8.1f} s")
        lines.append(f"+100 articles   {b['plus_100']['wall_s']:>8.1f} s   embedded {b['plus_100']['embedded']}")
        lines.append(f"index on disk   {b['index_mb']:>8.1f} MB (+ embedding cache {b['cache_mb']} MB)")
    if "in_process" in r:
        for lang, m in r["in_process"].items():
            t, e = m["total_ms"], m["query_embedding_ms"]
            lines.append(f"in-process {lang}   p50 {t['p50']:>6.1f} ms  p95 {t['p95']:>6.1f} ms   query embedding "
                         f"p50 {e['p50']:.1f} ms   stages {m['stages_p50_ms']}")
    if "http" in r:
        h = r["http"]
        for lang, m in h["sequential"].items():
            emb = r["in_process"][lang]["query_embedding_ms"]["p50"]
            lines.append(f"HTTP {lang}         p50 {m['p50']:>6.1f} ms  p95 {m['p95']:>6.1f} ms   "
                         f"end-to-end / embedding = {m['p50'] / emb:.2f}")
        if "long_vs_short" in h:
            x = h["long_vs_short"]
            lines.append(f"HTTP {x['chars']}-char zh vs short zh   p50 {x['long']['p50']:.1f} ms vs "
                         f"{x['short']['p50']:.1f} ms   ratio {x['ratio_p50']:.2f}   "
                         f"({x['long']['n']} each, interleaved)")
        c = h["concurrent"]
        lines.append(f"HTTP {c['clients']} clients  {c['requests_per_s']} req/s  p50 {c['p50']} ms  p95 {c['p95']} ms  "
                     f"errors {c['errors']}")
        mem = h["server_memory"]
        lines.append(f"server memory   {mem['rss_mb']} MB resident (peak {mem['peak_rss_mb']} MB)")
    if "load" in r:
        x = r["load"]
        lines.append(f"load test       {x['clients']} clients x {x['seconds']:.0f} s: {x['requests']} requests, "
                     f"{x['errors']} errors, {x['requests_per_s']} req/s, p50 {x['p50']} ms, p95 {x['p95']} ms, "
                     f"{x['index_reloads']} index reloads, server {x['server_memory']['rss_mb']} MB")
    if "filters" in r:
        from bench.filters import summarise as filter_lines

        lines += filter_lines(r["filters"])
    if "bigfile" in r:
        x = r["bigfile"]
        lines.append(f"{x['file_mb']} MB text file  {x['passages']} passages in {x['seconds']} s, "
                     f"peak memory {x['peak_rss_mb']} MB, skipped {x['skipped']}")
    if "ann" in r:
        a = r["ann"]
        lines.append(f"HNSW vs exact   recall@10 {a['recall@10']} at {a['vectors']} x {a['dim']}-d ({a['source']}), "
                     f"{a['hnsw_ms_per_query']} ms vs {a['exact_ms_per_query']} ms per query")
    return "\n".join(lines)
