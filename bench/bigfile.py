"""Robustness: index one very large text file and report time and peak memory (hashing embedder)."""

from __future__ import annotations

import random
import resource
import shutil
import time
from pathlib import Path

import numpy as np

from indexer.config import IndexConfig
from indexer.pipeline import build_index


class HashingEmbedder:
    """Character-bigram hashing: costs almost nothing, so the run measures the pipeline, not a model."""

    name = "hash"
    model_id = "hash-bigram-64"
    dim = 64

    def encode(self, texts: list[str], *, is_query: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
            buckets = (codes[:-1] * 1_000_003 + codes[1:]) % self.dim if len(codes) > 1 else codes % self.dim
            out[row] = np.bincount(buckets, minlength=self.dim)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def write_big_file(path: Path, megabytes: int, seed: int = 0) -> Path:
    """Paragraphs of random sentences over common characters, until the file has the given size."""
    rng = random.Random(seed)
    chars = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    target = megabytes * 2**20
    with open(path, "w", encoding="utf-8") as out:
        while out.tell() < target:
            sentences = ("".join(rng.choices(chars, k=rng.randint(10, 40))) + "。" for _ in range(rng.randint(2, 8)))
            out.write("".join(sentences) + "\n\n")
    return path


def run(work: Path, megabytes: int = 50) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    source = work / "big"
    source.mkdir(exist_ok=True)
    write_big_file(source / "big.txt", megabytes)
    index = work / "big-index"
    shutil.rmtree(index, ignore_errors=True)  # a cold build: no cached embeddings or tokens
    started = time.perf_counter()
    summary = build_index(IndexConfig(sources=(source,), index_dir=index, models=("hash",),
                                      show_progress=False), [HashingEmbedder()])
    return {"file_mb": megabytes, "passages": summary.passages, "skipped": summary.skipped,
            "seconds": round(time.perf_counter() - started, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
