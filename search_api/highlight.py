"""Mark the query terms found in a passage, in either Chinese script."""

from __future__ import annotations

import html
import unicodedata

from indexer.normalize import to_simplified


def _char_normal_form(text: str) -> tuple[str, list[int]]:
    """Lower-case Simplified NFKC form of `text` with, per normalised char, its offset in `text`."""
    whole = unicodedata.normalize("NFKC", text)
    if len(whole) == len(text):  # the usual case: every char maps to one char, offsets are unchanged
        simplified = to_simplified(whole)
        return (simplified if len(simplified) == len(whole) else whole).lower(), list(range(len(text)))
    chars: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        for out in unicodedata.normalize("NFKC", ch):
            chars.append(out)
            offsets.append(i)
    simplified = to_simplified("".join(chars))
    if len(simplified) != len(chars):  # a phrase-level conversion changed length: match without it
        simplified = "".join(chars)
    return simplified.lower(), offsets


def match_spans(text: str, terms: list[str]) -> list[tuple[int, int]]:
    """Non-overlapping [start, end) spans of `text` where any term occurs, longest terms first."""
    norm, offsets = _char_normal_form(text)
    taken = [False] * len(norm)
    spans: list[tuple[int, int]] = []
    unique = {t for t in terms if t.strip()}
    # Single characters are jieba's sub-word fallout; mark them only when nothing longer is asked for.
    min_len = 2 if any(len(t) > 1 for t in unique) else 1
    for term in sorted(unique, key=len, reverse=True):
        if len(term) < min_len:
            continue
        start = norm.find(term)
        while start != -1:
            end = start + len(term)
            if not any(taken[start:end]) and _word_bounded(norm, start, end, term):
                taken[start:end] = [True] * (end - start)
                spans.append((offsets[start], offsets[end - 1] + 1))
            start = norm.find(term, end)
    return _merge(sorted(spans))


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _word_bounded(norm: str, start: int, end: int, term: str) -> bool:
    # Latin terms must match whole words ("us" is not inside "bonus").
    if not term.isascii():
        return True
    before = norm[start - 1] if start else " "
    after = norm[end] if end < len(norm) else " "
    return not (before.isascii() and before.isalnum()) and not (after.isascii() and after.isalnum())


def highlight(text: str, spans: list[tuple[int, int]]) -> str:
    """HTML-escaped text with <mark> around each span."""
    out, pos = [], 0
    for start, end in spans:
        out.append(html.escape(text[pos:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)
