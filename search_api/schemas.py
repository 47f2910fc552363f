"""Request and response models of the search API; limits live here so bad input is a clear 422."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_QUERY_CHARS = 2000
MAX_ALSO_IN = 10  # a boilerplate passage can sit in thousands of articles: list a few, count the rest
ARTICLE_PAGE = 200  # passages per article window unless `limit` says otherwise
MAX_ARTICLE_PAGE = 1000
MAX_CONTEXT_CHARS = 100_000
Lang = Literal["en", "zh-Hans", "zh-Hant"]


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt filter must not silently search everything

    q: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="query in Chinese (either script) or English")
    k: int = Field(10, ge=1, le=100, description="number of passages to return")
    mode: Literal["hybrid", "dense", "lexical"] = Field("hybrid", description="retrieval signals to use")
    lang: Lang | None = Field(None, description="only passages in this language")
    source: str | None = Field(None, max_length=200,
                               description="only articles whose path, source or URL contains this")
    date_from: dt.date | None = Field(None, description="only articles dated on or after (YYYY-MM-DD)")
    date_to: dt.date | None = Field(None, description="only articles dated on or before (YYYY-MM-DD)")

    @field_validator("q")
    @classmethod
    def q_has_text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("q must contain at least one non-whitespace character")
        return value

    @model_validator(mode="after")
    def dates_in_order(self) -> SearchRequest:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(f"date_from {self.date_from} is after date_to {self.date_to}")
        return self


class ContextRequest(SearchRequest):
    max_chars: int = Field(6000, ge=200, le=MAX_CONTEXT_CHARS,
                           description="budget of the whole `context` string, in characters")
    neighbors: int = Field(0, ge=0, le=2, description="adjacent passages of the same article to add around each "
                           "hit (they add text, never reorder hits; touching windows merge)")
    per_article: int | None = Field(None, ge=1, le=100, description="at most this many hits per article "
                                    "(default: the server's setting)")
    min_score: float | None = Field(None, description="leave out hits scoring below this")


class SourceRef(BaseModel):
    path: str
    url: str | None = Field(description="the original's address: an absolute http(s) URL, or null")


class OtherOccurrence(BaseModel):
    doc_id: str
    title: str | None
    link: str


class Hit(BaseModel):
    rank: int
    score: float
    passage_id: str
    text: str = Field(description="the passage as written in the article")
    highlight: str = Field(description="HTML-escaped text with <mark> around matched query terms")
    matches: list[tuple[int, int]] = Field(description="[start, end) character offsets of matched terms in text")
    doc_id: str
    title: str | None
    date: str | None
    lang: str
    source: SourceRef
    link: str = Field(description="article page on this server, anchored at the passage")
    url: str = Field(description="where to cite: the article's own http(s) address, else the absolute address "
                     "of `link` (NEWSSEARCH_PUBLIC_URL, or the request's base URL)")
    also_in: list[OtherOccurrence] = Field(default_factory=list, max_length=MAX_ALSO_IN,
                                           description=f"other articles with this passage (at most {MAX_ALSO_IN})")
    also_in_total: int = Field(0, description="how many other articles have this passage")


class SearchResponse(BaseModel):
    query: str
    mode: str
    took_ms: float
    results: list[Hit]


class Span(BaseModel):
    start: int = Field(description="code-point offset of the first character")
    end: int = Field(description="code-point offset after the last character")


class ArticlePassage(BaseModel):
    position: int
    passage_id: str
    text: str
    span: Span = Field(description="where the passage sits in the article's `text`")


class ArticlePublic(BaseModel):
    doc_id: str
    title: str | None
    date: str | None
    lang: str
    source: SourceRef
    url: str = Field(description="where to cite the article (as in search results)")
    text: str = Field(description="the whole cleaned article: its passages in order, separated by a blank line")
    total: int = Field(description="passages in the whole article")
    offset: int = Field(description="index of the first passage in this window")
    limit: int = Field(description="most passages a window holds")
    next_offset: int | None = Field(description="offset of the next window, or null at the end")
    passages: list[ArticlePassage] = Field(description="the window's passages in article order")


class Answer(BaseModel):
    text: str = Field(description="the passage's sentence that best answers the query")
    start: int = Field(description="offset of the sentence in the passage's `text`")
    end: int


class ContextPassage(BaseModel):
    n: int = Field(description="the block's number in `context`, [n]")
    passage_id: str = Field(description="the hit this block was built around")
    passage_ids: list[str] = Field(description="every passage in the block, in article order (hits and neighbours)")
    doc_id: str
    title: str | None
    date: str | None
    lang: str
    url: str
    link: str
    text: str = Field(description="the block's text: article.text[span.start:span.end]")
    score: float
    matches: list[tuple[int, int]] = Field(description="[start, end) offsets of matched query terms in text")
    span: Span = Field(description="offsets in the `text` of GET /articles/{doc_id}?format=json")
    answer: Answer


class ContextSource(BaseModel):
    doc_id: str
    title: str | None
    date: str | None
    url: str
    n: list[int] = Field(description="the numbers of this article's blocks in `context`")


class ContextResponse(BaseModel):
    query: str
    took_ms: float
    truncated: bool = Field(description="hits (or their neighbours) were left out to fit max_chars")
    context: str = Field(description="numbered blocks '[n] title (date)\\ntext', ready for a prompt")
    passages: list[ContextPassage]
    sources: list[ContextSource]


class DocumentMetadata(BaseModel):
    doc_id: str
    date: str | None
    lang: str
    source: str | None = Field(description="the article's source (publisher or file) as recorded at ingest")


class Document(BaseModel):
    id: str = Field(description="the id asked for: a passage id or a doc id")
    title: str
    text: str = Field(description="the whole cleaned article")
    url: str
    metadata: DocumentMetadata


class Health(BaseModel):
    status: Literal["ok"]
    passages: int
    articles: int
    models: dict[str, str]
    built_at: str | None


class ReloadResult(BaseModel):
    reloaded: bool
    serving: str
    refused: str | None = None


class ErrorBody(BaseModel):
    detail: str
