"""BM25 over jieba tokens of the normalised (NFKC, Simplified, lower-case) text."""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from indexer.chunk import Passage
from indexer.normalize import normalize
from indexer.sqlcache import TokenCache, token_ids

BM25_DIR = "bm25"
# Recorded in the manifest: an index tokenised differently cannot be queried with this code.
TOKENIZER = "jieba+cjk-bigrams/opencc-t2s/nfkc/v1"


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_CHINESE, STOPWORDS_EN

    return frozenset(STOPWORDS_EN) | frozenset(STOPWORDS_CHINESE)


def words(text: str) -> list[str]:
    """jieba words of the matching form, without punctuation and stopwords (also the highlight terms)."""
    stop = stopwords()
    tokens = (t.strip() for t in _jieba().lcut(normalize(text)))
    return [t for t in tokens if t and any(c.isalnum() for c in t) and t not in stop]


def tokenize(text: str) -> list[str]:
    """Words plus overlapping CJK character bigrams.

    jieba's dictionary misses many names (and segments Traditional-script names differently once
    converted), so a name it splits oddly would not match; its bigrams still do.
    """
    return words(text) + _cjk_bigrams(text)


def query_tokens(text: str) -> list[str]:
    """A query's tokens for BM25: tokenize(), each word and each bigram kept once, in order.

    bm25s adds a token's score again for every repeat, so a word pasted 50 times would outweigh the
    rest of the query. A two-character word stays both a word and a bigram, as in tokenize().
    """
    return list(dict.fromkeys(words(text))) + list(dict.fromkeys(_cjk_bigrams(text)))


def _cjk_bigrams(text: str) -> list[str]:
    norm = normalize(text)
    bigrams = [norm[i:i + 2] for i in range(len(norm) - 1) if _is_cjk(norm[i]) and _is_cjk(norm[i + 1])]
    return [b for b in bigrams if b not in stopwords()]


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff"


def cached_token_ids(index_dir: Path, passages: Sequence[Passage]) -> tuple[list[np.ndarray], dict[str, int]]:
    """Each passage's token ids, and the vocabulary of the ids used; only passages the last build did not
    see go through jieba (the slow part), and the cache ends up holding exactly these passages."""
    with TokenCache(index_dir, TOKENIZER) as cache:
        ids = []
        for p in passages:
            found = cache.ids(p.passage_id)
            if found is None:
                tokens = cache.legacy_tokens(p.passage_id)
                found = cache.put_tokens(p.passage_id, tokenize(p.text) if tokens is None else tokens)
            ids.append(found)
        cache.keep_only(p.passage_id for p in passages)
        used = np.zeros(max((int(a.max()) for a in ids if a.size), default=0) + 1, dtype=bool)
        for a in ids:
            used[a] = True
        return ids, cache.vocabulary(used)


VOCAB_HASHES = "vocab.hash.npy"  # token hashes, sorted
VOCAB_IDS = "vocab.ids.npy"  # the token id of each hash


def token_hash(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")


class HashVocab:
    """token -> id through sorted 64-bit hashes: 12 bytes a token where a Python dict of 600k tokens took
    130 MB (two tokens sharing a hash: ~1e-7 for a million tokens)."""

    def __init__(self, hashes: np.ndarray, ids: np.ndarray) -> None:
        self.hashes, self.ids = hashes, ids

    @classmethod
    def of(cls, vocab: dict[str, int]) -> HashVocab:
        hashes = np.fromiter((token_hash(t) for t in vocab), dtype=np.uint64, count=len(vocab))
        order = np.argsort(hashes)
        return cls(hashes[order], np.fromiter(vocab.values(), dtype=np.int32, count=len(vocab))[order])

    def get(self, token: str) -> int | None:
        h = np.uint64(token_hash(token))
        i = int(np.searchsorted(self.hashes, h))
        return int(self.ids[i]) if i < len(self.hashes) and self.hashes[i] == h else None


def bm25_matrix(ids: Sequence[np.ndarray], n_vocab: int, k1: float, b: float, dtype: str = "float32",
                block: int = 8192) -> dict:
    """bm25s's score matrix (method "lucene") of documents given as token-id arrays, computed with numpy:
    bm25s.BM25.index counts terms document by document in Python, 36 s of a 145k-passage build.

    The same CSC arrays (a column per token, its documents ascending) and the same scores:
    idf = ln(1 + (N - df + 0.5) / (df + 0.5)), tf / (tf + k1 (1 - b + b |d| / avgdl)).
    """
    lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    docs, terms, counts = [], [], []
    for start in range(0, len(ids), block):  # (doc, term) counts a block of documents at a time
        part = ids[start:start + block]
        rows = np.repeat(np.arange(start, start + len(part), dtype=np.int64), lengths[start:start + len(part)])
        pairs, n = np.unique(rows * n_vocab + np.concatenate(part), return_counts=True)
        docs.append((pairs // n_vocab).astype(np.int32))
        terms.append((pairs % n_vocab).astype(np.int32))
        counts.append(n.astype(np.float32))
    doc, term, tf = np.concatenate(docs), np.concatenate(terms), np.concatenate(counts)
    del docs, terms, counts
    df = np.bincount(term, minlength=n_vocab)
    n_docs = len(ids)
    idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
    norm = (k1 * ((1 - b) + b * lengths / lengths.mean())).astype(np.float32)
    scores = idf[term] * (tf / (norm[doc] + tf))
    order = np.argsort(term, kind="stable")  # by term, documents still ascending within each
    indptr = np.zeros(n_vocab + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    return {"data": scores[order].astype(dtype), "indices": doc[order], "indptr": indptr, "num_docs": n_docs}


@lru_cache(maxsize=1)
def _array_bm25_class() -> type:
    import bm25s

    class ArrayBM25(bm25s.BM25):
        """bm25s.BM25 whose index is built by bm25_matrix (bm25s's documented override point)."""

        def build_index_from_ids(self, unique_token_ids, corpus_token_ids, show_progress=True,
                                 leave_progress=False) -> dict:
            if self.method != "lucene":
                return super().build_index_from_ids(unique_token_ids, corpus_token_ids, show_progress,
                                                    leave_progress)
            self.nonoccurrence_array = None
            return bm25_matrix(corpus_token_ids, len(unique_token_ids), self.k1, self.b, self.dtype)

    return ArrayBM25


class LexicalIndex:
    def __init__(self, bm25, vocab: HashVocab | None = None) -> None:
        self._bm25 = bm25
        self._vocab = vocab or HashVocab.of(bm25.vocab_dict)
        indptr = np.asarray(bm25.scores["indptr"])
        self._df = np.diff(indptr)
        self.n_docs = int(bm25.scores["num_docs"])

    @classmethod
    def build(cls, texts: list[str]) -> LexicalIndex:
        return cls.from_tokens(tokenize(text) for text in texts)

    @classmethod
    def from_tokens(cls, token_lists: Iterable[list[str]]) -> LexicalIndex:
        from bm25s.tokenization import Tokenized

        # Token ids in compact arrays, not lists of strings: a 50 MB text file has ~35M tokens.
        vocab: dict[str, int] = {"\x00": 0}  # an empty passage gets this placeholder to keep rows aligned
        ids = [token_ids(tokens, vocab, len(vocab))[0] if tokens else np.zeros(1, np.int32) for tokens in token_lists]
        bm25 = _array_bm25_class()()  # made on first use: nothing heavy at import time
        bm25.index(Tokenized(ids=ids, vocab=vocab), show_progress=False)
        return cls(bm25)

    @classmethod
    def from_token_ids(cls, ids: list[np.ndarray], vocab: dict[str, int]) -> LexicalIndex:
        """The index of passages given as ids of `vocab` (cached_token_ids), renumbered 1..n in id order."""
        from bm25s.tokenization import Tokenized

        size = max(vocab.values(), default=0) + 1
        used = np.zeros(size, dtype=bool)
        used[list(vocab.values())] = True
        renumber = np.zeros(size, dtype=np.int32)
        renumber[used] = np.arange(1, int(used.sum()) + 1, dtype=np.int32)
        compact = [renumber[a] if a.size else np.zeros(1, np.int32) for a in ids]  # 0: an empty passage
        bm25 = _array_bm25_class()()
        bm25.index(Tokenized(ids=compact, vocab={"\x00": 0, **{t: int(renumber[i]) for t, i in vocab.items()}}),
                   show_progress=False)
        return cls(bm25)

    def save(self, index_dir: Path) -> None:
        self._bm25.save(str(index_dir / BM25_DIR), show_progress=False)
        np.save(index_dir / BM25_DIR / VOCAB_HASHES, self._vocab.hashes)
        np.save(index_dir / BM25_DIR / VOCAB_IDS, self._vocab.ids)

    @classmethod
    def load(cls, index_dir: Path) -> LexicalIndex:
        """The index with its score matrix memory-mapped (a query reads only its tokens' columns) and
        the compact vocabulary, not bm25s's dict."""
        import bm25s

        folder = index_dir / BM25_DIR
        bm25 = bm25s.BM25.load(str(folder), show_progress=False, mmap=True, load_vocab=False)
        return cls(bm25, HashVocab(np.load(folder / VOCAB_HASHES), np.load(folder / VOCAB_IDS)))

    def scores(self, tokens: list[str]) -> np.ndarray:
        known = [tid for tid in map(self._vocab.get, tokens) if tid is not None]
        if not known:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.asarray(self._bm25.get_scores_from_ids(known), dtype=np.float32)

    def weighted_scores(self, weights: dict[str, float]) -> np.ndarray:
        """Sum over tokens of weight x the token's BM25 score: a query whose terms are uncertain
        translations, each counting by how likely it is."""
        total = np.zeros(self.n_docs, dtype=np.float32)
        for token, weight in weights.items():
            tid = self._vocab.get(token)
            if tid is not None and weight > 0:
                total += weight * np.asarray(self._bm25.get_scores_from_ids([tid]), dtype=np.float32)
        return total

    def doc_freq(self, token: str) -> int:
        """How many passages contain the token."""
        tid = self._vocab.get(token)
        return int(self._df[tid]) if tid is not None else 0

    def phrase_freq(self, text: str) -> int:
        """An upper bound on how many passages contain `text`: its own df when it is one token, else how
        many passages hold all of its tokens (0 when any is missing)."""
        norm = normalize(text)
        whole = self.doc_freq(norm)
        if whole or (len(norm) == 2 and all(map(_is_cjk, norm))):  # a CJK pair's only token is itself
            return whole
        tokens = query_tokens(text)
        return self.co_freq(tokens) if tokens else 0

    def co_freq(self, tokens: list[str]) -> int:
        """How many passages contain every one of the tokens."""
        found = [self._vocab.get(t) for t in dict.fromkeys(tokens)]
        ids = [tid for tid in found if tid is not None]
        if not ids or len(ids) < len(found):
            return 0
        indptr, indices = self._bm25.scores["indptr"], self._bm25.scores["indices"]
        # the rarest token's passages, looked up in each other token's sorted posting list
        ids.sort(key=lambda t: int(self._df[t]))
        rows = np.asarray(indices[indptr[ids[0]]:indptr[ids[0] + 1]])
        for tid in ids[1:]:
            posting = indices[indptr[tid]:indptr[tid + 1]]
            at = np.searchsorted(posting, rows)
            rows = rows[(at < len(posting)) & (np.asarray(posting[np.minimum(at, len(posting) - 1)]) == rows)]
            if not rows.size:
                return 0
        return int(rows.size)

    def idf(self, token: str) -> float:
        """BM25 idf of a token; 0 when the corpus never uses it."""
        tid = self._vocab.get(token)
        if tid is None:
            return 0.0
        df = int(self._df[tid])
        return math.log(1 + (self.n_docs - df + 0.5) / (df + 0.5)) if df else 0.0

    def coverage(self, tokens: list[str]) -> float:
        """Share of the query's informative tokens that the corpus contains (idf-weighted)."""
        if not tokens:
            return 0.0
        unseen_idf = math.log(1 + (self.n_docs + 0.5) / 0.5)
        weights = [(self.idf(t) or unseen_idf, self.idf(t) > 0) for t in tokens]
        total = sum(w for w, _ in weights)
        return sum(w for w, hit in weights if hit) / total if total else 0.0
