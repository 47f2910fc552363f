import codecs
import os
from pathlib import Path

import pytest

from indexer.load import DecodeError, LoadReport, decode_bytes, load_articles

TEXT = "中國是聯合國維和行動的第二大出資國，已有2600余名維和警察參與任務。"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "big5", "utf-16", "utf-16-le"])
def test_decode_bytes_reads_chinese_news_encodings(encoding):
    text = TEXT if encoding != "gb18030" else "中国是联合国维和行动的第二大出资国，已有2600余名维和警察参与任务。"
    assert decode_bytes(text.encode(encoding)) == text


@pytest.mark.parametrize("data, reason", [
    (b"", "empty file"),
    (b"   \n ", "empty file"),
    (bytes(range(256)) * 8, "binary"),
])
def test_decode_bytes_rejects_non_text(data, reason):
    with pytest.raises(DecodeError, match=reason):
        decode_bytes(data)


def test_utf8_bom_is_dropped():
    assert decode_bytes(codecs.BOM_UTF8 + "新闻".encode()) == "新闻"


def test_load_articles_reads_every_format_and_reports_skips(messy_corpus: Path):
    report = LoadReport()
    articles = {a.doc_id: a for a in load_articles([messy_corpus], report)}
    assert set(articles) == {"a_utf8", "b_big5", "b_pinyin", "gbk_c_gb18030", "j1", "j3", "e"}
    assert "聯合國" in articles["b_big5"].text
    assert "气球问题" in articles["gbk_c_gb18030"].text
    assert articles["j1"].url == "https://example.com/j1" and articles["j1"].date == "2023-02-22"
    assert articles["e"].is_html
    reasons = dict(report.skipped)
    assert reasons["empty.txt"] == "empty file"
    assert reasons["binary.txt"].startswith("binary")
    assert reasons["d.jsonl:2"].startswith("malformed JSON")
    assert reasons["d.jsonl:3"] == "no 'text' field"
    assert report.files == 8  # notes.csv is not an article format


def test_sidecar_gives_urls_and_titles(tmp_path: Path):
    (tmp_path / "x.txt").write_text("正文内容。", encoding="utf-8")
    (tmp_path / "sources.json").write_text('{"x.txt": {"url": "https://n.example/x", "title": "标题"}}')
    [article] = load_articles([tmp_path], LoadReport())
    assert (article.url, article.title, article.path) == ("https://n.example/x", "标题", "x.txt")


def test_symlink_loop_is_skipped_not_followed_forever(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_text("正文内容。", encoding="utf-8")
    os.symlink(tmp_path, tmp_path / "a" / "loop")
    report = LoadReport()
    articles = list(load_articles([tmp_path], report))
    assert [a.path for a in articles] == ["a/x.txt"]
    assert any(reason == "symlink loop" for _, reason in report.skipped)


def test_missing_source_is_reported(tmp_path: Path):
    report = LoadReport()
    assert list(load_articles([tmp_path / "nope"], report)) == []
    assert report.skipped == [(str(tmp_path / "nope"), "source does not exist")]


def test_undecodable_bytes_are_skipped_with_a_reason(tmp_path: Path):
    import random

    rng = random.Random(0)
    (tmp_path / "garbage.txt").write_bytes(bytes(rng.randrange(0x80, 0x100) for _ in range(3000)))
    report = LoadReport()
    assert list(load_articles([tmp_path], report)) == []
    assert report.skipped == [("garbage.txt", "undecodable bytes (not UTF-8, GB18030, Big5 or UTF-16)")]


def test_file_that_vanishes_or_is_unreadable_mid_build_is_skipped(tmp_path: Path, monkeypatch):
    import indexer.load as load

    (tmp_path / "ok.txt").write_text("正文内容。", encoding="utf-8")
    (tmp_path / "locked.txt").write_text("正文内容。", encoding="utf-8")
    listed = list(load.iter_source_files(tmp_path, LoadReport())) + [tmp_path / "gone.txt"]
    monkeypatch.setattr(load, "iter_source_files", lambda root, report: iter(listed))
    real_read = Path.read_bytes

    def read_bytes(self):
        if self.name == "locked.txt":
            raise PermissionError(13, "Permission denied")
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    report = LoadReport()
    assert [a.path for a in load.load_articles([tmp_path], report)] == ["ok.txt"]
    assert dict(report.skipped) == {"gone.txt": "unreadable: No such file or directory",
                                    "locked.txt": "unreadable: Permission denied"}
