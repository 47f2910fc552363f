"""build_index: load -> clean -> chunk -> deduplicate -> embed -> write FAISS, BM25, SQLite, manifest."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from indexer import FORMAT_VERSION, store
from indexer.chunk import sentence_spans
from indexer.collect import Corpus, code_digest, collect
from indexer.config import IndexConfig
from indexer.embed import Embedder, SpanEmbedder
from indexer.lexical import TOKENIZER, LexicalIndex, cached_token_ids
from indexer.load import Article, LoadReport, Skip, load_articles
from indexer.vectors import embed_units, units_for

if TYPE_CHECKING:
    from indexer.ray_embed import RayEncoder


class NothingToIndexError(RuntimeError):
    """Every input was empty, unreadable or boilerplate."""


class PublishRefusedError(RuntimeError):
    """The build would lose articles without the user saying so; the live index was left as it is."""


@dataclass
class BuildSummary:
    articles: int = 0
    passages: int = 0
    duplicates: int = 0
    files: int = 0
    records: int = 0  # JSONL lines read
    skipped: list[Skip] = field(default_factory=list)
    removed: int = 0  # live articles the published build no longer has
    embedded: dict[str, int] = field(default_factory=dict)
    reused: dict[str, int] = field(default_factory=dict)
    embed_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    unchanged: bool = False  # nothing differed from the live index, so it was kept as it is
    builds: list[str] = field(default_factory=list)  # builds on disk after this one, live first

    def as_json(self) -> dict:
        return {**dataclasses.asdict(self), "skipped": [s._asdict() for s in self.skipped]}


def build_index(config: IndexConfig, embedders: Sequence[Embedder]) -> BuildSummary:
    """Build into a fresh directory and publish it only when complete (a failed build changes nothing)."""
    started = time.perf_counter()
    summary = BuildSummary()
    with store.build_lock(config.index_dir):
        store.clean_leftovers(config.index_dir)
        report = LoadReport()
        raw = read_articles(config, report)
        summary.files, summary.records, summary.skipped = report.files, report.records, report.skipped
        vector_store = config.vector_store(store.index_id(config.index_dir))
        inputs = input_fingerprint(config, raw, embedders, vector_store)
        live = _live_manifest(config)
        if live.get("input_fingerprint") == inputs and not (config.strict and report.skipped):
            # the same inputs through the same code and settings: the live index is what a build would
            # make, so the cleaning (most of a no-change rebuild's time) is skipped too
            summary.unchanged = True
            summary.articles, summary.passages = live["counts"]["articles"], live["counts"]["passages"]
            summary.duplicates = live["counts"].get("duplicates", 0)
            summary.skipped += [Skip(*s) for s in live.get("article_skips", [])]  # found when it was cleaned
        else:
            _collect_and_publish(config, raw, report, embedders, summary, inputs, vector_store)
    summary.seconds = time.perf_counter() - started
    return summary


def _collect_and_publish(config: IndexConfig, raw: list[Article], report: LoadReport,
                         embedders: Sequence[Embedder], summary: BuildSummary, inputs: str,
                         vector_store: dict) -> None:
    corpus = collect(config, raw, report)
    del raw
    summary.skipped = report.skipped
    if not corpus.passages:
        raise NothingToIndexError(f"nothing to index in {', '.join(map(str, config.sources))}: "
                                  f"{len(report.skipped)} input(s) skipped")
    summary.removed = check_publishable(config, corpus, report)
    fingerprint = build_fingerprint(config, corpus, embedders, vector_store)
    if _live_manifest(config).get("build_fingerprint") == fingerprint:
        summary.unchanged = True  # same passages, articles, models and settings: keep the live index
    else:
        _build_and_publish(config, corpus, embedders, summary, fingerprint, vector_store, inputs)
    summary.articles, summary.passages, summary.duplicates = (
        len(corpus.articles), len(corpus.passages), corpus.duplicates)


def check_publishable(config: IndexConfig, corpus: Corpus, report: LoadReport) -> int:
    """How many live articles the new build drops; PublishRefusedError when that loss is unexplained.

    Checked before anything is embedded, so a refused build leaves the live index and the caches as
    they were.
    """
    if config.strict and report.skipped:
        raise PublishRefusedError(f"--strict: {len(report.skipped)} input(s) skipped, nothing published: "
                                  + _list(f"{s.where} ({s.reason})" for s in report.skipped))
    live = store.live_articles(config.index_dir)
    kept = {a.doc_id for a in corpus.articles}
    gone = [doc_id for doc_id in live if doc_id not in kept]
    if len(gone) > config.max_shrink * len(live) and not config.allow_shrink:
        raise PublishRefusedError(
            f"this build would remove {len(gone)} of the live index's {len(live)} articles "
            f"({len(gone) / len(live):.0%}, over the {config.max_shrink:.0%} a rebuild may drop); "
            "nothing was published and the live index is unchanged. Pass --allow-shrink if this is intended. "
            "Would go: " + _list(f"{d} ({_why_gone(live[d], report.skipped)})" for d in gone))
    return len(gone)


def _why_gone(path: str, skipped: list[Skip]) -> str:
    file = path.rsplit(":", 1)[0] if path.rsplit(":", 1)[-1].isdigit() else path
    for where in (path, file):
        reason = next((s.reason for s in skipped if s.where == where), None)
        if reason:
            return f"{where} skipped: {reason}"
    bad_records = sum(s.kind == "record" and s.where.startswith(f"{file}:") for s in skipped)
    if bad_records:
        return f"{path} not found; {file} has {bad_records} skipped record(s)"
    return f"{path} is no longer in the sources"


def _list(items, limit: int = 10) -> str:
    items = list(items)
    more = f"; and {len(items) - limit} more" if len(items) > limit else ""
    return "; ".join(items[:limit]) + more


def _build_and_publish(config: IndexConfig, corpus: Corpus, embedders: Sequence[Embedder],
                       summary: BuildSummary, fingerprint: str, vector_store: dict, inputs: str) -> None:
    build_dir = store.new_build_dir(config.index_dir)
    try:
        article_skips = [list(s) for s in summary.skipped if s.kind == "article"]
        _write(build_dir, config, corpus, embedders, summary, {
            "build_fingerprint": fingerprint, "input_fingerprint": inputs, "article_skips": article_skips},
               vector_store)
    except BaseException:
        shutil.rmtree(build_dir, ignore_errors=True)
        raise
    _, summary.builds = store.publish(config.index_dir, build_dir, config.keep_builds)
    # previous builds' collections go only with their folders: a rollback needs both
    store.drop_other_builds(vector_store, keep=summary.builds)


def build_fingerprint(config: IndexConfig, corpus: Corpus, embedders: Sequence[Embedder],
                      vector_store: dict) -> str:
    """Everything the built index depends on: passages, where they occur, article metadata, settings."""
    digest = hashlib.sha1()
    for part in (sorted(corpus.passages), corpus.occurrences, corpus.articles,
                 *_settings(config, embedders, vector_store)):
        digest.update(repr(part).encode("utf-8"))
    return digest.hexdigest()


def _settings(config: IndexConfig, embedders: Sequence[Embedder], vector_store: dict) -> tuple:
    """What a build depends on besides its inputs: models, chunking, vector store, tokenizer, format."""
    models = [(e.name, e.model_id, e.dim, isinstance(e, SpanEmbedder)) for e in embedders]
    return models, config.chunking(), vector_store, config.ann_threshold, TOKENIZER, FORMAT_VERSION


def input_fingerprint(config: IndexConfig, raw: list[Article], embedders: Sequence[Embedder],
                      vector_store: dict) -> str:
    """Everything a build reads, before cleaning: the records themselves, the code and settings that
    clean and chunk them, and what build_fingerprint adds after."""
    digest = hashlib.sha1(code_digest())
    for a in raw:
        digest.update(repr((a.doc_id, a.path, a.title, a.url, a.date, a.source, a.is_html)).encode("utf-8"))
        digest.update(hashlib.sha1(a.text.encode("utf-8", "surrogatepass")).digest())
    for part in _settings(config, embedders, vector_store):
        digest.update(repr(part).encode("utf-8"))
    return digest.hexdigest()


def _live_manifest(config: IndexConfig) -> dict:
    try:
        return store.read_manifest(config.index_dir)
    except (store.IndexNotFoundError, store.IndexMismatchError, OSError, ValueError):
        return {}


def read_articles(config: IndexConfig, report: LoadReport) -> list[Article]:
    from tqdm import tqdm

    return list(tqdm(load_articles(list(config.sources), report), desc="read", unit="article",
                     disable=not config.show_progress))


def _ray_encoder(config: IndexConfig, position: int, embedder: Embedder) -> Callable[[], RayEncoder] | None:
    """What starts this model's Ray pool when the build runs on a cluster (called only when there is
    something to embed); the workers load the model by the same spec the driver did."""
    if config.ray is None:
        return None
    if position >= len(config.models):
        raise ValueError("a Ray build needs one --model spec per embedder")
    from indexer.ray_embed import RayEncoder

    return functools.partial(RayEncoder, config.ray, config.models[position], (embedder.model_id, embedder.dim))


def _base(extendable: tuple[Path, dict] | None, embedder: Embedder) -> Path | None:
    """The live build, when its passages start this build's and this model made their vectors."""
    if extendable is None:
        return None
    live, models = extendable
    meta = models.get(embedder.name, {})
    return live if (meta.get("model_id"), meta.get("dim")) == (embedder.model_id, embedder.dim) else None


def _write(build_dir, config: IndexConfig, corpus: Corpus, embedders: Sequence[Embedder],
           summary: BuildSummary, fingerprints: dict, vector_store: dict) -> None:
    passages = list(corpus.passages.values())
    # the same sentence rows for every model
    spans = [p.spans if p.spans is not None else sentence_spans(p.text) for p in passages]
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in spans])]).astype(np.int64)
    np.save(build_dir / store.SENTENCE_OFFSETS, offsets)
    models = {}
    extendable = store.extendable_build(config.index_dir, [p.passage_id for p in passages])
    # One model after the other, each on all cores: running them side by side on one core each was
    # slower, because the slower model's long tail then ran on a single core (README, #4 notes).
    for position, embedder in enumerate(embedders):
        started = time.perf_counter()
        units, is_passage = units_for(embedder, passages, spans)
        vectors, summary.embedded[embedder.name] = embed_units(config, embedder, units,
                                                               _ray_encoder(config, position, embedder))
        summary.reused[embedder.name] = len(units) - summary.embedded[embedder.name]
        del units
        summary.embed_seconds[embedder.name] = time.perf_counter() - started
        store.write_signal(build_dir, embedder.name, vectors.gather(np.flatnonzero(is_passage)), vector_store,
                           config.ann_threshold, _base(extendable, embedder))
        sentence_rows = np.flatnonzero(~is_passage)
        store.write_sentence_vectors(build_dir, embedder.name, embedder.dim,
                                     functools.partial(vectors.blocks, sentence_rows))
        vectors.close()
        models[embedder.name] = {
            "model_id": embedder.model_id, "dim": embedder.dim, "index": config.vector_index(len(passages)),
            "sentences": int(offsets[-1]), "sentence_index": "int8-mmap",
            "sentence_vectors": "late-chunked" if isinstance(embedder, SpanEmbedder) else "separate"}
    LexicalIndex.from_token_ids(*cached_token_ids(config.index_dir, passages)).save(build_dir)
    rows = [(i, p.passage_id, p.text, p.fp, p.lang, p.doc_id, p.position) for i, p in enumerate(passages)]
    store.write_db(build_dir, corpus.articles, rows, corpus.occurrences)
    store.write_manifest(build_dir, {
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "models": models,
        "vector_store": vector_store,
        "lexical": {"method": "bm25s", "tokenizer": TOKENIZER},
        "chunking": config.chunking(),
        "counts": {"articles": len(corpus.articles), "passages": len(passages), "duplicates": corpus.duplicates},
        **fingerprints,
        "sources": [str(s) for s in config.sources],
    })
