"""`python -m indexer build | rollback`: build or refresh the search index from article folders and JSONL
files, or make the previous build live again.

Exit status of `build`: 0 built (or already up to date) with every input read; 3 built and published, but
some inputs were skipped (listed in the summary); 1 nothing published (an error, a missing source, a
build that would lose articles, or --strict with skips); 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from indexer.config import DEFAULT_MODELS, IndexConfig

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_SKIPPED = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m indexer", description=__doc__,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build the index (only changed passages are re-embedded)",
                           formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    build.add_argument("--source", action="append", type=Path, metavar="PATH",
                       help="folder, file or glob ('exports/*.jsonl.gz', quoted) of articles (.txt .md .html "
                            ".jsonl .jsonl.gz); repeatable, all read as one source set [default: seeds]")
    build.add_argument("--index", type=Path, default=Path("index"), help="index directory")
    build.add_argument("--model", action="append", metavar="SPEC",
                       help="embedding signal: 'use', 'e5' or 'st:<name-or-path>'; repeatable "
                            f"[default: {' '.join(DEFAULT_MODELS)}]")
    build.add_argument("--max-chars", type=int, default=400, help="split paragraphs longer than this")
    build.add_argument("--batch-size", type=int, default=32, help="passages per embedding batch")
    build.add_argument("--ann-threshold", type=int, default=20_000,
                       help="use an approximate (HNSW) vector index from this many passages on")
    build.add_argument("--if-stale", action="store_true",
                       help="do nothing when the index exists and no source file is newer than it")
    build.add_argument("--store", choices=("faiss", "qdrant"), default="faiss", help="vector store")
    build.add_argument("--qdrant-url", help="Qdrant server or cluster URL (with --store qdrant)")
    build.add_argument("--qdrant-path", help="folder for Qdrant's embedded local mode (with --store qdrant)")
    build.add_argument("--ray", metavar="ADDRESS",
                       help="embed on a Ray cluster: 'auto' (the one started on this machine with `ray start`) "
                            "or its address; needs the [ray] extra on every node")
    build.add_argument("--quiet", action="store_true", help="no progress bars")
    build.add_argument("--summary-json", type=Path, metavar="FILE", help="also write the build summary as JSON")
    build.add_argument("--allow-shrink", action="store_true",
                       help="publish even when more than 10%% of the live index's articles would be removed")
    build.add_argument("--strict", action="store_true",
                       help="publish nothing when any folder, file or record had to be skipped")
    build.add_argument("--keep-builds", type=int, default=2, metavar="N",
                       help="previous builds kept beside the live one, for rollback")
    rollback = sub.add_parser("rollback", help="make the previous kept build live again",
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    rollback.add_argument("--index", type=Path, default=Path("index"), help="index directory")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "rollback":
        return run_rollback(args.index)
    try:
        sources = expand_sources(args.source or [Path("seeds")])
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        config = IndexConfig(sources=sources, index_dir=args.index, max_chars=args.max_chars,
                             models=tuple(args.model or DEFAULT_MODELS), batch_size=args.batch_size,
                             ann_threshold=args.ann_threshold, store=args.store, qdrant_url=args.qdrant_url,
                             qdrant_path=args.qdrant_path, show_progress=not args.quiet,
                             keep_builds=args.keep_builds, allow_shrink=args.allow_shrink, strict=args.strict,
                             ray=args.ray)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.if_stale and is_fresh(config):
        print(f"index at {config.index_dir} is up to date")
        return EXIT_OK
    return run_build(config, args.summary_json)


def run_build(config: IndexConfig, summary_json: Path | None = None) -> int:
    from indexer.embed import load_embedder
    from indexer.pipeline import NothingToIndexError, PublishRefusedError, build_index
    from indexer.store import IndexLockedError

    try:
        embedders = [load_embedder(spec) for spec in config.models]
        summary = build_index(config, embedders)
    except (NothingToIndexError, PublishRefusedError, IndexLockedError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print_summary(summary)
    if summary_json:
        summary_json.write_text(json.dumps(summary.as_json(), indent=2, ensure_ascii=False), encoding="utf-8")
    return EXIT_SKIPPED if summary.skipped else EXIT_OK


def run_rollback(index_dir: Path) -> int:
    from indexer import store

    try:
        with store.build_lock(index_dir):
            was, now = store.rollback(index_dir)
    except (store.IndexNotFoundError, store.NoPreviousBuildError, store.IndexLockedError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{index_dir} now serves build {now} (was {was}); a running server picks it up on its next request")
    return EXIT_OK


def expand_sources(paths: list[Path]) -> tuple[Path, ...]:
    """Each path as given, or for a glob pattern the files and folders it matches (sorted, so a build's
    order does not depend on the file system); a pattern that matches nothing is an error, like a
    missing folder."""
    out: list[Path] = []
    for path in paths:
        text = str(path)
        if path.exists() or not any(c in text for c in "*?["):
            out.append(path)
            continue
        anchor = Path(path.anchor) if path.is_absolute() else Path(".")
        matches = sorted(anchor.glob(str(path.relative_to(path.anchor)) if path.is_absolute() else text))
        if not matches:
            raise FileNotFoundError(f"no file or folder matches the source pattern {text!r}")
        out.extend(matches)
    return tuple(dict.fromkeys(out))


def is_fresh(config: IndexConfig) -> bool:
    """True when a built index exists, used the same models, and no source is newer than it."""
    from indexer.store import MANIFEST, IndexMismatchError, IndexNotFoundError, live_dir, read_manifest

    try:
        manifest = read_manifest(config.index_dir)
        built = (live_dir(config.index_dir) / MANIFEST).stat().st_mtime
    except (IndexNotFoundError, IndexMismatchError, OSError, ValueError):
        return False
    if sorted(manifest.get("models", {})) != sorted(_names(config.models)):
        return False
    if manifest.get("chunking") != config.chunking():
        return False
    return not any(_newest(Path(s)) > built for s in config.sources)


def _names(specs: tuple[str, ...]) -> list[str]:
    return ["st" if s.startswith("st:") else s for s in specs]


def _newest(path: Path) -> float:
    if not path.exists():
        return float("inf")
    times = [path.stat().st_mtime] + [p.stat().st_mtime for p in path.rglob("*") if p.is_file()]
    return max(times)


def print_summary(summary) -> None:
    rows = [("files read", summary.files), ("JSONL records read", summary.records), ("articles", summary.articles),
            ("passages", summary.passages), ("duplicate passages collapsed", summary.duplicates),
            ("inputs skipped", len(summary.skipped)), ("live articles removed", summary.removed)]
    for name in summary.embedded:
        rows.append((f"embedded with {name}", f"{summary.embedded[name]} new, {summary.reused[name]} cached, "
                                              f"{summary.embed_seconds[name]:.1f}s"))
    rows.append(("time", f"{summary.seconds:.1f}s"))
    width = max(len(k) for k, _ in rows)
    print("\nindex unchanged (same passages, articles, models and settings): kept the live index"
          if summary.unchanged else "\nindex built")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    if summary.builds:
        print(f"  {'kept builds':<{width}}  {', '.join(summary.builds)} (live first)")
    for skip in summary.skipped[:20]:
        print(f"  skipped {skip.kind} {skip.where}: {skip.reason}")
    if len(summary.skipped) > 20:
        reasons = Counter(f"{s.kind}: {s.reason}" for s in summary.skipped)
        print("  ... all skips: " + ", ".join(f"{n}x {r}" for r, n in reasons.most_common()))
