"""Request and response models of the search API; limits live here so bad input is a clear 422."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field, field_validator

MAX_QUERY_CHARS = 2000
MAX_ALSO_IN = 10  # a boilerplate passage can sit in thousands of articles: list a few, count the rest
ARTICLE_PAGE = 200  # passages per article window unless `limit` says otherwise
MAX_ARTICLE_PAGE = 1000
Lang = Literal["en", "zh-Hans", "zh-Hant"]


class SearchRequest(BaseModel):
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
    also_in: list[OtherOccurrence] = Field(default_factory=list, max_length=MAX_ALSO_IN,
                                           description=f"other articles with this passage (at most {MAX_ALSO_IN})")
    also_in_total: int = Field(0, description="how many other articles have this passage")


class SearchResponse(BaseModel):
    query: str
    mode: str
    took_ms: float
    results: list[Hit]


class ArticlePassage(BaseModel):
    position: int
    passage_id: str
    text: str


class ArticlePublic(BaseModel):
    doc_id: str
    title: str | None
    date: str | None
    lang: str
    source: SourceRef
    total: int = Field(description="passages in the whole article")
    offset: int = Field(description="index of the first passage in this window")
    limit: int = Field(description="most passages a window holds")
    next_offset: int | None = Field(description="offset of the next window, or null at the end")
    passages: list[ArticlePassage] = Field(description="the window's passages in article order")


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
