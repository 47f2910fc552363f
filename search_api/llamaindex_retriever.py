"""LlamaIndex retriever over a running news search server (HTTP): `pip install newssearch[llamaindex]`.

    from search_api.llamaindex_retriever import NewsSearchLlamaRetriever

    retriever = NewsSearchLlamaRetriever("http://127.0.0.1:8000", k=5)
    nodes = retriever.retrieve("中国向瓦努阿图派遣警务专家")  # NodeWithScore(TextNode(id_=passage_id), score)

The RAG app needs no index or models of its own; `search_api` itself never imports llama_index.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from llama_index.core.callbacks import CallbackManager
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeRelationship, NodeWithScore, QueryBundle, RelatedNodeInfo, TextNode

from search_api import remote
from search_api.remote import NewsSearchError

__all__ = ["NewsSearchError", "NewsSearchLlamaRetriever"]

# A node's metadata goes into the LLM's context unless excluded: the model needs what to cite (title, date,
# links), not ids, ranks and scores. The server has already embedded the text, so a re-embedding (a
# node postprocessor, say) gets the title alone.
NOT_FOR_LLM = ["passage_id", "doc_id", "score", "rank", "link", "lang"]
NOT_FOR_EMBEDDING = ["passage_id", "doc_id", "score", "rank", "link", "lang", "date", "url", "source_url"]


class NewsSearchLlamaRetriever(BaseRetriever):
    """Passages from `POST {base_url}/search` as scored TextNodes (id = passage_id, source node = doc_id).

    Refusals (401, 403, 422, 503, ...) raise NewsSearchError naming the status and the server's detail.
    """

    def __init__(self, base_url: str, *, k: int = 8, api_key: str | None = None, lang: str | None = None,
                 source: str | None = None, date_from: dt.date | str | None = None,
                 date_to: dt.date | str | None = None, timeout: float = 30.0,
                 callback_manager: CallbackManager | None = None, verbose: bool = False) -> None:
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        self.base_url = base_url.rstrip("/")
        self.k = k
        self.api_key = api_key
        self.lang = lang
        self.source = source
        self.date_from = date_from
        self.date_to = date_to
        self.timeout = timeout
        super().__init__(callback_manager=callback_manager, verbose=verbose)

    def __repr__(self) -> str:  # without the key
        return f"{type(self).__name__}(base_url={self.base_url!r}, k={self.k})"

    def _body(self, query_bundle: QueryBundle) -> dict[str, Any]:
        return remote.search_body(query_bundle.query_str, {name: getattr(self, name) for name in remote.SEARCH_OPTIONS})

    def _nodes(self, results: list[dict[str, Any]]) -> list[NodeWithScore]:
        nodes = []
        for r in results:
            node = TextNode(text=r["text"], id_=r["passage_id"], metadata=remote.metadata(r, self.base_url),
                            excluded_llm_metadata_keys=list(NOT_FOR_LLM),
                            excluded_embed_metadata_keys=list(NOT_FOR_EMBEDDING),
                            relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=r["doc_id"])})
            nodes.append(NodeWithScore(node=node, score=r["score"]))
        return nodes

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return self._nodes(remote.search(self.base_url, self._body(query_bundle), self.api_key, self.timeout))

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return self._nodes(await remote.asearch(self.base_url, self._body(query_bundle), self.api_key, self.timeout))
