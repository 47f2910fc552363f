"""Helpers for the serving tests: small indexes built from JSONL articles with the fake embedder."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from indexer import store
from indexer.config import IndexConfig
from tests.conftest import FakeEmbedder

CITIES = ["北京", "上海", "广州", "深圳", "成都", "武汉", "西安", "南京", "杭州", "重庆", "天津", "苏州"]


def long_article(doc_id: str = "long", paragraphs: int = len(CITIES)) -> dict:
    """An article of `paragraphs` passages, one per paragraph (positions 0 .. paragraphs-1)."""
    text = "\n\n".join(f"第{i + 1}段：{CITIES[i % len(CITIES)]}市政府宣布，新的地铁线路预计将在{2030 + i}年"
                       f"建成通车，全长{40 + i}公里。" for i in range(paragraphs))
    return {"id": doc_id, "title": "地铁建设长篇报道", "url": f"https://example.com/{doc_id}", "date": "2024-05-01",
            "text": text}


def build_jsonl_index(root: Path, articles: list[dict]) -> tuple[Path, dict[str, FakeEmbedder]]:
    """An index of `articles` under root/index, built with one fake embedder."""
    from indexer.pipeline import build_index

    source = root / "source"
    source.mkdir(parents=True)
    (source / "news.jsonl").write_text("\n".join(json.dumps(a, ensure_ascii=False) for a in articles),
                                       encoding="utf-8")
    embedders = [FakeEmbedder("fake")]
    config = IndexConfig(sources=(source,), index_dir=root / "index", models=("fake",), show_progress=False)
    build_index(config, embedders)
    return config.index_dir, {e.name: e for e in embedders}


def set_article_url(index_dir: Path, doc_id: str, url: str) -> None:
    """Store `url` in the live build as it is, as an index built before URLs were checked may hold it."""
    conn = sqlite3.connect(store.live_dir(index_dir) / store.DB)
    try:
        with conn:
            assert conn.execute("UPDATE articles SET url = ? WHERE doc_id = ?", (url, doc_id)).rowcount == 1
    finally:
        conn.close()
