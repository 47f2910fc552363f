"""Shared fixtures: a bigram-hashing fake embedder and a tiny messy corpus in several encodings."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from indexer.config import IndexConfig
from indexer.normalize import fingerprint

DIM = 64


class FakeEmbedder:
    """Hashes character bigrams of the matching form: texts that share characters really are closer."""

    def __init__(self, name: str = "fake", dim: int = DIM) -> None:
        self.name = name
        self.model_id = f"fake-bigram-{dim}"
        self.dim = dim
        self.calls = 0

    def encode(self, texts: list[str], *, is_query: bool = False) -> np.ndarray:
        self.calls += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            fp = fingerprint(text)
            for i in range(max(len(fp) - 1, 1)):
                bucket = int(hashlib.md5(fp[i:i + 2].encode()).hexdigest()[:8], 16) % self.dim
                out[row, bucket] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


class FakeSpanEmbedder(FakeEmbedder):
    """A fake that pools sentence spans from its passage pass, like E5Embedder (late chunking)."""

    def __init__(self, name: str = "fake2", dim: int = 32) -> None:
        super().__init__(name, dim)
        self.model_id = f"fake-span-{dim}"

    def encode_spans(self, texts: list[str], spans: list[list[tuple[int, int]]]) -> list[np.ndarray]:
        passages = self.encode(texts)
        return [np.vstack([passages[i:i + 1], *[self._encode_span(text[a:b]) for a, b in text_spans]])
                for i, (text, text_spans) in enumerate(zip(texts, spans))]

    def _encode_span(self, text: str) -> np.ndarray:
        calls = self.calls  # spans come from the passage's pass: they are not extra model calls
        vector = self.encode([text])
        self.calls = calls
        return vector


ARTICLE_A = """今日新闻app下载
登录 注册
11月05日 20.0°C-21.6°C
澳元 : 人民币=4.7

太平洋岛国警务合作升级

2024-01-31 13:42 来源: 测试新闻网 原文链接 评论0条

斐济决定恢复与中国的警务合作，两国将决定未来如何执行协议。\u3000斐济警察将到中国接受培训。

美国总统拜登将于星期一与18位太平洋岛国领导人在白宫举行第二次峰会，承诺通过海底电缆改善互联网连接。

斐济决定恢复与中国的警务合作，两国将决定未来如何执行协议。\u3000斐济警察将到中国接受培训。

相关推荐

封面图片

所罗门群岛总理索加瓦雷将不会出席此次峰会，美国对此感到失望。

读者评论
热门排行榜
Copyright 测试新闻网 版权所有
"""

ARTICLE_B_TRAD = """公安部常務(wù)副部長(zhǎng)王小洪同菲律賓警察總監視頻會談。
中國是聯合國維和行動第二大出資國，已有2600余名維和警察參與任務。
The National Football League (NFL) game honoured the leaders.
"""

JSONL_LINES = [
    {"id": "j1", "text": "日本和中国在东京举行安全对话，双方同意建立防务热线。", "title": "中日安全对话",
     "url": "https://example.com/j1", "date": "2023-02-22", "source": "example"},
    "{not json",
    {"id": "j2", "title": "no text here"},
    {"id": "j3",
     "text": "美国总统拜登将于星期一与18位太平洋岛国领导人在白宫举行第二次峰会，承诺通过海底电缆改善互联网连接。",
     "url": "https://example.com/j3", "date": "2023-09-20"},
]

HTML_PAGE = """<html><head><title>Site | 上合峰会</title>
<meta property="og:url" content="https://example.com/sco"></head>
<body><nav>首页 国际 财经</nav><script>var x = 1;</script>
<article><h1>上合组织峰会在阿斯塔纳举行</h1>
<p>上合组织年度峰会7月3日至4日在哈萨克斯坦首都阿斯塔纳举行，普京与习近平会面。</p></article>
<footer>Copyright 2024</footer></body></html>
"""


def write_messy_corpus(root: Path) -> Path:
    """Files in the encodings Chinese news dumps use, plus skip-worthy inputs."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "a_utf8.txt").write_text(ARTICLE_A, encoding="utf-8")
    (root / "b_big5.txt").write_bytes(ARTICLE_B_TRAD.replace("(wù)", "").replace("(zhǎng)", "").encode("big5"))
    (root / "b_pinyin.txt").write_text(ARTICLE_B_TRAD, encoding="utf-16")
    (root / "gbk").mkdir(exist_ok=True)
    gb_text = "中日两国外长在慕尼黑安全会议期间会面，讨论气球问题。"
    (root / "gbk" / "c_gb18030.txt").write_bytes(gb_text.encode("gb18030"))
    (root / "d.jsonl").write_text("\n".join(json.dumps(x, ensure_ascii=False) if isinstance(x, dict) else x
                                            for x in JSONL_LINES), encoding="utf-8")
    (root / "e.html").write_text(HTML_PAGE, encoding="utf-8")
    (root / "empty.txt").write_bytes(b"")
    (root / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (root / "notes.csv").write_text("ignored,file\n", encoding="utf-8")
    return root


@pytest.fixture
def messy_corpus(tmp_path: Path) -> Path:
    return write_messy_corpus(tmp_path / "corpus")


@pytest.fixture
def fake_embedders() -> list[FakeEmbedder]:
    return [FakeEmbedder("fake"), FakeSpanEmbedder("fake2", dim=32)]


@pytest.fixture
def built_index(tmp_path: Path, messy_corpus: Path, fake_embedders):
    from indexer.pipeline import build_index

    config = IndexConfig(sources=(messy_corpus,), index_dir=tmp_path / "index",
                         models=tuple(e.name for e in fake_embedders), show_progress=False)
    summary = build_index(config, fake_embedders)
    return config, summary, {e.name: e for e in fake_embedders}


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory) -> Path:
    """seeds/ indexed with the real bundled models, once per test session."""
    from indexer.cli import main as indexer_main

    index = tmp_path_factory.mktemp("real") / "index"
    assert indexer_main(["build", "--source", str(ROOT / "seeds"), "--index", str(index), "--quiet"]) == 0
    return index


SERVER_API_KEY = "test-server-key"


@pytest.fixture(scope="session")
def keyed_server(seed_index: Path):
    """One real server (a subprocess, as users run it) on the seed index that requires SERVER_API_KEY; the
    MCP and retriever tests share it, since each server loads both models."""
    from bench.query import running_server

    with running_server(seed_index, env={"NEWSSEARCH_API_KEY": SERVER_API_KEY}) as (_, base_url):
        yield base_url
