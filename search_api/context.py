"""Pack ranked hits into numbered context blocks under a character budget, never cutting a sentence."""

from __future__ import annotations

from dataclasses import dataclass, field

from indexer.chunk import sentence_spans
from indexer.store import ArticleRow
from search_api.search import ArticleText, Hit, Outcome, Searcher

SEPARATOR = "\n\n"  # between blocks of the context string


@dataclass
class Window:
    """Consecutive passages of one article around one or more hits (hits in rank order)."""

    doc_id: str
    lo: int  # index of the first passage in the article's parts
    hi: int  # index of the last one
    hits: list[Hit] = field(default_factory=list)


@dataclass(frozen=True)
class Block:
    article: ArticleRow
    hits: list[Hit]
    passage_ids: list[str]
    text: str
    start: int  # offsets of text in the article's whole text
    end: int
    answer: tuple[int, int]  # the first hit's answer sentence, offsets in text


@dataclass(frozen=True)
class Packed:
    blocks: list[Block]
    context: str
    truncated: bool


def windows(hits: list[Hit], texts: dict[str, ArticleText], neighbors: int) -> list[Window]:
    """Each hit with `neighbors` passages either side; windows of one article that overlap or touch
    merge into the earliest one, so neighbours add text without reordering the hits."""
    out: list[Window] = []
    for hit in hits:
        parts = texts[hit.doc_id].parts
        i = next(j for j, p in enumerate(parts) if p.position == hit.position)
        lo, hi = max(0, i - neighbors), min(len(parts) - 1, i + neighbors)
        touching = [w for w in out if w.doc_id == hit.doc_id and lo <= w.hi + 1 and hi >= w.lo - 1]
        if not touching:
            out.append(Window(hit.doc_id, lo, hi, [hit]))
            continue
        first = touching[0]
        for other in touching[1:]:  # the new window bridged two earlier ones
            first.lo, first.hi = min(first.lo, other.lo), max(first.hi, other.hi)
            first.hits += other.hits
            out.remove(other)
        first.lo, first.hi = min(first.lo, lo), max(first.hi, hi)
        first.hits.append(hit)
    return out


def pack(searcher: Searcher, outcome: Outcome, hits: list[Hit], *, neighbors: int, max_chars: int) -> Packed:
    """Blocks in rank order while they fit. A block that does not fit is tried as its first hit alone,
    then as that hit's answer sentence with as many of its neighbouring sentences as fit."""
    texts = {h.doc_id: searcher.article_text(h.doc_id) for h in hits}
    blocks: list[Block] = []
    rendered: list[str] = []
    truncated = False
    for window in windows(hits, texts, neighbors):
        whole = texts[window.doc_id]
        room = max_chars - sum(map(len, rendered)) - len(SEPARATOR) * len(rendered)
        header = heading(len(blocks) + 1, whole.article)
        block = None
        for candidate in variants(searcher, outcome, whole, window):
            if len(header) + 1 + len(candidate.text) <= room:
                block = candidate
                break
            truncated = True
        if block is not None:
            blocks.append(block)
            rendered.append(f"{header}\n{block.text}")
    return Packed(blocks, SEPARATOR.join(rendered), truncated)


def heading(n: int, article: ArticleRow) -> str:
    return f"[{n}] {article.title or article.doc_id}" + (f" ({article.date})" if article.date else "")


def variants(searcher: Searcher, outcome: Outcome, whole: ArticleText, window: Window):
    """The window's block, then smaller ones: the first hit's passage alone, then sentences of it."""
    hit = window.hits[0]
    i = next(j for j, p in enumerate(whole.parts) if p.position == hit.position)
    a, b = searcher.answer(hit.row, outcome)
    yield _block(whole, window.hits, window.lo, window.hi, i, (a, b))
    if window.lo != window.hi:
        yield _block(whole, [hit], i, i, i, (a, b))
    passage = whole.parts[i]
    text = whole.text[passage.start:passage.end]
    for start, end in growing(sentence_spans(text), (a, b)):
        yield Block(whole.article, [hit], [passage.passage_id], text[start:end], passage.start + start,
                    passage.start + end, (a - start, b - start))


def _block(whole: ArticleText, hits: list[Hit], lo: int, hi: int, i: int, answer: tuple[int, int]) -> Block:
    start, end = whole.parts[lo].start, whole.parts[hi].end
    shift = whole.parts[i].start - start
    return Block(whole.article, hits, [p.passage_id for p in whole.parts[lo:hi + 1]], whole.text[start:end],
                 start, end, (answer[0] + shift, answer[1] + shift))


def growing(spans: list[tuple[int, int]], answer: tuple[int, int]) -> list[tuple[int, int]]:
    """Whole-sentence excerpts containing the answer, largest first, down to the answer alone."""
    if not spans:
        return [answer]
    at = next((k for k, (s, e) in enumerate(spans) if s <= answer[0] < e), 0)
    lo = hi = at
    excerpts = [(spans[at][0], spans[at][1])]
    while lo > 0 or hi < len(spans) - 1:  # add the next sentence after, then the one before, alternately
        if hi < len(spans) - 1 and (hi - at <= at - lo or lo == 0):
            hi += 1
        else:
            lo -= 1
        excerpts.append((spans[lo][0], spans[hi][1]))
    return excerpts[::-1][1:]  # the whole passage was already tried
