"""Split cleaned articles into passages: one per paragraph, long paragraphs cut at sentence ends."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

from indexer.clean import Block, content_len, split_sentences
from indexer.normalize import detect_lang, fingerprint


@dataclass
class Passage:
    passage_id: str
    doc_id: str
    position: int
    text: str
    lang: str
    fp: str  # matching form (normalize.fingerprint), computed once here and stored with the passage
    # sentence_spans(text): the rows of its sentence vectors (chunk_blocks sets them)
    spans: list[tuple[int, int]] | None = field(default=None, compare=False, repr=False)


def passage_id(text: str, fp: str | None = None) -> str:
    """Content hash of the matching form: the same passage in two articles gets one id."""
    return hashlib.sha1((fingerprint(text) if fp is None else fp).encode("utf-8")).hexdigest()[:16]


MIN_PIECE = 50  # split_paragraph's smallest piece (and IndexConfig's smallest max_chars)


def chunk_blocks(doc_id: str, blocks: list[Block], max_chars: int = 400, min_chars: int = 20) -> list[Passage]:
    """An article's passages, in order; none longer than max_chars (which must be >= MIN_PIECE)."""
    texts: list[str] = []
    for block in blocks:
        for piece in _block_pieces(block, max_chars):
            if texts and content_len(piece) < min_chars and len(texts[-1]) + len(piece) < max_chars:
                texts[-1] = f"{texts[-1]}\n{piece}"  # a stray line belongs with its neighbour
            else:
                texts.append(piece)
    passages: list[Passage] = []
    for text in texts:
        fp = fingerprint(text)
        if fp:
            passages.append(Passage(passage_id(text, fp), doc_id, len(passages), text, detect_lang(text), fp,
                                    sentence_spans(text)))
    return passages


def _block_pieces(block: Block, max_chars: int) -> list[str]:
    """The block's text in pieces of at most max_chars, its heading on a line before the first."""
    if not block.heading:
        return split_paragraph(block.text, max_chars)
    room = max_chars - len(block.heading) - 1  # the heading and its newline share the first piece
    if room < MIN_PIECE:
        # too long a heading would leave the text only crumbs: it stands alone, cut like any text
        return split_paragraph(block.heading, max_chars) + [p for p in split_paragraph(block.text, max_chars)
                                                            if p.strip()]
    pieces = split_paragraph(block.text, room) or [""]  # a long run of spaces has no piece
    return [f"{block.heading}\n{pieces[0]}", *pieces[1:]]


def passage_sentences(text: str, min_chars: int = 12) -> list[str]:
    """A passage's sentences for sentence-level vectors; fragments join their neighbour.

    A one-sentence passage returns [] : its passage vector already is its sentence vector.
    """
    units = []
    for group in _sentence_groups(text, min_chars):
        unit = group[0][1]
        for _, sentence in group[1:]:
            unit = f"{unit}{'' if _joins_tight(unit, sentence) else ' '}{sentence}"
        units.append(unit)
    return units


def sentence_spans(text: str, min_chars: int = 12) -> list[tuple[int, int]]:
    """Character spans of passage_sentences(text) within text (one span per sentence, same order)."""
    return [(group[0][0], group[-1][0] + len(group[-1][1])) for group in _sentence_groups(text, min_chars)]


def _sentence_groups(text: str, min_chars: int) -> list[list[tuple[int, str]]]:
    """Sentences as (offset in text, stripped sentence), fragments grouped with their neighbour."""
    groups: list[list[tuple[int, str]]] = []
    line_start = 0
    for line in text.split("\n"):
        cursor = 0
        for raw in split_sentences(line):
            sentence = raw.strip()
            found = line.find(sentence, cursor) if sentence else -1
            offset = line_start + (found if found >= 0 else cursor)
            cursor = (found if found >= 0 else cursor) + len(sentence)
            if groups and (content_len(sentence) < min_chars or _group_len(groups[-1]) < min_chars):
                groups[-1].append((offset, sentence))
            elif sentence:
                groups.append([(offset, sentence)])
        line_start += len(line) + 1
    return groups if len(groups) > 1 else []


def _group_len(group: list[tuple[int, str]]) -> int:
    return sum(content_len(sentence) for _, sentence in group)


def split_paragraph(text: str, max_chars: int) -> list[str]:
    """Balanced pieces of at most ~max_chars, cut at sentence ends (never inside one if avoidable)."""
    max_chars = max(max_chars, MIN_PIECE)
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
