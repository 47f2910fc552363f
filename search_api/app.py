"""FastAPI application: settings, models and the index loaded once in the lifespan, middleware, routes."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import threading
from collections.abc import Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.trustedhost import TrustedHostMiddleware
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from indexer.embed import Embedder, load_embedder
from indexer.store import IndexNotFoundError, live_dir
from search_api import mcp_server, routes, service
from search_api.config import Settings, get_settings
from search_api.middleware import NOSNIFF, ApiKeyMiddleware, BodyLimitMiddleware, SecurityHeadersMiddleware
from search_api.reload import IndexWatcher
from search_api.search import Searcher

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
        app.state.watcher = IndexWatcher(settings.index_dir, lambda: open_searcher(settings, models))
        try:
            live_dir(settings.index_dir)
        except IndexNotFoundError as exc:
            app.state.watcher.error = str(exc)
            log.error("%s", exc)
        app.state.watcher.reload()
        async with mcp.session_manager.run():  # the MCP endpoint's task group (run once, hence one server per app)
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
                           allow_headers=["authorization", "content-type", "x-api-key", "mcp-protocol-version"])
    if settings.allowed_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))
    app.add_middleware(SecurityHeadersMiddleware)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def home() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.include_router(routes.router)
    # MCP over streamable HTTP: a route inside the middleware above, so the API key and host checks apply to it
    mcp = mcp_server.build_server(lambda: app.state.watcher.live(settings.watch_index),
                                  service.Links(settings.public_url), slots=lambda: app.state.search_slots)
    # Starlette types add_route for request handlers; a Route serves any other endpoint, as here, as an ASGI app
    app.add_route("/mcp", mcp_server.http_app(mcp), include_in_schema=False)  # type: ignore[arg-type]
    register_docs(app)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        # answered from outside the middleware stack, so the security headers are added here
        return JSONResponse(status_code=500, content={"detail": "internal error"},
                            headers={"x-content-type-options": NOSNIFF})

    return app


def open_searcher(settings: Settings, models: Mapping[str, Embedder]) -> Searcher:
    """The searcher over settings.index_dir's live build, configured as the settings say."""
    return Searcher(settings.index_dir, models, per_article=settings.per_article, candidates=settings.candidates,
                    qdrant_url=settings.qdrant_url)


def load_models(specs: tuple[str, ...], threads: int | None = None) -> dict[str, Embedder]:
    models = [load_embedder(spec, threads) for spec in specs]
    return {m.name: m for m in models}


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
