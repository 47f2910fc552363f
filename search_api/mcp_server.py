"""The MCP server: read-only search, fetch and retrieve_context tools over search_api.service, on stdio or HTTP."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager, nullcontext
from pathlib import Path
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field, ValidationError, WithJsonSchema
from starlette.requests import Request
from starlette.types import ASGIApp

from search_api import schemas, service
from search_api.reload import IndexWatcher, SearchUnavailableError
from search_api.search import ArticleNotFoundError, Searcher

log = logging.getLogger("search_api.mcp")
NAME = "newssearch"
INSTRUCTIONS = ("Search a Chinese news archive (Simplified and Traditional Chinese, some English) with questions in "
                "Chinese or English. `search` finds passages; `fetch` returns the whole article of a result's id; "
                "`retrieve_context` returns numbered passages ready to quote, to cite as [n] with their url.")
READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)  # a closed archive: nothing is changed
ARGUMENT_NAMES = {"q": "query"}  # the request models' field names as the tools call them
_REQUEST_FIELDS = schemas.ContextRequest.model_json_schema()["properties"]


def like(field: str) -> WithJsonSchema:
    """The REST request model's JSON schema of `field` (description, limits, formats) as a tool argument's: a
    client sees the same rules, and the values are checked once, by the model, when the tool builds its request
    (so a bad value gets the model's short message, not a second validator's)."""
    return WithJsonSchema({k: v for k, v in _REQUEST_FIELDS[field].items() if k not in ("title", "default")})


def default(field: str) -> Any:
    """The REST request's default, so retrieve_context answers as POST /context does."""
    return schemas.ContextRequest.model_fields[field].default


Query = Annotated[str, like("q")]
Lang = Annotated[str | None, like("lang")]
Source = Annotated[str | None, like("source")]
DateFrom = Annotated[str | None, like("date_from")]
DateTo = Annotated[str | None, like("date_to")]
PassageOrDocId = Annotated[str, Field(description="a passage id (a search result's `id`) or an article's doc_id")]


class SearchResult(BaseModel):
    id: str = Field(description="the passage's id: fetch(id) returns its whole article")
    title: str
    url: str = Field(description="where to cite it: the article's own address, else its page on this server")
    text: str = Field(description="the passage")
    score: float
    doc_id: str = Field(description="the article's id")
    date: str | None


class SearchResults(BaseModel):
    results: list[SearchResult]


def build_server(get_searcher: Callable[[], Searcher], links: service.Links,
                 slots: Callable[[], AbstractContextManager[Any]] = nullcontext,
                 lifespan: Callable[[MCPServer], Any] | None = None) -> MCPServer:
    """A fresh server (its HTTP session manager runs once); `get_searcher` raises SearchUnavailableError when no
    index is loaded, `slots` bounds the searches running at once (the REST API's semaphore)."""
    server = keeping_root_logging(lambda: MCPServer(NAME, instructions=INSTRUCTIONS, lifespan=lifespan))

    @server.tool(annotations=READ_ONLY)
    def search(query: Query, ctx: Context, k: Annotated[int, like("k")] = 8, lang: Lang = None,
               source: Source = None, date_from: DateFrom = None, date_to: DateTo = None) -> SearchResults:
        """Find passages of news articles about the query (Chinese in either script, or English), best first.
        Each result's `id` is a passage id: fetch it for the whole article."""
        with tool_errors():
            request = schemas.SearchRequest(q=query, k=k, lang=lang, source=source, date_from=date_from,
                                            date_to=date_to)
            with slots():
                response = service.search(get_searcher(), request, links_for(links, ctx))
        return SearchResults(results=[
            SearchResult(id=h.passage_id, title=h.title or h.doc_id, url=h.url, text=h.text, score=h.score,
                         doc_id=h.doc_id, date=h.date) for h in response.results])

    @server.tool(annotations=READ_ONLY)
    def fetch(id: PassageOrDocId, ctx: Context) -> schemas.Document:
        """The whole article a search result's `id` (a passage id) or a doc_id belongs to, with its metadata."""
        with tool_errors():
            return service.document(get_searcher(), id, links_for(links, ctx))

    register_context_tool(server, get_searcher, links, slots)
    return server


def keeping_root_logging(make: Callable[[], MCPServer]) -> MCPServer:
    """The SDK's constructor calls logging.basicConfig with a rich handler at INFO when the root logger has none:
    every log line and traceback of the process would change format (tracebacks cut to 80 columns in a log file).
    How the process logs is the host's choice (uvicorn's, run_stdio's), so the root logger is put back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        return make()
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def register_context_tool(server: MCPServer, get_searcher: Callable[[], Searcher], links: service.Links,
                          slots: Callable[[], AbstractContextManager[Any]]) -> None:
    @server.tool(annotations=READ_ONLY)
    def retrieve_context(query: Query, ctx: Context, k: Annotated[int, like("k")] = default("k"),
                         lang: Lang = None, source: Source = None, date_from: DateFrom = None,
                         date_to: DateTo = None, max_chars: Annotated[int, like("max_chars")] = default("max_chars"),
                         neighbors: Annotated[int, like("neighbors")] = default("neighbors"),
                         per_article: Annotated[int | None, like("per_article")] = None,
                         min_score: Annotated[float | None, like("min_score")] = None) -> schemas.ContextResponse:
        """Prompt-ready context for a question: the best passages as numbered blocks '[n] title (date)' within
        max_chars, each with its url, its offsets in the article's text and the sentence that best answers the
        question (as the REST API's POST /context). Quote the blocks and cite them as [n]."""
        with tool_errors():
            request = schemas.ContextRequest(q=query, k=k, lang=lang, source=source, date_from=date_from,
                                             date_to=date_to, max_chars=max_chars, neighbors=neighbors,
                                             per_article=per_article, min_score=min_score)
            with slots():
                return service.context(get_searcher(), request, links_for(links, ctx))


def links_for(links: service.Links, ctx: Context) -> service.Links:
    """As the REST API: the configured public address, else the address an HTTP request came to (stdio has none,
    so its links stay relative unless NEWSSEARCH_PUBLIC_URL is set)."""
    request = ctx.request_context.request
    if links.base_url or not isinstance(request, Request):
        return links
    return service.Links(str(request.base_url).rstrip("/"))


@contextmanager
def tool_errors() -> Iterator[None]:
    """What the caller can fix or wait out comes back as a tool error (is_error) with a short message; anything
    else is a crash, which the SDK logs and reports without its details."""
    try:
        yield
    except ValidationError as exc:
        raise ToolError(describe(exc)) from exc
    except ArticleNotFoundError as exc:
        raise ToolError(f"no article or passage with id {exc.args[0]!r}") from exc
    except SearchUnavailableError as exc:
        raise ToolError(str(exc)) from exc


def describe(exc: ValidationError) -> str:
    """'k: Input should be greater than or equal to 1 (got 0)', one clause per error, under the tool's names."""
    clauses = []
    for error in exc.errors(include_url=False):
        field = ".".join(ARGUMENT_NAMES.get(str(part), str(part)) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        got = repr(error["input"])
        got = got if len(got) <= 60 else got[:57] + "..."
        # a check of the whole request (date_from after date_to) has no field: its message names the values
        clauses.append(f"{field}: {message} (got {got})" if field else message)
    return "; ".join(clauses)


def http_app(server: MCPServer) -> ASGIApp:
    """The streamable HTTP endpoint, for the REST app's /mcp route; run `server.session_manager.run()` in the
    app's lifespan (a Starlette mount's own lifespan would never run).

    Stateless JSON: every request stands alone (no session to keep or expire, nothing pinned to one process) and
    gets one JSON answer, which any proxy passes; the tools send no progress worth a stream. The SDK's DNS
    rebinding check is off because it would accept only localhost Host headers: the app's TrustedHostMiddleware
    (NEWSSEARCH_ALLOWED_HOSTS), CORS and API key guard /mcp as they guard every route."""
    server.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, json_response=True,
                               transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))
    return StreamableHTTPASGIApp(server.session_manager)


def run_stdio(index_dir: Path) -> None:
    """Serve the tools over stdin/stdout for a local client (Claude Desktop, an IDE): stdout carries only
    protocol messages, logs go to stderr."""
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s")
    loader = Loader(index_dir)
    build_server(loader.get, service.Links(loader.settings.public_url), lifespan=loader.lifespan).run("stdio")


class Loader:
    """The stdio server's searcher. The models load in the background once the session starts, so the client's
    handshake does not wait for them (a tool call does); the SDK's stdio transport has by then pointed the
    process's stdout at stderr, so whatever a library prints while loading cannot corrupt the protocol stream.
    A rebuilt index is picked up as in the HTTP server."""

    def __init__(self, index_dir: Path) -> None:
        from search_api.config import Settings

        self.settings = Settings(index_dir=index_dir)
        self.watcher: IndexWatcher | None = None
        self.ready = threading.Event()

    @asynccontextmanager
    async def lifespan(self, _: MCPServer) -> AsyncIterator[dict[str, Any]]:
        threading.Thread(target=self.load, name="model-load", daemon=True).start()
        yield {}

    def load(self) -> None:
        from search_api.app import load_models, open_searcher

        s = self.settings
        try:
            models = load_models(s.models, s.embed_threads)
            self.watcher = IndexWatcher(s.index_dir, lambda: open_searcher(s, models))
            self.watcher.reload()
            if self.watcher.searcher is None:  # a refused index is logged by the watcher, a missing one is not
                log.error("%s (index directory: %s)", self.watcher.why_unavailable(), s.index_dir)
        except Exception:
            log.exception("could not load the embedding models")
        finally:
            self.ready.set()

    def get(self) -> Searcher:
        self.ready.wait()
        if self.watcher is None:
            raise SearchUnavailableError("search unavailable: the embedding models could not be loaded (see the "
                                         "server's stderr)")
        return self.watcher.live(self.settings.watch_index)
