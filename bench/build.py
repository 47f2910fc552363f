"""Index build benchmark: full build, no-change rebuild, +100 articles, each in a fresh process."""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.stats import dir_mb


def split_corpus(corpus: Path, work: Path, new: int = 100) -> tuple[Path, Path]:
    """The corpus minus its last `new` articles, and those articles as a separate file to add later."""
    lines = [line for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    base, extra = work / "base.jsonl", work / f"new{new}.jsonl"
    base.write_text("\n".join(lines[:-new]) + "\n", encoding="utf-8")
    extra.write_text("\n".join(lines[-new:]) + "\n", encoding="utf-8")
    return base, extra


def timed_build(sources: list[Path], index: Path, models: list[str]) -> dict:
    """Run `python -m indexer build` in a child process; wall time, peak memory, its summary."""
    summary_path = index.parent / "summary.json"
    cmd = [sys.executable, "-m", "indexer", "build", "--index", str(index), "--quiet",
           "--summary-json", str(summary_path)]
    for source in sources:
        cmd += ["--source", str(source)]
    for model in models:
        cmd += ["--model", model]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(cmd)
    if done.returncode not in (0, 3):  # 3: published, with some inputs skipped (in the summary)
        raise RuntimeError(f"build failed with exit status {done.returncode}: {' '.join(cmd)}")
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    summary = json.loads(summary_path.read_text())
    rates = {name: round(summary["embedded"][name] / secs, 1) if secs and summary["embedded"][name] else None
             for name, secs in summary["embed_seconds"].items()}
    return {"wall_s": round(wall, 1), "peak_rss_mb": round(max(peak, before) / 1024, 1),
            "passages": summary["passages"], "articles": summary["articles"], "embedded": summary["embedded"],
            "embed_seconds": {k: round(v, 1) for k, v in summary["embed_seconds"].items()},
            "passages_per_s": rates}


def run(corpus: Path, work: Path, models: list[str], fresh: bool = True) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    index = work / "index"
    if fresh and index.exists():
        shutil.rmtree(index)
    base, extra = split_corpus(corpus, work)
    results: dict[str, dict | float] = {"full": timed_build([base], index, models)}
    results["no_change"] = timed_build([base], index, models)
    results["plus_100"] = timed_build([base, extra], index, models)
    live = (index / "current").resolve()
    results["index_mb"] = dir_mb(live)
    results["cache_mb"] = dir_mb(index / "cache")
    return results
