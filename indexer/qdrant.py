"""Qdrant as the vector store: the same two calls the searcher makes on a FAISS index.

`--qdrant-url` points at a Qdrant server or cluster; `--qdrant-path` uses the client's embedded
local mode (one process at a time), which the tests use. Each build writes its own collections
(`<prefix>-<index id>-<build id>-<signal>`), so publishing a build switches collections atomically and
two indexes can share one Qdrant.
"""

from __future__ import annotations

import atexit
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from qdrant_client import QdrantClient

UPSERT_BATCH = 1024
_clients: dict[tuple[str | None, str | None], QdrantClient] = {}


def client(url: str | None = None, path: str | None = None):
    """One client per target and process: the embedded mode locks its folder."""
    from qdrant_client import QdrantClient

    if bool(url) == bool(path):
        raise ValueError("give exactly one of a Qdrant url or a local Qdrant path")
    if (url, path) not in _clients:
        _clients[(url, path)] = QdrantClient(url=url) if url else QdrantClient(path=path)
    return _clients[(url, path)]


@atexit.register
def _close_clients() -> None:
    # Closed here, while the interpreter still works, rather than in __del__ at shutdown.
    for qc in _clients.values():
        qc.close()
    _clients.clear()


def collection_name(prefix: str, build_id: str, signal: str) -> str:
    return f"{prefix}-{build_id}-{signal}"


def write(qc, collection: str, vectors: np.ndarray) -> None:
    from qdrant_client import models

    if qc.collection_exists(collection):
        qc.delete_collection(collection)
    # Dot product == cosine: vectors are L2-normalised.
    qc.create_collection(collection, vectors_config=models.VectorParams(size=vectors.shape[1],
                                                                        distance=models.Distance.DOT))
    for start in range(0, len(vectors), UPSERT_BATCH):
        chunk = vectors[start:start + UPSERT_BATCH]
        qc.upsert(collection, points=models.Batch(ids=list(range(start, start + len(chunk))),
                                                  vectors=chunk.tolist()), wait=True)


def drop_builds(qc, prefix: str, keep: list[str]) -> None:
    """Delete this prefix's collections of every build not in `keep` (the prefix names one index)."""
    kept = tuple(f"{prefix}-{build}-" for build in keep)
    for c in qc.get_collections().collections:
        if c.name.startswith(f"{prefix}-") and not c.name.startswith(kept):
            qc.delete_collection(c.name)


class QdrantVectors:
    """Adapter with the FAISS calls the searcher uses: search() and reconstruct_batch()."""

    def __init__(self, qc, collection: str) -> None:
        self._qc = qc
        self.collection = collection
        self.ntotal = qc.count(collection, exact=True).count
        self.d = qc.get_collection(collection).config.params.vectors.size

    def search(self, queries: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        scores = np.full((len(queries), n), -np.inf, dtype=np.float32)
        ids = np.full((len(queries), n), -1, dtype=np.int64)
        for row, query in enumerate(queries):
            points = self._qc.query_points(self.collection, query=query.tolist(), limit=n).points
            ids[row, :len(points)] = [p.id for p in points]
            scores[row, :len(points)] = [p.score for p in points]
        return scores, ids

    def reconstruct_batch(self, ids: np.ndarray) -> np.ndarray:
        records = self._qc.retrieve(self.collection, ids=[int(i) for i in ids], with_vectors=True)
        by_id = {r.id: r.vector for r in records}
        return np.asarray([by_id[int(i)] for i in ids], dtype=np.float32).reshape(len(ids), self.d)
