"""What every front end calls: search, prompt-ready context and whole articles (REST, CLI and MCP alike)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from indexer.lexical import words
from indexer.links import safe_url
from indexer.store import ArticleRow
from search_api import schemas
from search_api.context import pack
from search_api.highlight import highlight, match_spans
from search_api.search import Filters, Hit, Outcome, Searcher


@dataclass(frozen=True)
class Links:
    """How citations leave the server: an article's own http(s) address, else this server's page."""

    base_url: str | None = None  # e.g. "https://news.example.org"; None: links stay relative to this server

    def url(self, article: ArticleRow, position: int | None = None) -> str:
        return safe_url(article.url) or self.absolute(link(article.doc_id, position))

    def absolute(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}{path}" if self.base_url else path


def link(doc_id: str, position: int | None = None) -> str:
    return f"/articles/{doc_id}" + (f"#p{position}" if position is not None else "")


def filters_of(request: schemas.SearchRequest) -> Filters:
    return Filters(lang=request.lang, source=request.source,
                   date_from=request.date_from.isoformat() if request.date_from else None,
                   date_to=request.date_to.isoformat() if request.date_to else None)


def run(searcher: Searcher, request: schemas.SearchRequest, per_article: int | None = None) -> tuple[Outcome, float]:
    """The search and how long it took, in ms."""
    started = time.perf_counter()
    outcome = searcher.search(request.q, k=request.k, mode=request.mode, filters=filters_of(request),
                              per_article=per_article)
    return outcome, (time.perf_counter() - started) * 1000


def search(searcher: Searcher, request: schemas.SearchRequest, links: Links) -> schemas.SearchResponse:
    outcome, took = run(searcher, request)
    return schemas.SearchResponse(query=request.q, mode=request.mode, took_ms=round(took, 2),
                                  results=[public_hit(h, i, searcher, links) for i, h in enumerate(outcome.hits, 1)])


def public_hit(hit: Hit, rank: int, searcher: Searcher, links: Links) -> schemas.Hit:
    art = hit.article
    also = [schemas.OtherOccurrence(doc_id=d, title=searcher.article_meta(d).title, link=link(d, pos))
            for d, pos in hit.also_in[:schemas.MAX_ALSO_IN]]
    return schemas.Hit(rank=rank, score=round(hit.score, 4), passage_id=hit.passage_id, text=hit.text,
                       highlight=highlight(hit.text, hit.spans), matches=hit.spans, doc_id=hit.doc_id,
                       title=art.title, date=art.date, lang=hit.lang,
                       source=schemas.SourceRef(path=art.path, url=safe_url(art.url)),
                       link=link(hit.doc_id, hit.position), url=links.url(art, hit.position), also_in=also,
                       also_in_total=len(hit.also_in))


def context(searcher: Searcher, request: schemas.ContextRequest, links: Links) -> schemas.ContextResponse:
    """The best passages as numbered blocks under a character budget, each with its citation offsets
    and answer sentence (see search_api/context.py for the packing)."""
    outcome, took = run(searcher, request, request.per_article)
    hits = [h for h in outcome.hits if request.min_score is None or h.score >= request.min_score]
    packed = pack(searcher, outcome, hits, neighbors=request.neighbors, max_chars=request.max_chars)
    terms = words(request.q)
    passages: list[schemas.ContextPassage] = []
    sources: dict[str, schemas.ContextSource] = {}
    for n, block in enumerate(packed.blocks, 1):
        art, hit = block.article, block.hits[0]
        passages.append(schemas.ContextPassage(
            n=n, passage_id=hit.passage_id, passage_ids=block.passage_ids, doc_id=hit.doc_id, title=art.title,
            date=art.date, lang=hit.lang, url=links.url(art, hit.position), link=link(hit.doc_id, hit.position),
            text=block.text, score=round(hit.score, 4), matches=match_spans(block.text, terms),
            span=schemas.Span(start=block.start, end=block.end),
            answer=schemas.Answer(text=block.text[block.answer[0]:block.answer[1]], start=block.answer[0],
                                  end=block.answer[1])))
        source = sources.setdefault(hit.doc_id, schemas.ContextSource(
            doc_id=hit.doc_id, title=art.title, date=art.date, url=links.url(art), n=[]))
        source.n.append(n)
    return schemas.ContextResponse(query=request.q, took_ms=round(took, 2), truncated=packed.truncated,
                                   context=packed.context, passages=passages, sources=list(sources.values()))


def article(searcher: Searcher, doc_id: str, offset: int, limit: int, links: Links) -> schemas.ArticlePublic:
    """A window of the article's passages, with the whole cleaned text they are cut from."""
    whole = searcher.article_text(doc_id)
    art, window, total = whole.article, whole.parts[offset:offset + limit], len(whole.parts)
    return schemas.ArticlePublic(
        doc_id=art.doc_id, title=art.title, date=art.date, lang=art.lang,
        source=schemas.SourceRef(path=art.path, url=safe_url(art.url)), url=links.url(art), text=whole.text,
        total=total, offset=offset, limit=limit, next_offset=offset + limit if offset + limit < total else None,
        passages=[schemas.ArticlePassage(position=p.position, passage_id=p.passage_id, text=whole.text[p.start:p.end],
                                         span=schemas.Span(start=p.start, end=p.end)) for p in window])


def document(searcher: Searcher, id: str, links: Links) -> schemas.Document:
    """The whole article for a doc id or a passage id (a passage's URL points at the passage)."""
    doc_id = id if searcher.reader.article(id) is not None else searcher.doc_of(id)
    whole = searcher.article_text(doc_id)
    art = whole.article
    position = next((p.position for p in whole.parts if p.passage_id == id), None)
    return schemas.Document(id=id, title=art.title or doc_id, text=whole.text, url=links.url(art, position),
                            metadata=schemas.DocumentMetadata(doc_id=doc_id, date=art.date, lang=art.lang,
                                                              source=art.source or art.path))
