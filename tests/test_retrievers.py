"""RAG retrievers (LangChain, LlamaIndex) against a live server on the seed index, and their error reports."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys

import httpx
import pytest
from langchain_core.documents import Document
from langchain_tests.integration_tests import RetrieversIntegrationTests
from llama_index.core.schema import MetadataMode

from search_api import remote
from search_api.langchain_retriever import NewsSearchRetriever
from search_api.llamaindex_retriever import NewsSearchLlamaRetriever
from search_api.remote import NewsSearchError
from tests.conftest import SERVER_API_KEY

API_KEY = SERVER_API_KEY
ZH_QUERY = "中国向瓦努阿图派遣警务专家"
EN_QUERY = "Which US official led the delegation to Beijing?"
SAME_AS_RESULT = ("passage_id", "doc_id", "title", "date", "lang", "score", "rank", "link")
METADATA = {*SAME_AS_RESULT, "url", "source_url"}


@pytest.fixture(scope="module")
def news_server(keyed_server: str) -> str:
    return keyed_server


def raw_search(base_url: str, body: dict) -> list[dict]:
    response = httpx.post(f"{base_url}/search", json=body, headers={"X-API-Key": API_KEY}, timeout=60)
    response.raise_for_status()
    return response.json()["results"]


# ---- LangChain's standard retriever tests ----

@pytest.mark.slow
# The suite's one async test needs pytest-asyncio's mark; this project runs pytest-asyncio in strict mode, and a
# standard test cannot be decorated one by one (test_no_overrides_DO_NOT_OVERRIDE), so the class carries the
# mark and the note it earns on the sync tests is silenced.
@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore:The test .* is marked with '@pytest.mark.asyncio':pytest.PytestWarning")
class TestNewsSearchRetrieverStandard(RetrieversIntegrationTests):
    base_url = ""

    @pytest.fixture(autouse=True)
    def _live_server(self, news_server: str) -> None:
        # autouse: test_k_constructor_param builds its retrievers from the params without the `retriever` fixture
        self.base_url = news_server

    @property
    def retriever_constructor(self) -> type[NewsSearchRetriever]:
        return NewsSearchRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"base_url": self.base_url, "api_key": API_KEY}

    @property
    def retriever_query_example(self) -> str:
        return ZH_QUERY


# ---- LangChain: what the documents carry ----

@pytest.mark.slow
def test_langchain_documents_carry_the_results(news_server):
    retriever = NewsSearchRetriever(base_url=news_server + "/", api_key=API_KEY, k=3)
    docs = retriever.invoke(ZH_QUERY)
    raw = raw_search(news_server, {"q": ZH_QUERY, "k": 3})
    assert [d.page_content for d in docs] == [r["text"] for r in raw]
    assert "瓦努阿图" in docs[0].page_content
    for doc, r in zip(docs, raw):
        assert isinstance(doc, Document) and doc.id == r["passage_id"]
        assert set(doc.metadata) == METADATA
        assert {key: doc.metadata[key] for key in SAME_AS_RESULT} == {key: r[key] for key in SAME_AS_RESULT}
        assert doc.metadata["source_url"] == r["source"]["url"]
        assert doc.metadata["url"] == r["url"] and doc.metadata["url"].startswith("http")
    assert [d.metadata["rank"] for d in docs] == [1, 2, 3]
    en = retriever.invoke(EN_QUERY, k=8)
    assert "Jen Daskal" in en[0].page_content and len(en) == 8
    assert [d.id for d in asyncio.run(retriever.ainvoke(ZH_QUERY))] == [d.id for d in docs]


@pytest.mark.slow
def test_langchain_filters_from_fields_and_invoke(news_server):
    everything = raw_search(news_server, {"q": ZH_QUERY, "k": 20})
    doc_id = next(r["doc_id"] for r in everything if "瓦努阿图" not in r["text"])
    source = next(r["source"]["path"] for r in everything if r["doc_id"] == doc_id)
    retriever = NewsSearchRetriever(base_url=news_server, api_key=API_KEY, source=source)
    assert {d.metadata["doc_id"] for d in retriever.invoke(ZH_QUERY)} == {doc_id}
    # invoke's keyword arguments override the fields for one call; None lifts a filter
    assert len({d.metadata["doc_id"] for d in retriever.invoke(ZH_QUERY, source=None, k=20)}) > 1
    dated = [r for r in everything if r["date"]]
    assert dated, "the seed articles carry dates"
    day = max(r["date"] for r in dated)
    later = retriever.invoke(ZH_QUERY, source=None, date_from=day)
    assert later and all(d.metadata["date"] >= day for d in later)
    with pytest.raises(TypeError, match="unknown search option"):
        retriever.invoke(ZH_QUERY, top_k=3)


@pytest.mark.slow
def test_refusals_name_status_and_detail(news_server):
    with pytest.raises(NewsSearchError, match=r"HTTP 401 .*API key") as refused:
        NewsSearchRetriever(base_url=news_server).invoke(ZH_QUERY)
    assert refused.value.status == 401 and "X-API-Key" in refused.value.detail
    with pytest.raises(NewsSearchError, match="HTTP 401"):
        NewsSearchLlamaRetriever(news_server, api_key="wrong").retrieve(ZH_QUERY)
    with pytest.raises(NewsSearchError, match="HTTP 401"):
        asyncio.run(NewsSearchRetriever(base_url=news_server).ainvoke(ZH_QUERY))
    with pytest.raises(NewsSearchError, match=r"HTTP 422: k: Input should be less than or equal to 100"):
        NewsSearchRetriever(base_url=news_server, api_key=API_KEY, k=101).invoke(ZH_QUERY)
    with pytest.raises(NewsSearchError, match=r"HTTP 422: lang: "):
        NewsSearchLlamaRetriever(news_server, api_key=API_KEY, lang="fr").retrieve(ZH_QUERY)


# ---- LlamaIndex ----

@pytest.mark.slow
def test_llamaindex_round_trip(news_server):
    retriever = NewsSearchLlamaRetriever(news_server, api_key=API_KEY, k=3)
    nodes = retriever.retrieve(ZH_QUERY)
    raw = raw_search(news_server, {"q": ZH_QUERY, "k": 3})
    assert len(nodes) == 3 and "瓦努阿图" in nodes[0].node.get_content()
    for scored, r in zip(nodes, raw):
        node = scored.node
        assert node.node_id == r["passage_id"] and node.ref_doc_id == r["doc_id"] and scored.score == r["score"]
        assert set(node.metadata) == METADATA
        assert {key: node.metadata[key] for key in SAME_AS_RESULT} == {key: r[key] for key in SAME_AS_RESULT}
    # What an LLM would be shown (no LLM is called): the passage with what to cite, not ids and scores.
    context = nodes[0].node.get_content(metadata_mode=MetadataMode.LLM)
    assert nodes[0].node.metadata["url"] in context and nodes[0].node.node_id not in context
    en = NewsSearchLlamaRetriever(news_server, api_key=API_KEY).retrieve(EN_QUERY)
    assert "Jen Daskal" in en[0].node.get_content() and len(en) == 8
    again = asyncio.run(retriever.aretrieve(ZH_QUERY))
    assert [n.node.node_id for n in again] == [n.node.node_id for n in nodes]


# ---- no server needed ----

def reply(status: int, detail: object) -> httpx.Response:
    return httpx.Response(status, json={"detail": detail}, request=httpx.Request("POST", "http://server/search"))


@pytest.mark.parametrize(("status", "detail", "shown"), [
    (401, "missing or wrong API key", "missing or wrong API key"),
    (403, "forbidden here", "forbidden here"),
    (422, [{"loc": ["body", "k"], "msg": "Input should be less than or equal to 100", "type": "less_than_equal"}],
     "k: Input should be less than or equal to 100"),
    (503, "search unavailable: no index has been built yet", "search unavailable: no index has been built yet"),
])
def test_error_message_has_status_and_detail(status, detail, shown):
    with pytest.raises(NewsSearchError) as refused:
        remote.results(reply(status, detail))
    assert f"HTTP {status}" in str(refused.value) and shown in str(refused.value)
    assert refused.value.status == status and refused.value.detail == shown


def test_unreachable_server_is_a_clear_error():
    with pytest.raises(NewsSearchError, match="cannot reach the news search server at http://127.0.0.1:9"):
        NewsSearchRetriever(base_url="http://127.0.0.1:9", timeout=2).invoke("x")


def test_body_omits_unset_options():
    assert remote.search_body("q", {"k": 3, "lang": None, "date_from": dt.date(2024, 1, 2), "verbose": True}) == {
        "q": "q", "k": 3, "date_from": "2024-01-02"}


def test_metadata_of_a_server_without_url_links_to_its_article_page():
    result = {"rank": 1, "score": 0.5, "passage_id": "p1", "text": "t", "doc_id": "d1", "title": None, "date": None,
              "lang": "en", "source": {"path": "a.txt", "url": None}, "link": "/articles/d1#p0"}
    assert remote.metadata(result, "http://server:8000")["url"] == "http://server:8000/articles/d1#p0"


def test_search_api_does_not_import_the_frameworks():
    code = ("import sys, search_api, search_api.remote, search_api.app, search_api.cli; "
            "assert not [m for m in sys.modules if m.startswith(('langchain', 'llama_index'))], sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
