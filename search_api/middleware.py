"""Edge protections: security headers, optional API key (with the article shell), request body size limit."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from urllib.parse import parse_qs

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import FileResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Open without a key: the web page and its assets (they hold no data), the health probe, and the API's
# description (it shows the API's shape, not its content).
PUBLIC_PATHS = frozenset({"/", "/health", "/docs", "/redoc", "/openapi.json"})
PUBLIC_PREFIXES = ("/static/",)
# Our pages load only their own scripts and styles: an injected <script> or inline handler does not run.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
            "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
NOSNIFF = "nosniff"
KEY_REFUSED = "missing or wrong API key (send it in the X-API-Key header or as Authorization: Bearer <key>)"


async def _reply(send: Send, status: int, detail: str, headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


class SecurityHeadersMiddleware:
    """`X-Content-Type-Options: nosniff` on every response, and a strict CSP on every HTML response that
    does not bring its own (the API docs bring one that allows their CDN assets)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                headers["x-content-type-options"] = NOSNIFF
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("content-security-policy", PAGE_CSP)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def presented_keys(raw_headers: list[tuple[bytes, bytes]]) -> list[bytes]:
    """Keys the request offers: `X-API-Key: <key>` or `Authorization: Bearer <key>` (scheme in any case)."""
    keys = []
    for name, value in raw_headers:
        if name == b"x-api-key":
            keys.append(value)
        elif name == b"authorization":
            scheme, _, token = value.partition(b" ")
            if scheme.lower() == b"bearer" and token.strip():
                keys.append(token.strip())
    return keys


def is_article_navigation(scope: Scope) -> bool:
    """A browser opening /articles/{id} as a page, as opposed to a script asking for its JSON."""
    doc_id = scope["path"].removeprefix("/articles/")
    if scope["method"] not in ("GET", "HEAD") or doc_id == scope["path"] or not doc_id or "/" in doc_id:
        return False
    if "json" in parse_qs(scope["query_string"].decode("latin-1")).get("format", []):
        return False
    accept = Headers(scope=scope).get("accept", "")
    return "text/html" in accept and "application/json" not in accept


def _digest(key: bytes) -> bytes:
    # Comparing fixed-size digests keeps the comparison's time independent of the key's length too.
    return hashlib.sha256(key).digest()


class ApiKeyMiddleware:
    """Everything but the public paths needs the key when one is set.

    A browser following a result link cannot add a header, so an article page opened without a valid key
    gets the static article shell, which fetches the article as JSON with the key the web page keeps.
    """

    def __init__(self, app: ASGIApp, api_key: str, shell: Path | None = None) -> None:
        self.app = app
        self.digest = _digest(api_key.encode())
        self.shell = shell

    def authorized(self, scope: Scope) -> bool:
        found = [hmac.compare_digest(_digest(key), self.digest) for key in presented_keys(scope["headers"])]
        return any(found)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_public(scope["path"]) or self.authorized(scope):
            await self.app(scope, receive, send)
            return
        if self.shell is not None and is_article_navigation(scope):
            await FileResponse(self.shell, media_type="text/html")(scope, receive, send)
            return
        await _reply(send, 401, KEY_REFUSED, ((b"www-authenticate", b"Bearer"),))


class BodyLimitMiddleware:
    """Refuse request bodies over the limit with 413, whether or not Content-Length is declared.

    The body is read (up to the limit) before the app runs and then replayed: an error raised from inside
    the app's receive() would reach FastAPI's body parser and come out as a 400.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending its body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        pending: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replay() -> Message:
            # after the body, receive() only reports the client disconnecting
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        await _reply(send, 413, f"request body over {self.max_bytes} bytes")
