"""Split cleaned articles into passages: one per paragraph, long paragraphs cut at sentence ends."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from indexer.clean import Block, content_len, split_sentences
from indexer.normalize import detect_lang, fingerprint


@dataclass
class Passage:
    passage_id: str
    doc_id: str
    position: int
    text: str
    lang: str


def passage_id(text: str) -> str:
    """Content hash of the matching form: the same passage in two articles gets one id."""
    return hashlib.sha1(fingerprint(text).encode("utf-8")).hexdigest()[:16]


def chunk_blocks(doc_id: str, blocks: list[Block], max_chars: int = 400, min_chars: int = 20) -> list[Passage]:
    texts: list[str] = []
    for block in blocks:
        pieces = split_paragraph(block.text, max_chars - len(block.heading or ""))
        if block.heading:
            pieces[0] = f"{block.heading}\n{pieces[0]}"
        for piece in pieces:
            if texts and content_len(piece) < min_chars and len(texts[-1]) + len(piece) < max_chars:
                texts[-1] = f"{texts[-1]}\n{piece}"  # a stray line belongs with its neighbour
            else:
                texts.append(piece)
    return [Passage(passage_id(t), doc_id, i, t, detect_lang(t)) for i, t in enumerate(texts) if fingerprint(t)]


def passage_sentences(text: str, min_chars: int = 12) -> list[str]:
    """A passage's sentences for sentence-level vectors; fragments join their neighbour.

    A one-sentence passage returns [] : its passage vector already is its sentence vector.
    """
    units: list[str] = []
    for line in text.split("\n"):
        for sentence in split_sentences(line):
            sentence = sentence.strip()
            if units and (content_len(sentence) < min_chars or content_len(units[-1]) < min_chars):
                units[-1] = f"{units[-1]}{'' if _joins_tight(units[-1], sentence) else ' '}{sentence}"
            elif sentence:
                units.append(sentence)
    return units if len(units) > 1 else []


def split_paragraph(text: str, max_chars: int) -> list[str]:
    """Balanced pieces of at most ~max_chars, cut at sentence ends (never inside one if avoidable)."""
    max_chars = max(max_chars, 50)
    if len(text) <= max_chars:
        return [text]
    sentences: list[str] = []
    for sentence in split_sentences(text):
        sentences.extend(_hard_split(sentence, max_chars))
    target = len(text) / math.ceil(len(text) / max_chars)
    pieces: list[str] = []
    current = ""
    for sentence in sentences:
        sep = "" if not current or _joins_tight(current, sentence) else " "
        if current and (len(current) + len(sep) + len(sentence) > max_chars or len(current) >= target):
            pieces.append(current.strip())
            current, sep = "", ""
        current += sep + sentence
    if current.strip():
        pieces.append(current.strip())
    return pieces


def _joins_tight(left: str, right: str) -> bool:
    # Chinese sentences join without a space; English ones need one.
    return not (left[-1:].isascii() and right[:1].isascii())


def _hard_split(sentence: str, max_chars: int) -> list[str]:
    """A sentence longer than a passage: cut at clause commas, else at max_chars."""
    if len(sentence) <= max_chars:
        return [sentence]
    parts: list[str] = []
    current = ""
    for clause in _clauses(sentence):
        if current and len(current) + len(clause) > max_chars:
            parts.append(current)
            current = ""
        while len(clause) > max_chars:
            parts.append(clause[:max_chars])
            clause = clause[max_chars:]
        current += clause
    return parts + ([current] if current else [])


def _clauses(sentence: str) -> list[str]:
    out, start = [], 0
    for i, ch in enumerate(sentence):
        if ch in "，,；;：:、":
            out.append(sentence[start:i + 1])
            start = i + 1
    return out + ([sentence[start:]] if start < len(sentence) else [])
