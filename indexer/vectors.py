"""Passage and sentence vectors for one embedding model, through the content-hash cache."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexer.cache import EmbeddingCache
from indexer.chunk import Passage, passage_id, passage_sentences
from indexer.config import IndexConfig
from indexer.embed import Embedder, SpanEmbedder

CHECKPOINT_TEXTS = 512  # embeddings are written to the cache this often, so a crash loses little


@dataclass(frozen=True)
class Unit:
    """One text to run through the model, and the cache ids of the vectors it yields."""

    uid: str
    text: str
    spans: tuple[tuple[int, int], ...] = ()  # late chunking: sentence spans pooled from the same pass

    def ids(self) -> list[str]:
        return [self.uid] + [f"{self.uid}#{j}" for j in range(len(self.spans))]


def units_for(embedder: Embedder, passages: list[Passage],
              spans: list[list[tuple[int, int]]]) -> tuple[list[Unit], np.ndarray]:
    """What to embed, and which output rows are passages (the rest are sentences, in passage order).

    `spans`: each passage's sentence_spans. A model that can pool spans embeds each passage once and
    gets its sentences from that pass; any other model embeds the sentences as texts of their own (a
    repeated sentence once).
    """
    if isinstance(embedder, SpanEmbedder):
        units = [Unit(p.passage_id, p.text, tuple(s)) for p, s in zip(passages, spans)]
        return units, np.array([j == 0 for u in units for j in range(1 + len(u.spans))], dtype=bool)
    sentences = [Unit(passage_id(s), s) for p in passages for s in passage_sentences(p.text)]
    units = [Unit(p.passage_id, p.text) for p in passages] + sentences
    return units, np.arange(len(units)) < len(passages)


def embed_units(config: IndexConfig, embedder: Embedder, units: list[Unit]) -> tuple[np.ndarray, int]:
    """Vectors for every id of every unit (in order), and how many units had to be embedded.

    Units this model embedded before come from the cache; finished batches reach the cache as they go,
    so an interrupted build resumes where it stopped.
    """
    from tqdm import tqdm

    # late-chunked vectors live apart from separately embedded ones: their passage vectors may differ
    late = isinstance(embedder, SpanEmbedder)
    cache = EmbeddingCache(config.index_dir, embedder.model_id + ("+late" if late else ""), embedder.dim)
    cached = cache.load()
    ids = [uid for unit in units for uid in unit.ids()]
    starts = np.concatenate([[0], np.cumsum([1 + len(u.spans) for u in units])]).astype(np.int64)
    vectors = np.zeros((len(ids), embedder.dim), dtype=np.float32)
    first: dict[str, int] = {}
    todo: list[int] = []
    for i, unit in enumerate(units):
        if all(uid in cached for uid in unit.ids()):
            vectors[starts[i]:starts[i + 1]] = [cached[uid] for uid in unit.ids()]
        elif unit.uid not in first:
            first[unit.uid] = i
            todo.append(i)
    todo.sort(key=lambda i: len(units[i].text))  # similar lengths per batch: padding is wasted work
    bar = tqdm(total=len(todo), desc=f"embed {embedder.name}", unit="text", disable=not config.show_progress)
    pending: list[int] = []
    for start in range(0, len(todo), config.batch_size):
        batch = todo[start:start + config.batch_size]
        for i, block in zip(batch, _encode(embedder, [units[i] for i in batch])):
            vectors[starts[i]:starts[i + 1]] = block
        pending += batch
        if len(pending) >= CHECKPOINT_TEXTS:
            _save(cache, units, pending, starts, vectors)
            pending = []
        bar.update(len(batch))
    bar.close()
    for i, unit in enumerate(units):  # a repeated sentence was embedded once
        if unit.uid in first and first[unit.uid] != i:
            vectors[starts[i]:starts[i + 1]] = vectors[starts[first[unit.uid]]:starts[first[unit.uid] + 1]]
    if set(cached) - set(ids):
        cache.compact(ids, vectors)  # deleted or changed passages leave the cache
    else:
        _save(cache, units, pending, starts, vectors)
    return vectors, len(todo)


def _encode(embedder: Embedder, units: list[Unit]) -> list[np.ndarray]:
    if any(u.spans for u in units):
        if not isinstance(embedder, SpanEmbedder):  # units_for gives spans only to a SpanEmbedder
            raise TypeError(f"{embedder.name}: units with sentence spans need an embedder that can pool spans")
        return embedder.encode_spans([u.text for u in units], [list(u.spans) for u in units])
    return list(embedder.encode([u.text for u in units])[:, None, :])


def _save(cache: EmbeddingCache, units: list[Unit], done: list[int], starts: np.ndarray,
          vectors: np.ndarray) -> None:
    rows = [r for i in done for r in range(starts[i], starts[i + 1])]
    cache.append([uid for i in done for uid in units[i].ids()], vectors[rows])
