"""A framework-free client of a running server's `POST /search`, shared by the RAG retrievers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import httpx

# What a retriever may narrow or override per call; anything else is a caller's typo and is refused.
SEARCH_OPTIONS = ("k", "lang", "source", "date_from", "date_to")
# LangChain's invoke() passes `verbose` through to the retriever with the caller's keyword arguments.
IGNORED_OPTIONS = frozenset({"verbose"})


class NewsSearchError(RuntimeError):
    """The server refused a search (status and its `detail`) or could not be reached (status None)."""

    def __init__(self, message: str, status: int | None = None, detail: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


def search_body(query: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body for `POST /search`: options left as None are omitted, so the server's defaults apply."""
    unknown = set(options) - set(SEARCH_OPTIONS) - IGNORED_OPTIONS
    if unknown:
        raise TypeError(f"unknown search option(s) {sorted(unknown)}; expected some of {list(SEARCH_OPTIONS)}")
    body: dict[str, Any] = {"q": query}
    for name in SEARCH_OPTIONS:
        value = options.get(name)
        if value is not None:
            body[name] = value.isoformat() if isinstance(value, dt.date) else value
    return body


def headers(api_key: str | None) -> dict[str, str]:
    return {"X-API-Key": api_key} if api_key else {}


def _detail(response: httpx.Response) -> str:
    """The server's `detail` as one line: a string for our own errors, a list of field errors for a 422."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return response.text[:500] or response.reason_phrase
    if isinstance(detail, list):  # FastAPI's validation errors: [{"loc": ["body", "k"], "msg": ...}, ...]
        return "; ".join(f"{'.'.join(str(p) for p in e.get('loc', [])[1:]) or 'request'}: {e.get('msg')}"
                         if isinstance(e, dict) else str(e) for e in detail)
    return str(detail) if detail is not None else response.reason_phrase


def results(response: httpx.Response) -> list[dict[str, Any]]:
    """The response's result list, or NewsSearchError naming the status and the server's detail."""
    if response.is_success:
        return response.json()["results"]
    detail = _detail(response)
    hint = " (check the retriever's api_key)" if response.status_code == 401 else ""
    raise NewsSearchError(f"news search server at {response.request.url} answered HTTP {response.status_code}"
                          f"{hint}: {detail}", status=response.status_code, detail=detail)


def metadata(result: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    """What a RAG app needs to cite a passage: ids, article, score and absolute links."""
    source = result.get("source") or {}
    # Servers from before `url` was added give only the server-relative link.
    url = result.get("url") or f"{base_url}{result['link']}"
    return {"passage_id": result["passage_id"], "doc_id": result["doc_id"], "title": result.get("title"),
            "date": result.get("date"), "lang": result.get("lang"), "score": result["score"], "url": url,
            "link": result["link"], "source_url": source.get("url"), "rank": result["rank"]}


def search(base_url: str, body: dict[str, Any], api_key: str | None, timeout: float) -> list[dict[str, Any]]:
    try:
        response = httpx.post(f"{base_url}/search", json=body, headers=headers(api_key), timeout=timeout)
    except httpx.TransportError as exc:
        raise NewsSearchError(f"cannot reach the news search server at {base_url}: {exc!r}") from exc
    return results(response)


async def asearch(base_url: str, body: dict[str, Any], api_key: str | None, timeout: float) -> list[dict[str, Any]]:
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(f"{base_url}/search", json=body, headers=headers(api_key))
    except httpx.TransportError as exc:
        raise NewsSearchError(f"cannot reach the news search server at {base_url}: {exc!r}") from exc
    return results(response)
