"""`python -m search_api serve | mcp | query | context | eval`: run the API or the MCP server, search or get
prompt-ready context from a terminal, measure quality."""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from search_api.search import Mode

DEFAULT_INDEX = Path("index")


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.ArgumentDefaultsHelpFormatter
    parser = argparse.ArgumentParser(prog="python -m search_api", description=__doc__, formatter_class=fmt)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the API and web page", formatter_class=fmt)
    serve.add_argument("--index", type=Path, default=DEFAULT_INDEX, help="index directory")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind")
    serve.add_argument("--port", type=int, default=8000, help="TCP port")
    mcp = sub.add_parser("mcp", help="serve the MCP tools over stdio (for Claude Desktop, IDEs); HTTP clients use "
                         "/mcp of `serve`", formatter_class=fmt)
    mcp.add_argument("--index", type=Path, default=DEFAULT_INDEX, help="index directory")
    query = sub.add_parser("query", help="search from the terminal", formatter_class=fmt)
    query.add_argument("text", help="the query, in Chinese (either script) or English")
    query.add_argument("-k", type=int, default=10, help="number of passages")
    query.add_argument("--mode", choices=("hybrid", "dense", "lexical"), default="hybrid", help="signals to use")
    query.add_argument("--index", type=Path, default=DEFAULT_INDEX, help="index directory")
    query.add_argument("--json", action="store_true", help="print the API's JSON response instead of a list")
    ctx = sub.add_parser("context", help="prompt-ready context for a question (as POST /context)",
                         formatter_class=fmt)
    ctx.add_argument("text", help="the question, in Chinese (either script) or English")
    ctx.add_argument("-k", type=int, default=10, help="hits to consider")
    ctx.add_argument("--max-chars", type=int, default=6000, help="budget of the context text")
    ctx.add_argument("--neighbors", type=int, default=0, choices=(0, 1, 2), help="adjacent passages around each hit")
    ctx.add_argument("--index", type=Path, default=DEFAULT_INDEX, help="index directory")
    ctx.add_argument("--json", action="store_true", help="print the API's JSON response")
    ev = sub.add_parser("eval", help="hit@1, recall@5, MRR@10 of labelled query sets", formatter_class=fmt)
    ev.add_argument("queries", nargs="+", type=Path, help="JSONL query sets (id, lang, query, relevant)")
    ev.add_argument("--index", type=Path, default=DEFAULT_INDEX, help="index directory")
    ev.add_argument("--peers", action="store_true", help="also measure BM25 and each dense signal alone")
    ev.add_argument("--json", type=Path, metavar="FILE", help="also write the metrics as JSON here")
    ev.add_argument("--folds", type=int, default=0, metavar="K",
                    help="also report held-out figures: questions grouped by article into K folds, the fusion "
                         "settings chosen among a small grid on the other folds (0: off)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "mcp":
        return serve_mcp(args)
    from indexer.store import IndexMismatchError, IndexNotFoundError

    try:
        runs = {"query": run_query, "context": run_context, "eval": run_eval}
        return runs[args.command](args)
    except (IndexNotFoundError, IndexMismatchError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from search_api.app import create_app
    from search_api.config import Settings

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    _limit_malloc_arenas()
    app = create_app(Settings(index_dir=args.index))
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


def serve_mcp(args: argparse.Namespace) -> int:
    from search_api.mcp_server import run_stdio

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    run_stdio(args.index)
    return 0


def _limit_malloc_arenas(arenas: int = 2) -> None:
    """glibc gives each thread that allocates its own malloc arena and keeps freed memory in it: under
    32 concurrent clients the server's resident memory grew by ~300 MB this way. (M_ARENA_MAX = -8.)"""
    try:
        ctypes.CDLL("libc.so.6").mallopt(-8, arenas)
    except (OSError, AttributeError):
        pass  # not glibc


def open_searcher(index: Path):
    from search_api import app
    from search_api.config import Settings

    settings = Settings(index_dir=index)
    return app.open_searcher(settings, app.load_models(settings.models, settings.embed_threads))


def run_query(args: argparse.Namespace) -> int:
    from search_api import service
    from search_api.schemas import SearchRequest

    request = SearchRequest(q=args.text, k=args.k, mode=args.mode)
    searcher, links = open_searcher(args.index), _links()
    response = service.search(searcher, request, links)
    if args.json:
        print(response.model_dump_json(indent=2))
        return 0
    print(f"{len(response.results)} results for {request.q!r} in {response.took_ms:.0f} ms\n")
    for hit in response.results:
        print(f"{hit.rank:>2}. {hit.title or hit.doc_id}  [{hit.date or 'undated'} · {hit.lang} · {hit.score:.3f}]")
        print(textwrap.indent(textwrap.fill(_terminal_marks(hit.text, hit.matches), 72), "    "))
        print(f"    {hit.url}\n")
    return 0


def run_context(args: argparse.Namespace) -> int:
    from search_api import service
    from search_api.schemas import ContextRequest

    request = ContextRequest(q=args.text, k=args.k, max_chars=args.max_chars, neighbors=args.neighbors)
    response = service.context(open_searcher(args.index), request, _links())
    if args.json:
        print(response.model_dump_json(indent=2))
        return 0
    print(response.context)
    print("\n" + "\n".join(f"[{p.n}] {p.url}\n    answer: {p.answer.text}" for p in response.passages))
    return 0


def _links():
    from search_api.config import Settings
    from search_api.service import Links

    return Links(Settings().public_url)


def _terminal_marks(text: str, spans: list[tuple[int, int]]) -> str:
    bold = sys.stdout.isatty()
    out, pos = [], 0
    for start, end in spans:
        out += [text[pos:start], "\033[1;33m" if bold else "[", text[start:end], "\033[0m" if bold else "]"]
        pos = end
    return "".join(out + [text[pos:]]).replace("\n", " ")


def run_eval(args: argparse.Namespace) -> int:
    from search_api.evaluate import evaluate, format_qa, format_table, load_queries

    searcher = open_searcher(args.index)
    configs: list[tuple[str, Mode, tuple[str, ...] | None]] = [("hybrid", "hybrid", None)]
    if args.peers:
        configs += [("bm25", "lexical", ("bm25",)), ("bridge", "lexical", ("bridge",))]
        configs += [(n, "dense", (n,)) for n in searcher.embedders]
    results, heldout = {}, {}
    for path in args.queries:
        queries = load_queries(path)
        prefix = f"{path.stem}:" if len(args.queries) > 1 else ""
        for name, mode, only in configs:
            results[f"{prefix}{name}"] = evaluate(searcher, queries, mode=mode, only=only, qa=name == "hybrid")
        if args.folds > 1:
            heldout[path.stem] = run_folds(searcher, queries, args.folds, results[f"{prefix}hybrid"])
    print(format_table(results))
    print(f"\nwhat a Q&A tool gets (POST /context): the first hit's answer sentence contains the label, the "
          f"label is in the context\n{format_qa(results)}")
    for stem, report in heldout.items():
        print(f"\n{stem}: held out over {args.folds} folds\n{report['table']}")
    if args.json:
        summary = {k: {"overall": v["overall"], "by_lang": v["by_lang"], **({"qa": v["qa"]} if "qa" in v else {})}
                   for k, v in results.items()}
        for stem, report in heldout.items():
            summary[f"{stem}:held-out"] = {k: v for k, v in report.items() if k != "table"}
        args.json.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return 0


def run_folds(searcher, queries, folds: int, shipped: dict) -> dict:
    """The held-out figure of choosing the fusion settings on the other folds, beside the shipped
    settings' and BM25's own figures on each fold."""
    from search_api.evaluate import evaluate
    from search_api.heldout import MemoEmbedder, cross_validate, grid, per_fold

    searcher.embedders = {n: MemoEmbedder(e) for n, e in searcher.embedders.items()}
    ranks = {"default": shipped["ranks"]}
    for name, tuning in grid().items():
        if name != "default":
            ranks[name] = evaluate(searcher, queries, tuning=tuning)["ranks"]
    bm25 = evaluate(searcher, queries, mode="lexical", only=("bm25",))["ranks"]
    chosen = cross_validate(ranks, folds, default="default")
    lines = [f"{'fold':<6} {'n':>4} {'engine hit@1':>13} {'bm25 hit@1':>11} {'chosen on the other folds':>27}"]
    for f, (mine, theirs) in enumerate(zip(per_fold(ranks["default"], folds), per_fold(bm25, folds))):
        lines.append(f"{f:<6} {mine['n']:>4} {mine['hit@1']:>13.3f} {theirs['hit@1']:>11.3f} {chosen['chosen'][f]:>27}")
    h = chosen["held_out"]
    lines.append(f"held-out (settings chosen on the other folds): hit@1 {h['hit@1']:.3f}  recall@5 {h['recall@5']:.3f}"
                 f"  mrr@10 {h['mrr@10']:.3f}")
    return {"table": "\n".join(lines), "held_out": h, "chosen": chosen["chosen"]}
