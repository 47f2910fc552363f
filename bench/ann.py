"""Recall@10 of the approximate (HNSW) index against exact search at 100k+ vectors."""

from __future__ import annotations

import time

import numpy as np

from indexer.store import make_vector_index


def clustered_vectors(n: int, dim: int, clusters: int, seed: int = 0) -> np.ndarray:
    """Unit vectors around topic centres, like passage embeddings of a news archive."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim)).astype(np.float32)
    vectors = centres[rng.integers(0, clusters, n)] + 0.6 * rng.normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def run(n: int = 120_000, dim: int = 384, queries: int = 500, k: int = 10) -> dict:
    data = clustered_vectors(n + queries, dim, clusters=max(n // 100, 10))
    base, probe = data[:n], data[n:]
    exact = make_vector_index(base, ann_threshold=n + 1)
    started = time.perf_counter()
    approx = make_vector_index(base, ann_threshold=0)
    build_s = time.perf_counter() - started
    from indexer.store import HNSW_EF_SEARCH

    approx.hnsw.efSearch = HNSW_EF_SEARCH
    t0 = time.perf_counter()
    _, truth = exact.search(probe, k)
    exact_ms = (time.perf_counter() - t0) * 1000 / queries
    t0 = time.perf_counter()
    _, found = approx.search(probe, k)
    approx_ms = (time.perf_counter() - t0) * 1000 / queries
    recall = np.mean([len(set(a) & set(b)) / k for a, b in zip(truth, found)])
    return {"vectors": n, "dim": dim, "recall@10": round(float(recall), 4), "hnsw_build_s": round(build_s, 1),
            "exact_ms_per_query": round(exact_ms, 3), "hnsw_ms_per_query": round(approx_ms, 3)}
