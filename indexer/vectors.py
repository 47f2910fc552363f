"""Passage and sentence vectors for one embedding model, through the content-hash cache."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from indexer.cache import EmbeddingCache
from indexer.chunk import Passage, passage_id, passage_sentences
from indexer.config import IndexConfig
from indexer.embed import Embedder, SpanEmbedder, TokenCounter
from indexer.rowfile import RowFile

if TYPE_CHECKING:
    from indexer.ray_embed import RayEncoder

CHECKPOINT_TEXTS = 512  # embeddings are written to the cache this often, so a crash loses little
# The cache is rewritten without deleted or changed passages' vectors once they are this share of what a
# build uses: rewriting all of it (2.6 GB at full size, ~10 s) for the few passages a day's new
# articles change would cost more than keeping them.
STALE_SHARE = 0.1


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


def embed_units(config: IndexConfig, embedder: Embedder, units: list[Unit],
                remote: Callable[[], RayEncoder] | None = None) -> tuple[RowFile, int]:
    """Vectors for every id of every unit (in order, in a scratch file), and how many units had to be
    embedded.

    Units this model embedded before come from the cache; finished batches reach the cache as they go,
    so an interrupted build resumes where it stopped. Memory holds a batch and one cache shard at a time.
    `remote`: starts a Ray pool to run the batches on instead of here (the same batches, so the same
    vectors); it is called only when something needs embedding.
    """
    from tqdm import tqdm

    # late-chunked vectors live apart from separately embedded ones: their passage vectors may differ
    late = isinstance(embedder, SpanEmbedder)
    cache = EmbeddingCache(config.index_dir, embedder.model_id + ("+late" if late else ""), embedder.dim)
    ids = [uid for unit in units for uid in unit.ids()]
    starts = np.concatenate([[0], np.cumsum([1 + len(u.spans) for u in units])]).astype(np.int64)
    vectors = RowFile(config.index_dir, len(ids), embedder.dim)
    row_of: dict[str, int] = {}
    for row, uid in enumerate(ids):
        row_of.setdefault(uid, row)
    found, unused = cache.fill(row_of, vectors)
    del row_of
    first: dict[str, int] = {}  # a text repeated in several units is embedded (and read) once
    todo = [i for i, unit in enumerate(units) if first.setdefault(unit.uid, i) == i
            and not found[starts[i]:starts[i + 1]].all()]
    todo = _by_cost(embedder, units, todo)
    bar = tqdm(total=len(todo), desc=f"embed {embedder.name}", unit="text", disable=not config.show_progress)
    pending: list[int] = []
    batches = [todo[start:start + config.batch_size] for start in range(0, len(todo), config.batch_size)]
    # the results first: zip then runs _run to its end, which closes a Ray pool as soon as it is done
    for blocks, batch in zip(_run(embedder, remote, units, batches), batches):
        for i, block in zip(batch, blocks):
            vectors.write(int(starts[i]), block)
        pending += batch
        if len(pending) >= CHECKPOINT_TEXTS:
            _save(cache, units, pending, starts, vectors)
            pending = []
        bar.update(len(batch))
    bar.close()
    _copy_repeats(units, first, starts, vectors)
    if unused > STALE_SHARE * len(ids):
        cache.compact(ids, vectors)  # deleted or changed passages leave the cache
    else:
        _save(cache, units, pending, starts, vectors)
    return vectors, len(todo)


def _by_cost(embedder: Embedder, units: list[Unit], todo: list[int]) -> list[int]:
    """Units ordered by what they cost the model, so each batch holds equal lengths: a transformer pads a
    batch to its longest text. Sorting by tokens, not characters, cut e5's padded tokens from 17 % to 0.1 %
    on the news sample (mixed Chinese and English have different characters per token)."""
    if isinstance(embedder, TokenCounter):
        counts = embedder.token_counts([units[i].text for i in todo])
        return [todo[j] for j in sorted(range(len(todo)), key=counts.__getitem__)]
    return sorted(todo, key=lambda i: len(units[i].text))


def _copy_repeats(units: list[Unit], first: dict[str, int], starts: np.ndarray, vectors: RowFile) -> None:
    pairs = [(r, r - starts[i] + starts[first[u.uid]]) for i, u in enumerate(units) if first[u.uid] != i
             for r in range(starts[i], starts[i + 1])]
    if pairs:
        dst, src = (np.array(x, dtype=np.int64) for x in zip(*pairs))
        vectors.scatter(dst, vectors.gather(src))


def _run(embedder: Embedder, remote: Callable[[], RayEncoder] | None, units: list[Unit],
         batches: list[list[int]]) -> Iterator[list[np.ndarray]]:
    payload = (([units[i].text for i in b], [list(units[i].spans) for i in b]) for b in batches)
    if remote is None or not batches:
        yield from (encode_batch(embedder, texts, spans) for texts, spans in payload)
        return
    encoder = remote()
    try:
        yield from encoder.map(list(payload))
    finally:
        encoder.close()


def encode_batch(embedder: Embedder, texts: list[str], spans: list[list[tuple[int, int]]]) -> list[np.ndarray]:
    """Per text a (1 + len(spans), dim) block: its vector, then its sentences' (late chunking)."""
    if any(spans):
        if not isinstance(embedder, SpanEmbedder):  # units_for gives spans only to a SpanEmbedder
            raise TypeError(f"{embedder.name}: units with sentence spans need an embedder that can pool spans")
        return embedder.encode_spans(texts, spans)
    return list(embedder.encode(texts)[:, None, :])


def _save(cache: EmbeddingCache, units: list[Unit], done: list[int], starts: np.ndarray,
          vectors: RowFile) -> None:
    rows = np.array([r for i in done for r in range(starts[i], starts[i + 1])], dtype=np.int64)
    cache.append([uid for i in done for uid in units[i].ids()], vectors.gather(rows))
