"""FastAPI application: search, article pages, health, and the web page at /."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import threading
import time
from collections.abc import Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.trustedhost import TrustedHostMiddleware
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from indexer.embed import Embedder, load_embedder
from indexer.links import safe_url
from indexer.store import IndexNotFoundError, live_dir
from search_api import schemas
from search_api.config import Settings, get_settings
from search_api.highlight import highlight
from search_api.middleware import NOSNIFF, ApiKeyMiddleware, BodyLimitMiddleware, SecurityHeadersMiddleware
from search_api.pages import render_article
from search_api.reload import IndexWatcher
from search_api.search import ArticleNotFoundError, Filters, Hit, Searcher

log = logging.getLogger("search_api")
STATIC = Path(__file__).parent / "static"
DOCS_CDN = "https://cdn.jsdelivr.net"


def create_app(settings: Settings | None = None, embedders: Mapping[str, Embedder] | None = None) -> FastAPI:
    """The app; tests pass settings and small fake embedders, production loads the real models."""

    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        models = embedders if embedders is not None else load_models(settings.models, settings.embed_threads)
        app.state.settings = settings
        app.state.search_slots = threading.BoundedSemaphore(settings.concurrent_searches)
        app.state.watcher = IndexWatcher(settings.index_dir, lambda: Searcher(
            settings.index_dir, models, per_article=settings.per_article, candidates=settings.candidates,
            qdrant_url=settings.qdrant_url))
        try:
            live_dir(settings.index_dir)
        except IndexNotFoundError as exc:
            app.state.watcher.error = str(exc)
            log.error("%s", exc)
        app.state.watcher.reload()
        yield

    app = FastAPI(title="News Search", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Multilingual semantic search over a Chinese news archive.")
    # Each add_middleware wraps the app so far: the last one added sees a request first. The key is checked
    # before a body is read; CORS answers preflights and labels refusals so a page on another origin can
    # read them; the security headers go on every response, refusals included.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.api_key:
        app.add_middleware(ApiKeyMiddleware, api_key=settings.api_key, shell=STATIC / "article.html")
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["authorization", "content-type", "x-api-key"])
    if settings.allowed_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))
    app.add_middleware(SecurityHeadersMiddleware)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    register_routes(app)
    register_docs(app)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        # answered from outside the middleware stack, so the security headers are added here
        return JSONResponse(status_code=500, content={"detail": "internal error"},
                            headers={"x-content-type-options": NOSNIFF})

    return app


def load_models(specs: tuple[str, ...], threads: int | None = None) -> dict[str, Embedder]:
    models = [load_embedder(spec, threads) for spec in specs]
    return {m.name: m for m in models}


def searcher_of(request: Request) -> Searcher:
    """The live searcher; a newly published index is picked up in the background."""
    watcher: IndexWatcher = request.app.state.watcher
    if request.app.state.settings.watch_index and watcher.stale():
        if watcher.searcher is None:
            watcher.reload()
        else:
            watcher.reload_in_background()
    if watcher.searcher is None:
        raise HTTPException(status_code=503, detail=unavailable(watcher))
    return watcher.searcher


def unavailable(watcher: IndexWatcher) -> str:
    """Why nothing is served, without file-system paths: the server log has the full error."""
    if watcher.target() is None:
        return "search unavailable: no index has been built yet (build one with `python -m indexer build`)"
    if watcher.refused_target is not None:
        return "search unavailable: the index could not be loaded (see the server log)"
    return "search unavailable: the index is not loaded yet"


def register_routes(app: FastAPI) -> None:
    errors = {422: {"model": schemas.ErrorBody}, 503: {"model": schemas.ErrorBody}}

    @app.get("/", include_in_schema=False)
    def home() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.post("/admin/reload", response_model=schemas.ReloadResult,
              responses={403: {"model": schemas.ErrorBody}, **errors})
    def reload(request: Request) -> schemas.ReloadResult:
        """Load the index that `index/current` points at now (a bad one is refused, the old one stays).

        Only with NEWSSEARCH_API_KEY set (send the key): without one, anybody could make the server load."""
        if not request.app.state.settings.api_key:
            raise HTTPException(status_code=403, detail="/admin/reload is disabled: set NEWSSEARCH_API_KEY to "
                                                        "enable it")
        watcher: IndexWatcher = request.app.state.watcher
        swapped = watcher.reload()
        searcher_of(request)
        return schemas.ReloadResult(reloaded=swapped, serving=watcher.loaded_target or "",
                                    refused=watcher.refused_target)

    @app.get("/health", response_model=schemas.Health, responses=errors)
    def health(request: Request) -> schemas.Health:
        searcher = searcher_of(request)
        return schemas.Health(status="ok", passages=searcher.size, articles=len(searcher.articles),
                              models={n: m["model_id"] for n, m in searcher.manifest["models"].items()},
                              built_at=searcher.manifest.get("built_at"))

    @app.get("/search", response_model=schemas.SearchResponse, responses=errors)
    def search_get(request: Request, params: Annotated[schemas.SearchRequest, Query()]) -> Response:
        return as_json(run_search(request, params))

    @app.post("/search", response_model=schemas.SearchResponse, responses=errors)
    def search_post(request: Request, body: schemas.SearchRequest) -> Response:
        return as_json(run_search(request, body))

    @app.get("/articles/{doc_id}", responses={404: {"model": schemas.ErrorBody}, **errors},
             response_model=schemas.ArticlePublic)
    def article(request: Request, doc_id: str, format: str | None = None,
                offset: Annotated[int, Query(ge=0, description="first passage of the window (0-based)")] = 0,
                limit: Annotated[int, Query(ge=1, le=schemas.MAX_ARTICLE_PAGE,
                                            description="passages in the window")] = schemas.ARTICLE_PAGE):
        """The article's passages from `offset` on, as a page or (format=json) as JSON."""
        searcher = searcher_of(request)
        try:
            row, passages, total = searcher.article(doc_id, offset, limit)
        except ArticleNotFoundError:
            raise HTTPException(status_code=404, detail=f"no article {doc_id!r}") from None
        wants_json = format == "json" or "application/json" in request.headers.get("accept", "")
        if not wants_json:
            return HTMLResponse(render_article(row, passages, offset=offset, limit=limit, total=total))
        return schemas.ArticlePublic(
            doc_id=row.doc_id, title=row.title, date=row.date, lang=row.lang,
            source=schemas.SourceRef(path=row.path, url=safe_url(row.url)),
            total=total, offset=offset, limit=limit, next_offset=offset + limit if offset + limit < total else None,
            passages=[schemas.ArticlePassage(position=p, passage_id=pid, text=t) for p, pid, t in passages])


def register_docs(app: FastAPI) -> None:
    """FastAPI's /docs and /redoc, each with a CSP that admits its CDN assets and its own inline script."""

    def openapi_url(request: Request) -> str:
        return request.scope.get("root_path", "").rstrip("/") + (app.openapi_url or "")

    @app.get("/docs", include_in_schema=False)
    def swagger(request: Request) -> HTMLResponse:
        return with_docs_csp(get_swagger_ui_html(openapi_url=openapi_url(request), title=f"{app.title} - Swagger UI"))

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        return with_docs_csp(get_redoc_html(openapi_url=openapi_url(request), title=f"{app.title} - ReDoc"))


def with_docs_csp(page: HTMLResponse) -> HTMLResponse:
    # Inline scripts are allowed by hash, so only the exact script FastAPI wrote runs; ReDoc injects its
    # styles at run time, hence inline styles (they cannot run code).
    inline = re.findall(rb"<script>(.*?)</script>", page.body, flags=re.S)
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s).digest()).decode()}'" for s in inline)
    page.headers["content-security-policy"] = (
        f"default-src 'none'; script-src {DOCS_CDN} {hashes}; "
        f"style-src {DOCS_CDN} https://fonts.googleapis.com 'unsafe-inline'; font-src https://fonts.gstatic.com; "
        "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; connect-src 'self'; "
        "worker-src blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
    return page


def run_search(request: Request, params: schemas.SearchRequest) -> schemas.SearchResponse:
    searcher = searcher_of(request)
    filters = Filters(lang=params.lang, source=params.source,
                      date_from=params.date_from.isoformat() if params.date_from else None,
                      date_to=params.date_to.isoformat() if params.date_to else None)
    with request.app.state.search_slots:  # on 2 cores, 32 searches at once only add memory and latency
        started = time.perf_counter()
        outcome = searcher.search(params.q, k=params.k, mode=params.mode, filters=filters)
        took = (time.perf_counter() - started) * 1000
    return schemas.SearchResponse(query=params.q, mode=params.mode, took_ms=round(took, 2),
                                  results=[to_public(h, i, searcher) for i, h in enumerate(outcome.hits, 1)])


def as_json(model: schemas.SearchResponse) -> Response:
    # The model was validated when it was built; FastAPI would validate and encode it a second time
    # (about 1 ms of a 17 ms query). response_model still documents the schema.
    return Response(content=model.model_dump_json(), media_type="application/json")


def to_public(hit: Hit, rank: int, searcher: Searcher) -> schemas.Hit:
    art = hit.article
    also = [schemas.OtherOccurrence(doc_id=d, title=searcher.articles[d].title, link=f"/articles/{d}#p{pos}")
            for d, pos in hit.also_in[:schemas.MAX_ALSO_IN]]
    return schemas.Hit(rank=rank, score=round(hit.score, 4), passage_id=hit.passage_id, text=hit.text,
                       highlight=highlight(hit.text, hit.spans), matches=hit.spans, doc_id=hit.doc_id,
                       title=art.title, date=art.date, lang=hit.lang,
                       source=schemas.SourceRef(path=art.path, url=safe_url(art.url)),
                       link=f"/articles/{hit.doc_id}#p{hit.position}", also_in=also,
                       also_in_total=len(hit.also_in))
