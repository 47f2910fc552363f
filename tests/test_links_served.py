"""Source URLs are served as links only when they are absolute http(s) URLs, whatever an older index holds."""

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from search_api.config import Settings
from tests.serving import CITIES, build_jsonl_index, set_article_url

# What an index built before URLs were checked may hold; each is stored as is in the articles table.
BAD_URLS = [
    "javascript:alert(document.domain)",
    "  JaVaScRiPt:alert(document.domain)",
    "java\tscript:alert(1)",
    "vbscript:msgbox(1)",
    "data:text/html,<script>alert(1)</script>",
    "//evil.example/x",
    "file:///etc/passwd",
    "https://",
    "/articles/other",
]


def _article(i: int) -> dict:
    return {"id": f"a{i}", "title": f"报道{i}", "url": f"https://example.com/a{i}",
            "text": f"{CITIES[i]}市今天举行了第{i}届国际马拉松比赛，数万名选手参加，赛事顺利结束。"}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """Article a{i} holds BAD_URLS[i]; the last article keeps its good URL."""
    index, embedders = build_jsonl_index(tmp_path_factory.mktemp("links"),
                                         [_article(i) for i in range(len(BAD_URLS) + 1)])
    for i, url in enumerate(BAD_URLS):
        set_article_url(index, f"a{i}", url)
    app = create_app(Settings(index_dir=index, models=tuple(embedders)), embedders=embedders)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _hit(client: TestClient, i: int) -> dict:
    results = client.get("/search", params={"q": _article(i)["text"], "k": 20}).json()["results"]
    return next(h for h in results if h["doc_id"] == f"a{i}")


@pytest.mark.parametrize("i", range(len(BAD_URLS)), ids=BAD_URLS)
def test_article_page_has_no_link_for_a_bad_url(client, i):
    page = client.get(f"/articles/a{i}")
    assert page.status_code == 200 and _article(i)["text"] in page.text
    assert ">original</a>" not in page.text
    for scheme in ("javascript:", "vbscript:", "data:", "file:", "//evil"):
        assert scheme not in page.text.lower()


@pytest.mark.parametrize("i", range(len(BAD_URLS)), ids=BAD_URLS)
def test_json_has_a_null_url_for_a_bad_url(client, i):
    assert _hit(client, i)["source"]["url"] is None
    assert client.get(f"/articles/a{i}", params={"format": "json"}).json()["source"]["url"] is None


def test_a_good_url_is_still_a_link(client):
    good = len(BAD_URLS)
    page = client.get(f"/articles/a{good}").text
    assert f'<a href="https://example.com/a{good}" rel="noopener noreferrer" target="_blank">original</a>' in page
    assert _hit(client, good)["source"]["url"] == f"https://example.com/a{good}"
    assert client.get(f"/articles/a{good}?format=json").json()["source"]["url"] == f"https://example.com/a{good}"
