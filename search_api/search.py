"""The searcher: dense + BM25 candidates, query-aware fusion, filters and result hygiene."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np

from indexer import store
from indexer.chunk import sentence_spans
from indexer.embed import Embedder
from indexer.lexical import TOKENIZER, LexicalIndex, query_tokens, tokenize, words
from indexer.normalize import fingerprint
from indexer.reader import IndexReader, PassageRecord
from search_api.answer import choose
from search_api.bridge import Translation, translate
from search_api.fusion import (
    DEFAULT_TUNING,
    LEXICAL_SIGNALS,
    Tuning,
    article_best,
    fuse,
    normalise,
    profile_query,
    signal_weights,
)
from search_api.highlight import match_spans
from search_api.neardup import bigrams, near_duplicates
from search_api.phrase import article_evidence
from search_api.prefilter import Filters, RowFilter, restricted_search

__all__ = ["ArticleNotFoundError", "Filters", "Hit", "Outcome", "Searcher"]

Mode = Literal["hybrid", "dense", "lexical"]
PHRASE_CANDIDATES = 150  # candidates (by the other signals) that get exact-phrase evidence
# Hard ceiling on each signal's candidates, whatever k and filters ask (500 = 5 x the API's largest k,
# so an unfiltered k=100 is untouched): the filter multiplier alone could ask for 2,000 per signal.
MAX_CANDIDATES = 500
# How much of a query is embedded, tokenised and phrase-matched (clip_query). Embedding is most of a
# long query's cost and grows with its length: e5 + USE, one thread, 7 ms at 16 Chinese characters,
# 24 ms at 128, 45 ms at 256, 100 ms at 512. Over HTTP (`python -m bench query`, seeds index) a
# 2,000-character query took 21x a short one uncapped, 4.3x at 256 tokens and 2.6x at 128, the
# target being <= 3x. 128 is still 3x the longest question of the eval sets (news: 45 characters).
MAX_QUERY_TOKENS = 128
# ... and of characters: the models see every character, and text without CJK or spaces (a run of
# letters or digits, symbols) costs them a model token per 1-2 characters. 384 characters are about
# 60 English words (xquad's longest question: 197 characters), which cost e5 what 128 Chinese
# characters do; 384 random letters still cost about 5x a short query.
MAX_QUERY_CHARS = 384
_WORD = "0-9A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff"  # spaced scripts: Latin, Greek, Cyrillic
# a word of a spaced script, or any other visible character (CJK, kana, Thai, a symbol) on its own
_QUERY_TOKEN = re.compile(f"[{_WORD}]+|[^\\s{_WORD}]")
_LATIN = re.compile("[A-Za-z]")
ARTICLE_JOIN = "\n\n"  # between an article's passages in its whole text (the offsets of a citation's span)


def clip_query(text: str, max_tokens: int = MAX_QUERY_TOKENS, max_chars: int = MAX_QUERY_CHARS) -> str:
    """The text up to the end of its `max_tokens`-th token, and at most `max_chars` characters.

    A token is a CJK character, a Latin word or number, or any other visible character; shorter text
    comes back unchanged.
    """
    last = next(islice(_QUERY_TOKEN.finditer(text, 0, max_chars), max_tokens - 1, None), None)
    return text[:last.end()] if last else text[:max_chars]


class ArticleNotFoundError(KeyError):
    """No article with that id in the index."""


class Part(NamedTuple):
    """One passage of an article's whole text: text[start:end] is the passage."""

    position: int
    passage_id: str
    row: int
    start: int
    end: int


@dataclass(frozen=True)
class ArticleText:
    article: store.ArticleRow
    text: str  # the cleaned article: its passages in order, joined by ARTICLE_JOIN
    parts: list[Part]


@dataclass
class Hit:
    score: float
    passage_id: str
    text: str
    lang: str
    doc_id: str
    position: int
    article: store.ArticleRow
    spans: list[tuple[int, int]]
    also_in: list[tuple[str, int]] = field(default_factory=list)
    row: int = -1  # the passage's row in the index


@dataclass
class Signal:
    """One signal's candidates for a query: rows, their scores, and what scores any other row."""

    rows: np.ndarray
    query: np.ndarray  # the query vector, or for BM25 the score of every row


@dataclass
class Outcome:
    hits: list[Hit]
    timings: dict[str, float]
    weights: dict[str, float]
    query_clipped: bool = False  # the query was longer than clip_query keeps: only its start was searched
    query: str = ""  # the query as searched (clipped)
    query_vectors: dict[str, np.ndarray] = field(default_factory=dict)  # per dense signal
    term_weights: dict[str, float] = field(default_factory=dict)  # lexical query terms (and translations)


class Searcher:
    def __init__(self, index_dir: Path, embedders: Mapping[str, Embedder], *, per_article: int = 2,
                 candidates: int = 100, qdrant_url: str | None = None, tuning: Tuning = DEFAULT_TUNING) -> None:
        self.tuning = tuning
        self.build_dir = store.live_dir(index_dir)
        self.manifest = store.read_manifest(index_dir)
        self.embedders = check_models(self.manifest, embedders)
        if self.manifest.get("lexical", {}).get("tokenizer") != TOKENIZER:
            raise store.IndexMismatchError(f"index tokenised with {self.manifest.get('lexical')}, server uses "
                                           f"{TOKENIZER}: rebuild the index")
        self.vectors = {name: store.open_signal(self.build_dir, self.manifest, name, qdrant_url)
                        for name in self.embedders}
        # Row readers over the FAISS indexes' own memory: gathering candidates' vectors is a numpy take.
        self.matrices = {name: store.row_reader(index) for name, index in self.vectors.items()}
        self.sentence_matrices = {name: store.sentence_reader(self.build_dir, name) for name in self.embedders}
        self.sentence_offsets = np.load(self.build_dir / store.SENTENCE_OFFSETS)
        self.lexical = LexicalIndex.load(self.build_dir)
        self.reader = IndexReader(self.build_dir)
        self.per_article = per_article
        self.candidates = candidates
        self._load_rows()
        self.search("warm up 预热", k=1)  # loads jieba's dictionary and runs each model once

    def _load_rows(self) -> None:
        docs, langs = self.reader.row_columns()
        self.row_filter = RowFilter(self.reader.articles(), docs, langs)

    @property
    def size(self) -> int:
        return self.reader.n_passages

    @property
    def n_articles(self) -> int:
        return self.reader.n_articles

    def article_meta(self, doc_id: str) -> store.ArticleRow:
        """An article's metadata, or ArticleNotFoundError."""
        row = self.reader.article(doc_id)
        if row is None:
            raise ArticleNotFoundError(doc_id)
        return row

    def search(self, query: str, k: int = 10, mode: Mode = "hybrid", filters: Filters | None = None,
               only: tuple[str, ...] | None = None, tuning: Tuning | None = None,
               per_article: int | None = None) -> Outcome:
        """Top-k passages; `only` restricts retrieval to some signals (used to measure each alone),
        `tuning` replaces the fusion's settings (used to measure variants on held-out questions) and
        `per_article` the server's cap on passages per article."""
        filters = filters or Filters()
        timings: dict[str, float] = {}
        # every signal (and the highlights) sees the same clipped query: a long one costs what its start does
        clipped = clip_query(query)
        query_clipped = bool(query[len(clipped):].strip())
        query = clipped
        tokens = query_tokens(query)
        n = self._candidate_count(k)
        tuning = tuning or self.tuning
        # filters restrict every signal's candidates before ranking: a filter matching one article in the
        # whole archive still finds it
        allowed = self.row_filter.mask(filters)
        translation = self._translate(query, timings)
        signals = self._retrieve(query, tokens, mode, n, timings, only, self._dense_texts(query, translation, tuning),
                                 allowed)
        confidence = self._bridge(translation, mode, n, timings, only, signals, allowed)
        profile = profile_query(query, self.lexical.coverage(tokens), len(tokens), confidence)
        t0 = time.perf_counter()
        rows = (np.unique(np.concatenate([s.rows for s in signals.values()])) if signals
                else np.zeros(0, np.int64))
        hybrid = mode == "hybrid" and rows.size > 0
        weights = signal_weights(profile, list(signals), phrase=hybrid, tuning=tuning, article=hybrid)
        cand = {name: self._score_rows(name, rows, s.query) for name, s in signals.items()}
        # each signal is normalised against its own candidates' scores
        tops = {name: cand[name][np.isin(rows, s.rows)] for name, s in signals.items()}
        fused = fuse(cand, tops, weights)
        if "article" in weights:
            fused += weights["article"] * self._article_lexical(rows, cand, tops, weights)
        if "phrase" in weights:
            # only the best candidates can reach the top k: scoring the rest would only cost time
            best = np.argsort(-fused, kind="stable")[:PHRASE_CANDIDATES]
            records = self.reader.passages(rows[best].tolist())
            fused[best] += weights["phrase"] * article_evidence(
                fingerprint(query), [p.fp for p in records], [p.doc_id for p in records], self.lexical.idf)
        order = rows[np.argsort(-fused, kind="stable")]
        score_of = dict(zip(rows.tolist(), fused.tolist()))
        timings["fuse_ms"] = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        hits = self._select(order, score_of, k, words(query), per_article or self.per_article)
        timings["fetch_ms"] = (time.perf_counter() - t0) * 1000
        return Outcome(hits=hits, timings=timings, weights=weights, query_clipped=query_clipped, query=query,
                       query_vectors={n: s.query for n, s in signals.items() if n not in LEXICAL_SIGNALS},
                       term_weights=self._term_weights(tokens, translation))

    def _candidate_count(self, k: int) -> int:
        """Candidates each signal contributes: enough for k hits after per-article caps and duplicates."""
        return min(self.size, max(self.candidates, 5 * k), MAX_CANDIDATES)

    def _translate(self, query: str, timings: dict[str, float]) -> Translation | None:
        """The dictionary bridge's reading of a query with English words in it."""
        if not _LATIN.search(query):
            return None
        t0 = time.perf_counter()
        translation = translate(query, self.lexical.phrase_freq)
        timings["translate_ms"] = (time.perf_counter() - t0) * 1000
        return translation

    @staticmethod
    def _dense_texts(query: str, translation: Translation | None, tuning: Tuning) -> dict[str, str]:
        """What each dense model embeds: the query, plus for the models in `tuning.bridge_dense` the
        bridge's Chinese keywords (e5 reads Chinese far better than it matches English to Chinese)."""
        keywords = translation.keywords() if translation else ""
        return {name: f"{query} {keywords}" for name in tuning.bridge_dense} if keywords else {}

    def _retrieve(self, query: str, tokens: list[str], mode: Mode, n: int, timings: dict[str, float],
                  only: tuple[str, ...] | None, dense_texts: dict[str, str],
                  allowed: np.ndarray | None) -> dict[str, Signal]:
        top: dict[str, Signal] = {}
        if mode in ("hybrid", "dense"):
            for name, embedder in self.embedders.items():
                if only is not None and name not in only:
                    continue
                t0 = time.perf_counter()
                qv = embedder.encode([dense_texts.get(name, query)], is_query=True)
                timings[f"embed_{name}_ms"] = (time.perf_counter() - t0) * 1000
                t0 = time.perf_counter()
                top[name] = Signal(self._dense_candidates(name, qv, n, allowed), qv[0])
                timings[f"search_{name}_ms"] = (time.perf_counter() - t0) * 1000
        if mode in ("hybrid", "lexical") and tokens and (only is None or "bm25" in only):
            t0 = time.perf_counter()
            scores = _only(self.lexical.scores(tokens), allowed)
            best = _top_rows(scores, n)
            timings["search_bm25_ms"] = (time.perf_counter() - t0) * 1000
            if best.size:
                top["bm25"] = Signal(best, scores)
        return top

    def _bridge(self, translation: Translation | None, mode: Mode, n: int, timings: dict[str, float],
                only: tuple[str, ...] | None, signals: dict[str, Signal], allowed: np.ndarray | None) -> float:
        """Adds the English -> Chinese dictionary signal; returns the share of the query's content words
        that were translated (0 when none were, or the signal was not asked for)."""
        if translation is None or mode == "dense" or (only is not None and "bridge" not in only):
            return 0.0
        t0 = time.perf_counter()
        scores = _only(self.lexical.weighted_scores(translation.token_weights(query_tokens)), allowed)
        best = _top_rows(scores, n)
        timings["search_bridge_ms"] = (time.perf_counter() - t0) * 1000
        if not best.size:
            return 0.0
        signals["bridge"] = Signal(best, scores)
        return translation.confidence

    def _article_lexical(self, rows: np.ndarray, cand: dict[str, np.ndarray], tops: dict[str, np.ndarray],
                         weights: dict[str, float]) -> np.ndarray:
        """Per candidate, the best weighted lexical evidence among its article's candidates: the terms
        tell which article a question is about, the other signals choose the passage in it."""
        lexical = [s for s in LEXICAL_SIGNALS if s in cand]
        total = sum(weights[s] for s in lexical) or 1.0
        # summed from an array (not sum()'s int 0), so evidence is an array even with no lexical signal
        evidence = sum((weights[s] * normalise(cand[s], tops[s]) for s in lexical),
                       np.zeros(len(rows), np.float32)) / total
        return article_best(evidence, self.row_filter.row_article[rows])

    def _score_rows(self, name: str, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
        if name in LEXICAL_SIGNALS:
            return query[rows]  # for a lexical signal the "query" slot carries the full score array
        return self._dense_scores(name, rows, query)

    def _dense_candidates(self, name: str, query: np.ndarray, n: int, allowed: np.ndarray | None) -> np.ndarray:
        """Passages near the query (among the allowed rows); their sentences rescore them later."""
        if allowed is not None:
            return np.unique(restricted_search(self.vectors[name], self.matrices[name], query[0], n, allowed))
        _, ids = self.vectors[name].search(query, n)
        return np.unique(ids[0][ids[0] >= 0])

    def _dense_scores(self, name: str, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Mean of the passage's cosine and its best sentence's: a question usually targets one sentence,
        but the passage vector keeps the context (measured on xquad: README)."""
        rows = rows.astype(np.int64)
        passage = self.matrices[name](rows) @ query
        starts, ends = self.sentence_offsets[rows], self.sentence_offsets[rows + 1]
        has = ends > starts
        best = passage.copy()
        if has.any():
            lengths = (ends - starts)[has]
            group_starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
            # all sentence rows of these passages, without a Python loop over passages
            idx = np.repeat(starts[has] - group_starts, lengths) + np.arange(lengths.sum())
            sims = self.sentence_matrices[name](idx) @ query
            best[has] = np.maximum.reduceat(sims, group_starts)
        return (passage + best) / 2

    def _select(self, order: np.ndarray, score_of: dict[int, float], k: int, terms: list[str],
                per_article: int) -> list[Hit]:
        """Best-first, skipping near-duplicates and an article's extra passages (every candidate already
        passed the filters: prefilter.RowFilter)."""
        hits: list[Hit] = []
        per_doc: dict[str, int] = {}
        grams: list[set[str]] = []
        for p in self._records(order, batch=max(2 * k, 32)):
            article = self.article_meta(p.doc_id)
            if per_doc.get(p.doc_id, 0) >= per_article:
                continue
            g = bigrams(p.fp)
            if any(near_duplicates(g, other) for other in grams):
                continue
            grams.append(g)
            per_doc[p.doc_id] = per_doc.get(p.doc_id, 0) + 1
            hits.append(Hit(score_of[p.row], p.passage_id, p.text, p.lang, p.doc_id, p.position, article,
                            match_spans(p.text, terms), [], p.row))
            if len(hits) == k:
                break
        elsewhere = self.reader.occurrences_of([h.passage_id for h in hits])
        for hit in hits:
            hit.also_in = [(o.doc_id, o.position) for o in elsewhere.get(hit.passage_id, []) if o.doc_id != hit.doc_id]
        return hits

    def _records(self, order: np.ndarray, batch: int) -> Iterator[PassageRecord]:
        """The passages of `order`, read a batch at a time: most queries need only the first batch."""
        for start in range(0, len(order), batch):
            yield from self.reader.passages(order[start:start + batch].tolist())

    def article(self, doc_id: str, offset: int = 0, limit: int | None = None
                ) -> tuple[store.ArticleRow, list[tuple[int, str, str]], int]:
        """The article's metadata, `limit` of its passages in order from the `offset`-th (all by default)
        as (position, passage_id, text), and how many passages it has."""
        whole = self.article_text(doc_id)
        window = whole.parts[offset:] if limit is None else whole.parts[offset:offset + limit]
        return (whole.article, [(p.position, p.passage_id, whole.text[p.start:p.end]) for p in window],
                len(whole.parts))

    def article_text(self, doc_id: str) -> ArticleText:
        """The whole cleaned article and where each of its passages sits in it (citation offsets)."""
        article = self.article_meta(doc_id)
        order = self.reader.article_passages(doc_id)
        records = self.reader.passages([o.row for o in order])
        parts: list[Part] = []
        cursor = 0
        for o, p in zip(order, records):
            if parts:
                cursor += len(ARTICLE_JOIN)
            parts.append(Part(o.position, p.passage_id, p.row, cursor, cursor + len(p.text)))
            cursor += len(p.text)
        return ArticleText(article, ARTICLE_JOIN.join(p.text for p in records), parts)

    def doc_of(self, passage_id: str) -> str:
        """The article a passage id belongs to (the first one, for a passage several articles share)."""
        row = self.reader.row_of(passage_id)
        if row is None:
            raise ArticleNotFoundError(passage_id)
        return self.reader.passage(row).doc_id

    def _term_weights(self, tokens: list[str], translation: Translation | None) -> dict[str, float]:
        """The query's lexical terms by idf, with an English query's dictionary translations by idf x
        their likelihood: what an answer sentence should contain."""
        weights = {t: self.lexical.idf(t) for t in tokens}
        if translation is not None:
            for token, w in translation.token_weights(query_tokens).items():
                weights[token] = max(weights.get(token, 0.0), w * self.lexical.idf(token))
        return {t: w for t, w in weights.items() if w > 0}

    def answer(self, row: int, outcome: Outcome) -> tuple[int, int]:
        """[start, end) of the passage's sentence that best answers the query (search_api.answer)."""
        text = self.reader.passage(row).text
        spans = sentence_spans(text)
        if len(spans) < 2:
            return _strip_span(text)
        first, last = int(self.sentence_offsets[row]), int(self.sentence_offsets[row + 1])
        dense = None
        if last - first == len(spans) and outcome.query_vectors:  # else an index chunked by other code
            rows = np.arange(first, last, dtype=np.int64)
            dense = sum(self.sentence_matrices[n](rows) @ qv for n, qv in outcome.query_vectors.items())
            dense = dense / len(outcome.query_vectors)
        sentences = [text[a:b] for a, b in spans]
        best = choose(outcome.query, sentences, [set(tokenize(s)) for s in sentences], dense, outcome.term_weights)
        return spans[best]


def _strip_span(text: str) -> tuple[int, int]:
    start = len(text) - len(text.lstrip())
    return start, max(start, len(text.rstrip()))


def _only(scores: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
    """Scores of the allowed rows; the others score 0, which no candidate list takes."""
    return scores if allowed is None else np.where(allowed, scores, 0).astype(scores.dtype, copy=False)


def _top_rows(scores: np.ndarray, n: int) -> np.ndarray:
    """The rows of the n best positive scores (unordered)."""
    if not scores.size:
        return np.zeros(0, np.int64)
    best = np.argpartition(-scores, min(n, scores.size) - 1)[:n]
    return best[scores[best] > 0]


def check_models(manifest: dict, embedders: Mapping[str, Embedder]) -> dict[str, Embedder]:
    """The embedders the index needs, or IndexMismatchError naming what differs."""
    needed = manifest.get("models", {})
    chosen = {}
    for name, meta in needed.items():
        embedder = embedders.get(name)
        if embedder is None:
            raise store.IndexMismatchError(f"index needs model {name!r} ({meta.get('model_id')}), "
                                           f"server has {sorted(embedders)}")
        if embedder.model_id != meta.get("model_id") or embedder.dim != meta.get("dim"):
            raise store.IndexMismatchError(
                f"index built with {name}={meta.get('model_id')} (dim {meta.get('dim')}), server has "
                f"{embedder.model_id} (dim {embedder.dim}): rebuild the index or change the server's models")
        chosen[name] = embedder
    return chosen
