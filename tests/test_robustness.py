"""The API under abuse and index swaps: auth, body limits, hot reload, corrupt indexes."""

import os
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from indexer import store
from indexer.config import IndexConfig
from indexer.pipeline import build_index
from search_api.app import create_app
from search_api.config import Settings

KEY = "s3cret"


def _client(config, embedders, **settings) -> TestClient:
    app = create_app(Settings(index_dir=config.index_dir, models=tuple(embedders), **settings),
                     embedders=embedders)
    return TestClient(app, raise_server_exceptions=False)


def _admin_client(config, embedders) -> TestClient:
    """/admin/reload exists only with a key: a client that sends it on every request."""
    client = _client(config, embedders, api_key=KEY)
    client.headers["X-API-Key"] = KEY
    return client


def test_api_key_protects_everything_but_health(built_index):
    config, _, embedders = built_index
    with _client(config, embedders, api_key="s3cret") as c:
        assert c.get("/health").status_code == 200
        r = c.get("/search", params={"q": "维和"})
        assert r.status_code == 401 and "X-API-Key" in r.json()["detail"]
        assert c.get("/search", params={"q": "维和"}, headers={"X-API-Key": "wrong"}).status_code == 401
        assert c.get("/search", params={"q": "维和"}, headers={"X-API-Key": "s3cret"}).status_code == 200
        assert c.get("/search", params={"q": "维和"}, headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_body_over_limit_is_413(built_index):
    config, _, embedders = built_index
    with _client(config, embedders, max_body_bytes=1024) as c:
        r = c.post("/search", content=b'{"q": "' + b"x" * 5000 + b'"}', headers={"content-type": "application/json"})
        assert r.status_code == 413 and "1024 bytes" in r.json()["detail"]
        assert c.post("/search", json={"q": "维和"}).status_code == 200


def test_cors_only_for_configured_origins(built_index):
    config, _, embedders = built_index
    with _client(config, embedders, cors_origins=("https://news.example",)) as c:
        ok = c.get("/search", params={"q": "维和"}, headers={"Origin": "https://news.example"})
        assert ok.headers.get("access-control-allow-origin") == "https://news.example"
        other = c.get("/search", params={"q": "维和"}, headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_rebuilt_index_is_picked_up_without_restart(built_index, tmp_path: Path):
    config, _, embedders = built_index
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "new.txt").write_text("格陵兰冰盖融化速度创下新的纪录，科学家发出警告。", encoding="utf-8")
    with _admin_client(config, embedders) as c:
        before = c.get("/health").json()["articles"]
        build_index(IndexConfig(sources=(*config.sources, extra), index_dir=config.index_dir,
                                models=config.models, show_progress=False), list(embedders.values()))
        r = c.post("/admin/reload")
        assert r.status_code == 200 and r.json()["reloaded"] is True
        assert c.get("/health").json()["articles"] == before + 1
        assert "格陵兰" in c.get("/search", params={"q": "格陵兰冰盖"}).json()["results"][0]["text"]


def test_watcher_reloads_on_the_next_request(built_index, tmp_path: Path):
    config, _, embedders = built_index
    with _client(config, embedders) as c:
        old = c.get("/health").json()["built_at"]
        time.sleep(1.1)  # built_at has one-second resolution
        (config.sources[0] / "new.txt").write_text("格陵兰冰盖融化速度创下新的纪录。", encoding="utf-8")
        build_index(config, list(embedders.values()))
        c.get("/search", params={"q": "维和"})  # notices the new build, loads it in the background
        for _ in range(50):
            if c.get("/health").json()["built_at"] != old:
                break
            time.sleep(0.1)
        assert c.get("/health").json()["built_at"] != old


def test_corrupt_index_is_refused_and_old_one_keeps_serving(built_index, caplog):
    config, _, embedders = built_index
    with _admin_client(config, embedders) as c:
        good = c.get("/health").json()
        # publish a build whose vectors file is garbage
        bad = store.new_build_dir(config.index_dir)
        live = store.live_dir(config.index_dir)
        for f in live.iterdir():
            if f.is_file():
                (bad / f.name).write_bytes(f.read_bytes())
        os.symlink(live / "bm25", bad / "bm25")
        (bad / "fake.faiss").write_bytes(b"not a faiss index")
        store.publish(config.index_dir, bad)
        r = c.post("/admin/reload")
        assert r.status_code == 200 and r.json()["reloaded"] is False and r.json()["refused"]
        assert c.get("/health").json() == good
        assert c.get("/search", params={"q": "维和"}).status_code == 200
        assert any("refused index" in rec.message for rec in caplog.records)


def test_reload_without_a_configured_key_is_403(built_index):
    config, _, embedders = built_index
    with _client(config, embedders) as c:
        r = c.post("/admin/reload")
        assert r.status_code == 403
        assert r.json() == {"detail": "/admin/reload is disabled: set NEWSSEARCH_API_KEY to enable it"}


def test_reload_needs_the_key(built_index):
    config, _, embedders = built_index
    with _client(config, embedders, api_key=KEY) as c:
        assert c.post("/admin/reload").status_code == 401
        assert c.post("/admin/reload", headers={"Authorization": f"Bearer {KEY}"}).json()["reloaded"] is False


def test_refused_index_503_names_no_path_but_the_log_has_the_error(built_index, tmp_path: Path, caplog):
    config, _, embedders = built_index
    (store.live_dir(config.index_dir) / "fake.faiss").write_bytes(b"not a faiss index")
    with _client(config, embedders) as c:
        r = c.get("/search", params={"q": "维和"})
    assert r.status_code == 503
    assert r.json() == {"detail": "search unavailable: the index could not be loaded (see the server log)"}
    assert str(tmp_path) not in r.text
    assert any("refused index" in rec.getMessage() for rec in caplog.records)


def test_server_started_before_the_index_exists_serves_it_once_built(tmp_path: Path, messy_corpus, fake_embedders):
    embedders = {e.name: e for e in fake_embedders}
    config = IndexConfig(sources=(messy_corpus,), index_dir=tmp_path / "later", models=tuple(embedders),
                         show_progress=False)
    with _client(config, embedders) as c:
        assert c.get("/health").status_code == 503
        build_index(config, fake_embedders)
        assert c.get("/health").status_code == 200


@pytest.mark.parametrize("path", ["/search?q=%00", "/search?q=%F0%9F%98%80", "/articles/..%2F..%2Fetc"])
def test_odd_paths_never_500(built_index, path):
    config, _, embedders = built_index
    with _client(config, embedders) as c:
        assert c.get(path).status_code in (200, 404, 422)
