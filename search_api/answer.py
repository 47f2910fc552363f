"""Choose a passage's answer sentence: closeness to the question, its rarer terms, the answer type it asks for."""

from __future__ import annotations

import math
import re

import numpy as np

# Weights beside the sentence vectors' mean cosine to the question (measured on xquad zh/en and the news
# sets, README: Quality): the share of the question's terms a sentence has, each term weighted by its
# corpus idf and by how few of the passage's sentences contain it; and whether the sentence holds the
# kind of answer the question asks for (a time, a quantity).
TERMS = 0.2
ANSWER_TYPE = 0.1

_ASKS_TIME = re.compile(r"何时|什么时候|哪一年|哪年|何年|哪个世纪|哪一天|哪天|几月|几号|\bwhen\b|"
                        r"\bwhat (year|century|date|day|month|time)\b", re.I)
_ASKS_QUANTITY = re.compile(r"多少|几|多大|多高|多长|多久|多远|多重|百分之|"
                            r"\bhow (many|much|long|old|far|large|big|tall|high)\b|\bwhat (percentage|proportion)\b",
                            re.I)
_TIME = re.compile(r"\d{3,4}\s*年|\d+\s*[月日]|世纪|年代|[春夏秋冬][季天]|年初|年底|年末|\b1\d{3}\b|\b20\d{2}\b")
_QUANTITY = re.compile(r"\d|[一二两三四五六七八九十百千万亿]+\s*(个|所|名|位|岁|年|次|种|家|人|倍|周|天|月|座|条|项|件|"
                       r"分|米|公里|英里|美元|元|成)")


def answer_type(question: str) -> re.Pattern[str] | None:
    """What a sentence answering `question` must contain, when the question says (a time, a quantity)."""
    if _ASKS_TIME.search(question):
        return _TIME
    if _ASKS_QUANTITY.search(question):
        return _QUANTITY
    return None


def term_scores(sentence_terms: list[set[str]], weights: dict[str, float]) -> np.ndarray:
    """Per sentence, the weighted share of query terms it contains; a term found in few of the passage's
    sentences tells them apart, one found in all of them does not."""
    total = sum(weights.values())
    scores = np.zeros(len(sentence_terms), np.float32)
    if not total:
        return scores
    n = len(sentence_terms)
    for term, weight in weights.items():
        has = np.array([term in terms for terms in sentence_terms])
        if has.any():
            scores[has] += weight * math.log(1 + n / has.sum())
    return scores / total


def choose(question: str, sentences: list[str], sentence_terms: list[set[str]], dense: np.ndarray | None,
           weights: dict[str, float]) -> int:
    """Index of the sentence that best answers the question (dense: mean cosine per sentence, or None)."""
    scores: np.ndarray = np.zeros(len(sentences), np.float32) if dense is None else dense.astype(np.float32)
    scores = scores + TERMS * term_scores(sentence_terms, weights)
    wanted = answer_type(question)
    if wanted is not None:
        scores += ANSWER_TYPE * np.array([bool(wanted.search(s)) for s in sentences], np.float32)
    return int(np.argmax(scores))
