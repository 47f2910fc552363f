"""The MCP server through the SDK's own clients: in process on a small index, over stdio and over HTTP."""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from fastapi.testclient import TestClient
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult

from search_api import service
from search_api.app import create_app
from search_api.config import Settings
from search_api.mcp_server import build_server
from search_api.reload import SearchUnavailableError
from search_api.search import Searcher
from tests.conftest import ROOT, SERVER_API_KEY
from tests.serving import build_jsonl_index, long_article

ARTICLES = [
    {"id": "fiji", "title": "斐济恢复与中国的警务合作", "url": "https://example.com/fiji", "date": "2024-01-31",
     "source": "测试新闻网", "text": "斐济决定恢复与中国的警务合作，斐济警察将到中国接受培训。\n\n"
                                  "两国将决定未来如何执行协议，目前不会有中国警察加入当地警队。"},
    {"id": "summit", "title": "太平洋岛国峰会", "url": "https://example.com/summit", "date": "2023-09-20",
     "text": "美国总统拜登与18位太平洋岛国领导人在白宫举行第二次峰会，承诺通过海底电缆改善互联网连接。"},
    {"id": "balloon", "title": "中日安全对话", "url": "https://example.com/balloon", "date": "2023-02-22",
     "text": "中日两国外长在慕尼黑安全会议期间会面，讨论气球问题，双方同意建立防务热线。"},
    {"id": "notes", "title": "编辑部说明", "date": "2024-03-01", "text": "本报编辑部说明：读者来信请寄往编辑部信箱。"},
    long_article(),
]
TOOLS = {"search", "fetch", "retrieve_context"}
API_KEY = SERVER_API_KEY
SEED_QUERY = "斐济警务合作"  # seeds/000 reports Fiji resuming its police cooperation with China


@pytest.fixture(scope="module")
def small_index(tmp_path_factory) -> tuple[Any, dict]:
    return build_jsonl_index(tmp_path_factory.mktemp("mcp"), ARTICLES)


@pytest.fixture(scope="module")
def searcher(small_index) -> Searcher:
    index, embedders = small_index
    return Searcher(index, embedders)


@pytest.fixture
def server(searcher):
    return build_server(lambda: searcher, service.Links(None))


def with_client(server, use: Callable[[Client], Awaitable[Any]]) -> Any:
    """Run `use` with the SDK's in-process client connected to `server`."""

    async def main() -> Any:
        async with Client(server) as client:
            return await use(client)

    return anyio.run(main)


def call(server, tool: str, arguments: dict) -> CallToolResult:
    return with_client(server, lambda client: client.call_tool(tool, arguments))


def test_lists_three_read_only_tools_with_output_schemas(server):
    tools = with_client(server, lambda client: client.list_tools()).tools
    assert {t.name for t in tools} == TOOLS
    for tool in tools:
        assert tool.annotations is not None and tool.annotations.read_only_hint is True
        assert tool.output_schema is not None and tool.output_schema["type"] == "object"
        assert tool.description
    by_name = {t.name: t for t in tools}
    assert set(by_name["search"].output_schema["properties"]) == {"results"}
    assert by_name["search"].input_schema["required"] == ["query"] == by_name["retrieve_context"].input_schema[
        "required"]
    assert by_name["fetch"].input_schema["required"] == ["id"]
    assert set(by_name["fetch"].output_schema["properties"]) == {"id", "title", "text", "url", "metadata"}
    assert {"context", "passages", "sources"} <= set(by_name["retrieve_context"].output_schema["properties"])
    # the request models' limits reach the client, so it can keep to them
    k = by_name["search"].input_schema["properties"]["k"]
    assert (k["minimum"], k["maximum"], k["default"]) == (1, 100, 8)


def test_search_returns_passages_about_the_query_with_ids_that_resolve(server):
    result = call(server, "search", {"query": "斐济警务合作", "k": 3})
    assert not result.is_error
    results = result.structured_content["results"]
    assert 1 <= len(results) <= 3
    first = results[0]
    assert set(first) == {"id", "title", "url", "text", "score", "doc_id", "date"}
    assert "斐济" in first["text"] and first["doc_id"] == "fiji" and first["url"] == "https://example.com/fiji"
    for hit in results:
        fetched = call(server, "fetch", {"id": hit["id"]}).structured_content
        assert fetched["metadata"]["doc_id"] == hit["doc_id"] and hit["text"] in fetched["text"]


def test_search_filters_by_date(server):
    results = call(server, "search", {"query": "峰会", "date_from": "2023-09-01", "date_to": "2023-12-31"})
    assert {h["doc_id"] for h in results.structured_content["results"]} == {"summit"}


def test_fetch_by_passage_id_or_doc_id_returns_the_whole_article(server):
    hit = call(server, "search", {"query": "成都市政府宣布新的地铁线路", "k": 1}).structured_content["results"][0]
    assert hit["doc_id"] == "long"
    by_passage = call(server, "fetch", {"id": hit["id"]}).structured_content
    by_doc = call(server, "fetch", {"id": "long"}).structured_content
    assert by_passage["id"] == hit["id"] and by_doc["id"] == "long"
    assert by_passage["text"] == by_doc["text"]
    paragraphs = long_article()["text"].split("\n\n")
    assert len(paragraphs) > 1 and all(p in by_doc["text"] for p in paragraphs)
    assert by_doc["title"] == "地铁建设长篇报道" and by_doc["url"] == "https://example.com/long"
    assert by_doc["metadata"] == {"doc_id": "long", "date": "2024-05-01", "lang": "zh-Hans",
                                  "source": "news.jsonl:5"}  # no source recorded: the file and line it came from
    assert call(server, "fetch", {"id": "fiji"}).structured_content["metadata"]["source"] == "测试新闻网"


def test_retrieve_context_is_what_post_context_returns(searcher, small_index):
    arguments = {"query": "中日安全对话 气球问题", "k": 3, "max_chars": 600, "neighbors": 1}
    # TestClient's requests come to http://testserver: the REST API's links to its own pages start with it
    result = call(build_server(lambda: searcher, service.Links("http://testserver")), "retrieve_context", arguments)
    assert not result.is_error
    mcp_body = result.structured_content
    assert mcp_body["context"].startswith("[1] ") and "气球" in mcp_body["context"]
    assert mcp_body["passages"][0]["doc_id"] == "balloon" and mcp_body["sources"]
    assert all(p["text"] in mcp_body["context"] for p in mcp_body["passages"])
    index, embedders = small_index
    with TestClient(create_app(Settings(index_dir=index, models=tuple(embedders)), embedders=embedders)) as client:
        rest_body = client.post("/context", json={"q": arguments.pop("query"), **arguments}).json()
    assert {**mcp_body, "took_ms": 0} == {**rest_body, "took_ms": 0}


@pytest.mark.parametrize("tool, arguments, message", [
    ("search", {"query": ""}, "query: String should have at least 1 character (got '')"),
    ("search", {"query": "   "}, "non-whitespace"),
    ("search", {"query": "警务", "k": 0}, "k: Input should be greater than or equal to 1 (got 0)"),
    ("search", {"query": "警务", "k": 101}, "k: Input should be less than or equal to 100 (got 101)"),
    ("search", {"query": "警务", "date_from": "2024-13-01"}, "date_from: "),
    ("search", {"query": "警务", "date_from": "2024-02-01", "date_to": "2024-01-01"},
     "date_from 2024-02-01 is after date_to 2024-01-01"),
    ("search", {"query": "警务", "lang": "fr"}, "lang: "),
    ("search", {"k": 3}, "query"),  # missing: refused by the SDK against the input schema
    ("search", {"query": "警务", "k": "many"}, "k"),
    ("fetch", {"id": "no-such-article"}, "no article or passage with id 'no-such-article'"),
    ("retrieve_context", {"query": "警务", "neighbors": 3}, "neighbors: "),
    ("retrieve_context", {"query": "警务", "max_chars": 10}, "max_chars: "),
])
def test_bad_arguments_are_tool_errors_naming_the_problem(server, tool, arguments, message):
    result = call(server, tool, arguments)
    assert result.is_error and result.structured_content is None
    assert message in result.content[0].text


def test_no_index_is_a_tool_error():
    def unavailable() -> Searcher:
        raise SearchUnavailableError("search unavailable: no index has been built yet")

    result = call(build_server(unavailable, service.Links(None)), "search", {"query": "警务"})
    assert result.is_error and "no index has been built yet" in result.content[0].text


def test_in_process_links_stay_relative(server):
    assert call(server, "fetch", {"id": "notes"}).structured_content["url"] == "/articles/notes"


@pytest.mark.parametrize("public_url, expected", [
    (None, "http://news.example:8000/articles/notes"),
    ("https://news.example.org/search", "https://news.example.org/search/articles/notes"),
])
def test_http_citations_of_articles_without_an_address_point_at_this_server(small_index, public_url, expected):
    """As in the REST API: NEWSSEARCH_PUBLIC_URL when set, else the address the request came to."""
    index, embedders = small_index
    app = create_app(Settings(index_dir=index, models=tuple(embedders), public_url=public_url), embedders=embedders)
    call_fetch = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                  "params": {"name": "fetch", "arguments": {"id": "notes"}}}
    with TestClient(app, base_url="http://news.example:8000") as client:
        r = client.post("/mcp", json=call_fetch, headers={"accept": "application/json, text/event-stream",
                                                          "mcp-protocol-version": "2025-06-18"})
    assert r.status_code == 200, r.text
    assert r.json()["result"]["structuredContent"]["url"] == expected


def test_http_endpoint_is_behind_the_api_key_and_host_checks(small_index):
    index, embedders = small_index
    settings = Settings(index_dir=index, models=tuple(embedders), api_key=API_KEY, allowed_hosts=("news.example",))
    list_tools = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    mcp_headers = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-06-18"}
    with TestClient(create_app(settings, embedders=embedders), base_url="http://news.example") as client:
        assert client.post("/mcp", json=list_tools, headers=mcp_headers).status_code == 401
        wrong_host = client.post("/mcp", json=list_tools, headers={**mcp_headers, "X-API-Key": API_KEY,
                                                                    "host": "rebound.example"})
        assert wrong_host.status_code == 400
        r = client.post("/mcp", json=list_tools, headers={**mcp_headers, "Authorization": f"Bearer {API_KEY}"})
    assert r.status_code == 200 and {t["name"] for t in r.json()["result"]["tools"]} == TOOLS


def test_building_the_server_leaves_the_process_logging_alone():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers[:] = []  # as in a process that has not configured logging (pytest has)
    try:
        build_server(lambda: None, service.Links(None))
        assert (root.handlers, root.level) == ([], level)
    finally:
        root.handlers[:] = handlers


# ---- the real transports, on the seed index with the real models ----

async def search_seeds(client: Client) -> list[dict]:
    tools = (await client.list_tools()).tools
    assert {t.name for t in tools} == TOOLS
    result = await client.call_tool("search", {"query": SEED_QUERY, "k": 3})
    assert not result.is_error, result.content
    results = result.structured_content["results"]
    fetched = await client.call_tool("fetch", {"id": results[0]["id"]})
    assert fetched.structured_content["metadata"]["doc_id"] == results[0]["doc_id"]
    assert results[0]["text"] in fetched.structured_content["text"]
    bad = await client.call_tool("search", {"query": SEED_QUERY, "k": 0})
    assert bad.is_error and "k: " in bad.content[0].text
    return results


@pytest.mark.slow
def test_stdio_server_speaks_only_protocol_on_stdout(seed_index):
    # Unbuffered, a stray print reaches the client at once rather than at exit, where the client discards it.
    params = StdioServerParameters(command=sys.executable, args=["-m", "search_api", "mcp", "--index", str(seed_index)],
                                   cwd=str(ROOT), env={"PYTHONUNBUFFERED": "1"})
    not_protocol: list[Exception] = []

    async def note(message: Any) -> None:
        # the client logs a stdout line that is not a protocol message and hands it here as an exception
        if isinstance(message, Exception):
            not_protocol.append(message)

    async def main() -> list[dict]:
        async with Client(params, message_handler=note) as client:
            return await search_seeds(client)

    results = anyio.run(main)
    assert not_protocol == []
    assert results and "斐济" in results[0]["text"] and "警务" in results[0]["text"]


def over_http(url: str, headers: dict[str, str]) -> list[dict]:
    async def main() -> list[dict]:
        # the SDK's HTTP transport takes its headers from the httpx2 client it is given
        async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
            async with Client(streamable_http_client(url, http_client=http)) as client:
                return await search_seeds(client)

    return anyio.run(main)


@pytest.mark.slow
@pytest.mark.parametrize("headers", [{"X-API-Key": API_KEY}, {"Authorization": f"Bearer {API_KEY}"}],
                         ids=["x-api-key", "bearer"])
def test_http_tools_work_with_the_api_key(keyed_server, headers):
    results = over_http(f"{keyed_server}/mcp", headers)
    # the seed files have no address of their own: they are cited at this server, absolutely
    assert results and all(r["url"].startswith(f"{keyed_server}/articles/{r['doc_id']}#p") for r in results)
    assert "斐济" in results[0]["text"]


@pytest.mark.slow
@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}], ids=["no-key", "wrong-key"])
def test_http_refuses_without_the_api_key(keyed_server, headers):
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                  "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                             "clientInfo": {"name": "test", "version": "0"}}}
    r = httpx.post(f"{keyed_server}/mcp", json=initialize, timeout=30,
                   headers={"accept": "application/json, text/event-stream", **headers})
    assert r.status_code == 401 and "API key" in r.json()["detail"]
    with pytest.raises(Exception) as refused:  # noqa: B017 - the SDK client's task groups wrap its MCPError
        over_http(f"{keyed_server}/mcp", headers)
    assert refused.group_contains(MCPError)
