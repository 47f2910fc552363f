"""Held-out evaluation: questions grouped by article into folds; a setting is chosen on the other folds."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from search_api.evaluate import metrics
from search_api.fusion import DEFAULT_TUNING, Tuning

Ranks = Mapping[str, int | None]  # query id -> rank of the first relevant passage (None: not in the top k)


def fold_of(query_id: str, folds: int) -> int:
    """A stable fold per article: questions about one article (ids `<article>-<n>`) never straddle
    folds, or a setting could learn an article from one question and be tested on its sibling."""
    group = query_id.rsplit("-", 1)[0]
    return int(hashlib.sha1(group.encode("utf-8")).hexdigest()[:8], 16) % folds


def _objective(ranks: Ranks, ids: list[str]) -> tuple[float, float]:
    m = metrics([ranks[q] for q in ids])
    return m["hit@1"], m["mrr@10"]


def cross_validate(configs: Mapping[str, Ranks], folds: int, default: str) -> dict:
    """Pooled held-out metrics of choosing, for each fold, the config that is best on the other folds.

    Ties go to `default` (then to the first config listed), so a grid that does not beat the default
    on training folds changes nothing.
    """
    ids = list(configs[default])
    fold = {q: fold_of(q, folds) for q in ids}
    names = [default] + [c for c in configs if c != default]
    chosen, held = [], {}
    for f in range(folds):
        train = [q for q in ids if fold[q] != f]
        best = max(names, key=lambda c: (_objective(configs[c], train), c == default))
        chosen.append(best)
        held.update({q: configs[best][q] for q in ids if fold[q] == f})
    return {"held_out": metrics([held[q] for q in ids]), "chosen": chosen, "ranks": held}


def per_fold(ranks: Ranks, folds: int) -> list[dict[str, float]]:
    """One config's metrics on each fold: a gain that holds on one fold and not another is noise."""
    fold = {q: fold_of(q, folds) for q in ranks}
    return [metrics([r for q, r in ranks.items() if fold[q] == f]) for f in range(folds)]


class MemoEmbedder:
    """Wraps an embedder so that each query is embedded once however many settings are measured."""

    def __init__(self, embedder) -> None:
        self._embedder = embedder
        self.name, self.model_id, self.dim = embedder.name, embedder.model_id, embedder.dim
        self._seen: dict[str, object] = {}

    def encode(self, texts: list[str], *, is_query: bool = False):
        if not is_query or len(texts) != 1:
            return self._embedder.encode(texts, is_query=is_query)
        if texts[0] not in self._seen:
            self._seen[texts[0]] = self._embedder.encode(texts, is_query=True)
        return self._seen[texts[0]]


def grid(default: Tuning = DEFAULT_TUNING) -> dict[str, Tuning]:
    """The shipped settings and their neighbours, one knob at a time (GRID_STEPS)."""
    variants = {"default": default}
    for knob, values in GRID_STEPS.items():
        for value in values:
            variants[f"{knob}={value}"] = replace(default, **{knob: value})
    return variants


# one step down and one up from each shipped setting (Any: a knob's values are floats, or signal names)
GRID_STEPS: dict[str, tuple[Any, ...]] = {
    "phrase": (0.6, 1.2), "article": (0.1, 0.4), "bm25_zh": (0.25, 0.6), "bridge": (0.15, 0.6),
    "bm25_en": (0.05, 0.2), "bridge_dense": ((),)}
