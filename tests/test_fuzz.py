"""Property test of the API: no generated request may produce a 5xx."""

from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.config import IndexConfig
from indexer.pipeline import build_index
from search_api.app import create_app
from search_api.config import Settings
from tests.conftest import FakeEmbedder, write_messy_corpus


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    embedders = [FakeEmbedder("fake")]
    config = IndexConfig(sources=(write_messy_corpus(root / "corpus"),), index_dir=root / "index",
                         models=("fake",), show_progress=False)
    build_index(config, embedders)
    app = create_app(Settings(index_dir=config.index_dir, models=("fake",)), embedders={"fake": embedders[0]})
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=2100)
params = st.fixed_dictionaries({}, optional={
    "q": text, "k": st.one_of(st.integers(-5, 200), text), "mode": st.sampled_from(["hybrid", "dense", "lexical", "x"]),
    "lang": st.sampled_from(["en", "zh-Hans", "zh-Hant", "fr", ""]), "source": text,
    "date_from": st.one_of(st.dates().map(str), text), "date_to": st.one_of(st.dates().map(str), text)})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(p=params)
def test_get_search_never_5xx(client, p):
    r = client.get("/search", params=p)
    assert r.status_code in (200, 422), (p, r.text[:300])
    if r.status_code == 422:
        assert "Traceback" not in r.text


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(params, st.text(max_size=300), st.lists(st.integers(), max_size=3), st.none()))
def test_post_search_never_5xx(client, body):
    r = client.post("/search", json=body)
    assert r.status_code in (200, 413, 422), (body, r.text[:300])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc_id=text.filter(lambda s: s not in ("", ".", "..")))
def test_article_lookup_never_5xx(client, doc_id):
    r = client.get(f"/articles/{quote(doc_id, safe='')}")
    assert r.status_code in (200, 404, 422)
