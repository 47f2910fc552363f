"""LangChain retriever over a running news search server (HTTP): `pip install newssearch[langchain]`.

    from search_api.langchain_retriever import NewsSearchRetriever

    retriever = NewsSearchRetriever(base_url="http://127.0.0.1:8000", k=5, lang="zh-Hans")
    docs = retriever.invoke("中国向瓦努阿图派遣警务专家", k=3)  # per-call k and filters override the fields

The RAG app needs no index or models of its own; `search_api` itself never imports langchain.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import Field, field_validator

from search_api import remote
from search_api.remote import NewsSearchError

__all__ = ["NewsSearchError", "NewsSearchRetriever"]


class NewsSearchRetriever(BaseRetriever):
    """Passages from `POST {base_url}/search` as Documents (id = passage_id, citation fields in metadata).

    `invoke(query, k=..., lang=..., source=..., date_from=..., date_to=...)` overrides the fields for one call.
    Refusals (401, 403, 422, 503, ...) raise NewsSearchError naming the status and the server's detail.
    """

    base_url: str = Field(description="the server, e.g. http://127.0.0.1:8000")
    k: int = Field(8, ge=1, description="passages to return")
    api_key: str | None = Field(None, repr=False, description="sent as X-API-Key when the server requires one")
    lang: str | None = Field(None, description="only passages in this language: en, zh-Hans or zh-Hant")
    source: str | None = Field(None, description="only articles whose path, source or URL contains this")
    date_from: dt.date | None = Field(None, description="only articles dated on or after")
    date_to: dt.date | None = Field(None, description="only articles dated on or before")
    timeout: float = Field(30.0, gt=0, description="seconds per request")

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    def _body(self, query: str, overrides: dict[str, Any]) -> dict[str, Any]:
        return remote.search_body(query, {**{name: getattr(self, name) for name in remote.SEARCH_OPTIONS},
                                          **overrides})

    def _documents(self, results: list[dict[str, Any]]) -> list[Document]:
        return [Document(page_content=r["text"], id=r["passage_id"], metadata=remote.metadata(r, self.base_url))
                for r in results]

    # **overrides makes BaseRetriever pass invoke()'s keyword arguments through (its _expects_other_args).
    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                **overrides: Any) -> list[Document]:
        body = self._body(query, overrides)
        return self._documents(remote.search(self.base_url, body, self.api_key, self.timeout))

    async def _aget_relevant_documents(self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun,
                                       **overrides: Any) -> list[Document]:
        body = self._body(query, overrides)
        return self._documents(await remote.asearch(self.base_url, body, self.api_key, self.timeout))
