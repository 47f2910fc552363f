"""The REST routes: thin HTTP wrappers around search_api.service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from search_api import schemas, service
from search_api.pages import render_article
from search_api.reload import IndexWatcher, SearchUnavailableError
from search_api.search import ArticleNotFoundError, Searcher

ERRORS: dict[int | str, dict] = {422: {"model": schemas.ErrorBody}, 503: {"model": schemas.ErrorBody}}
router = APIRouter()


def searcher_of(request: Request) -> Searcher:
    """The live searcher, or 503 saying why there is none."""
    watcher: IndexWatcher = request.app.state.watcher
    try:
        return watcher.live(request.app.state.settings.watch_index)
    except SearchUnavailableError as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from None


def links_of(request: Request) -> service.Links:
    """Citation URLs: the configured public address, else the address this request came to."""
    return service.Links(request.app.state.settings.public_url or str(request.base_url).rstrip("/"))


def as_json(model: BaseModel) -> Response:
    # The model was validated when it was built; FastAPI would validate and encode it a second time
    # (about 1 ms of a 17 ms query). response_model still documents the schema.
    return Response(content=model.model_dump_json(), media_type="application/json")


@router.get("/health", response_model=schemas.Health, responses=ERRORS)
def health(request: Request) -> schemas.Health:
    searcher = searcher_of(request)
    return schemas.Health(status="ok", passages=searcher.size, articles=searcher.n_articles,
                          models={n: m["model_id"] for n, m in searcher.manifest["models"].items()},
                          built_at=searcher.manifest.get("built_at"))


@router.get("/search", response_model=schemas.SearchResponse, responses=ERRORS)
def search_get(request: Request, params: Annotated[schemas.SearchRequest, Query()]) -> Response:
    return run_search(request, params)


@router.post("/search", response_model=schemas.SearchResponse, responses=ERRORS)
def search_post(request: Request, body: schemas.SearchRequest) -> Response:
    return run_search(request, body)


def run_search(request: Request, params: schemas.SearchRequest) -> Response:
    searcher = searcher_of(request)
    with request.app.state.search_slots:  # on 2 cores, 32 searches at once only add memory and latency
        return as_json(service.search(searcher, params, links_of(request)))


@router.post("/context", response_model=schemas.ContextResponse, responses=ERRORS)
def context(request: Request, body: schemas.ContextRequest) -> Response:
    """Prompt-ready context: the best passages as numbered blocks `[n] title (date)` under `max_chars`,
    each with its offsets in the article's text and the sentence that best answers the question."""
    searcher = searcher_of(request)
    with request.app.state.search_slots:
        return as_json(service.context(searcher, body, links_of(request)))


@router.get("/articles/{doc_id}", responses={404: {"model": schemas.ErrorBody}, **ERRORS},
            response_model=schemas.ArticlePublic)
def article(request: Request, doc_id: str, format: str | None = None,
            offset: Annotated[int, Query(ge=0, description="first passage of the window (0-based)")] = 0,
            limit: Annotated[int, Query(ge=1, le=schemas.MAX_ARTICLE_PAGE,
                                        description="passages in the window")] = schemas.ARTICLE_PAGE):
    """The article's passages from `offset` on, as a page or (format=json) as JSON with its whole text."""
    searcher = searcher_of(request)
    try:
        if format == "json" or "application/json" in request.headers.get("accept", ""):
            return as_json(service.article(searcher, doc_id, offset, limit, links_of(request)))
        row, passages, total = searcher.article(doc_id, offset, limit)
    except ArticleNotFoundError:
        raise HTTPException(status_code=404, detail=f"no article {doc_id!r}") from None
    return HTMLResponse(render_article(row, passages, offset=offset, limit=limit, total=total))


@router.post("/admin/reload", response_model=schemas.ReloadResult, responses={403: {"model": schemas.ErrorBody},
                                                                              **ERRORS})
def reload(request: Request) -> schemas.ReloadResult:
    """Load the index that `index/current` points at now (a bad one is refused, the old one stays).

    Only with NEWSSEARCH_API_KEY set (send the key): without one, anybody could make the server load."""
    if not request.app.state.settings.api_key:
        raise HTTPException(status_code=403, detail="/admin/reload is disabled: set NEWSSEARCH_API_KEY to enable it")
    watcher: IndexWatcher = request.app.state.watcher
    swapped = watcher.reload()
    searcher_of(request)
    return schemas.ReloadResult(reloaded=swapped, serving=watcher.loaded_target or "", refused=watcher.refused_target)
