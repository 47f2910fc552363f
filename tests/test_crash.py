"""SIGKILL during a build leaves the previous index servable, and the next build resumes (marked slow)."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from indexer import store
from indexer.cli import main as indexer_main

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def _corpus(path: Path, n: int) -> Path:
    """n articles of random sentences over the seeds' characters: every passage is new to the cache."""
    chars = sorted({c for f in (ROOT / "seeds").glob("*.txt") for c in f.read_text(encoding="utf-8")
                    if "\u4e00" <= c <= "\u9fff"})
    rng = random.Random(0)
    with open(path, "w", encoding="utf-8") as out:
        for i in range(n):
            paragraphs = ["".join("".join(rng.choices(chars, k=rng.randint(15, 40))) + "。" for _ in range(4))
                          for _ in range(4)]
            out.write(json.dumps({"id": f"a{i}", "text": "\n".join(paragraphs)}, ensure_ascii=False) + "\n")
    return path


def test_sigkill_mid_build_keeps_old_index_and_next_build_resumes(tmp_path):
    index = tmp_path / "index"
    small = _corpus(tmp_path / "small.jsonl", 5)
    assert indexer_main(["build", "--source", str(small), "--index", str(index), "--model", "use", "--quiet"]) == 0
    before = store.live_dir(index)

    big = _corpus(tmp_path / "big.jsonl", 600)
    cmd = [sys.executable, "-m", "indexer", "build", "--source", str(big), "--index", str(index), "--model", "use",
           "--quiet", "--batch-size", "16"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cache = index / "cache"
    shards_before = len(list(cache.rglob("*.npz")))
    deadline = time.time() + 120
    while time.time() < deadline and len(list(cache.rglob("*.npz"))) < shards_before + 2:  # 2 checkpoints
        assert proc.poll() is None, "build finished before it could be killed: make the corpus larger"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    assert store.live_dir(index) == before  # the old index is still the live one, and loads
    from indexer.embed import UseEmbedder
    from search_api.search import Searcher

    assert Searcher(index, {"use": UseEmbedder()}).size > 0

    summary_path = tmp_path / "summary.json"
    assert indexer_main(["build", "--source", str(big), "--index", str(index), "--model", "use", "--quiet",
                         "--summary-json", str(summary_path)]) == 0
    summary = json.loads(summary_path.read_text())
    assert summary["reused"]["use"] >= 2 * 512  # the killed build's finished batches were not redone
    assert store.live_dir(index) != before
    # the killed build's folder is gone; the live build and the previous one (kept for rollback) remain
    assert sorted(p.name for p in (index / store.BUILDS).iterdir()) == sorted([store.live_dir(index).name,
                                                                               before.name])
