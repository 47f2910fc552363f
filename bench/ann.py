"""Recall@10 of the approximate (HNSW) index against exact search at 100k+ vectors."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from indexer.store import HNSW_EF_SEARCH, make_vector_index


def clustered_vectors(n: int, dim: int, clusters: int, seed: int = 0) -> np.ndarray:
    """Unit vectors around topic centres, like passage embeddings of a news archive."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim)).astype(np.float32)
    vectors = centres[rng.integers(0, clusters, n)] + 0.6 * rng.normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def index_vectors(index_dir: Path, signal: str) -> np.ndarray:
    """The float32 vectors of one signal of a built index (e.g. the news index's `use`, or its sentence
    vectors `use.sent`)."""
    from indexer import store

    live = store.live_dir(index_dir)
    if signal.endswith(store.SENTENCE_SUFFIX):
        name = signal.removesuffix(store.SENTENCE_SUFFIX)
        n = len(np.load(live / f"{name}{store.SENTENCE_SUFFIX}.i8.npy", mmap_mode="r"))
        return store.sentence_reader(live, name)(np.arange(n))
    index = store.read_vectors(live, signal)
    vectors = np.array(store.vector_matrix(index), dtype=np.float32)  # a copy, while the index is alive
    del index
    return vectors


def run(n: int = 120_000, dim: int = 384, queries: int = 500, k: int = 10, vectors: np.ndarray | None = None,
        source: str = "synthetic") -> dict:
    """Held-out vectors as probes. A hit counts when its exact score reaches the k-th best exact score:
    a corpus of news repeats sentences, and among identical vectors either one is right."""
    data = clustered_vectors(n + queries, dim, clusters=max(n // 100, 10)) if vectors is None else vectors
    order = np.random.default_rng(0).permutation(len(data))
    base, probe = data[order[queries:]], data[order[:queries]]
    exact = make_vector_index(base, ann_threshold=len(base) + 1)
    started = time.perf_counter()
    approx = make_vector_index(base, ann_threshold=0)
    build_s = time.perf_counter() - started
    approx.hnsw.efSearch = HNSW_EF_SEARCH
    t0 = time.perf_counter()
    truth, _ = exact.search(probe, k)
    exact_ms = (time.perf_counter() - t0) * 1000 / queries
    t0 = time.perf_counter()
    _, found = approx.search(probe, k)
    approx_ms = (time.perf_counter() - t0) * 1000 / queries
    found_scores = np.einsum("qkd,qd->qk", base[np.maximum(found, 0)], probe)
    good = (found >= 0) & (found_scores >= truth[:, -1:] - 1e-5)
    return {"source": source, "vectors": len(base), "dim": base.shape[1],
            "recall@10": round(float(good.sum(axis=1).clip(max=k).mean() / k), 4),
            "hnsw_build_s": round(build_s, 1), "exact_ms_per_query": round(exact_ms, 3),
            "hnsw_ms_per_query": round(approx_ms, 3)}
