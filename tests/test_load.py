import codecs
import json
import os
from pathlib import Path

import pytest

from indexer.load import DecodeError, LoadReport, SourceError, decode_bytes, load_articles

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
    reasons = {s.where: s.reason for s in report.skipped}
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
    assert any(s.reason == "symlink loop" and s.kind == "folder" for s in report.skipped)


def test_missing_or_unreadable_source_root_is_an_error(tmp_path: Path, monkeypatch):
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "x.txt").write_text("正文内容。", encoding="utf-8")
    (tmp_path / "locked").mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: "locked" not in str(p) and real_access(p, mode))
    roots = [tmp_path / "ok", tmp_path / "nope", tmp_path / "locked"]
    with pytest.raises(SourceError) as err:
        list(load_articles(roots, LoadReport()))
    assert f"{tmp_path / 'nope'}: does not exist" in str(err.value)
    assert f"{tmp_path / 'locked'}: not readable" in str(err.value)


def test_unreadable_subfolder_is_reported(tmp_path: Path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_text("正文内容。", encoding="utf-8")
    (tmp_path / "b").mkdir()
    real_scandir = os.scandir

    def scandir(path):
        if str(path).endswith("b"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    report = LoadReport()
    assert [a.path for a in load_articles([tmp_path], report)] == ["a/x.txt"]
    assert report.skipped == [(str(tmp_path / "b"), "unreadable folder: Permission denied", "folder")]


def test_undecodable_bytes_are_skipped_with_a_reason(tmp_path: Path):
    import random

    rng = random.Random(0)
    (tmp_path / "garbage.txt").write_bytes(bytes(rng.randrange(0x80, 0x100) for _ in range(3000)))
    report = LoadReport()
    assert list(load_articles([tmp_path], report)) == []
    assert report.skipped == [("garbage.txt", "undecodable bytes (not UTF-8, GB18030, Big5 or UTF-16)", "file")]


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
    assert {s.where: s.reason for s in report.skipped} == {"gone.txt": "unreadable: No such file or directory",
                                    "locked.txt": "unreadable: Permission denied"}


def _jsonl(*records) -> bytes:
    return b"\n".join(r if isinstance(r, bytes) else json.dumps(r, ensure_ascii=False).encode() for r in records)


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085"])
def test_jsonl_line_separators_inside_strings_stay_in_the_record(tmp_path: Path, separator):
    # json.dumps(ensure_ascii=False) writes these raw, as Python's json module does for U+0085.
    data = _jsonl({"text": f"第一句。{separator}第二句。"}, {"text": "另一篇文章。"}, {"text": "第三篇。"})
    (tmp_path / "x.jsonl").write_bytes(data)
    report = LoadReport()
    articles = list(load_articles([tmp_path], report))
    assert [(a.doc_id, a.text) for a in articles] == [("x-1", f"第一句。{separator}第二句。"),
                                                      ("x-2", "另一篇文章。"), ("x-3", "第三篇。")]
    assert report.skipped == [] and report.records == 3


def test_one_bad_jsonl_record_costs_only_itself(tmp_path: Path):
    bad_utf8 = b'{"id": "b", "text": "\xe6\x96\xb0\xff\xfe"}'
    data = _jsonl({"id": "a", "text": "第一篇。"}, bad_utf8, b'{"id": "s", "text": "\\ud800 lone"}',
                  b"{not json", {"id": "n", "title": "no text"}, {"id": "z", "text": "最后一篇。"})
    (tmp_path / "x.jsonl").write_bytes(data)
    report = LoadReport()
    assert [a.doc_id for a in load_articles([tmp_path], report)] == ["a", "z"]
    assert [(s.where, s.reason.split(" (")[0], s.kind) for s in report.skipped] == [
        ("x.jsonl:2", "not valid UTF-8", "record"), ("x.jsonl:3", "lone surrogate in a string", "record"),
        ("x.jsonl:4", "malformed JSON", "record"), ("x.jsonl:5", "no 'text' field", "record")]


def test_gb18030_jsonl_export_is_read_whole(tmp_path: Path):
    (tmp_path / "x.jsonl").write_bytes(_jsonl({"text": "中国是联合国维和行动的第二大出资国。"},
                                              {"text": "上海合作组织峰会在阿斯塔纳举行。"}).decode().encode("gb18030"))
    report = LoadReport()
    assert [a.text for a in load_articles([tmp_path], report)] == ["中国是联合国维和行动的第二大出资国。",
                                                                  "上海合作组织峰会在阿斯塔纳举行。"]
    assert report.skipped == []


def test_gzipped_jsonl_streams_and_a_truncated_one_keeps_what_it_read(tmp_path: Path):
    import gzip

    records = [{"id": f"n{i}", "text": f"第{i}篇新闻的正文内容。" * 20} for i in range(300)]
    whole = gzip.compress(_jsonl(*records))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "a.jsonl.gz").write_bytes(whole)
    assert len(list(load_articles([tmp_path / "full"], LoadReport()))) == 300
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "a.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    report = LoadReport()
    got = list(load_articles([tmp_path / "cut"], report))
    assert 0 < len(got) < 300 and [a.doc_id for a in got] == [f"n{i}" for i in range(len(got))]
    [skip] = report.skipped
    assert skip.where == "a.jsonl.gz" and skip.reason.startswith(f"unreadable after {len(got)} records")


def test_a_bom_that_lies_skips_only_that_file(tmp_path: Path):
    (tmp_path / "liar.txt").write_bytes(codecs.BOM_UTF8 + "中国新闻".encode("gb18030"))
    (tmp_path / "ok.txt").write_text("正文内容。", encoding="utf-8")
    report = LoadReport()
    assert [a.path for a in load_articles([tmp_path], report)] == ["ok.txt"]
    assert report.skipped == [("liar.txt", "the byte-order mark says UTF-8, but the bytes are not", "file")]


@pytest.mark.parametrize("sidecar", [b"{broken", b"[1, 2]", b"\xff\xfe\x00garbage\xd8"])
def test_a_bad_sources_json_is_skipped_with_a_warning(tmp_path: Path, sidecar: bytes):
    (tmp_path / "x.txt").write_text("正文内容。", encoding="utf-8")
    (tmp_path / "sources.json").write_bytes(sidecar)
    report = LoadReport()
    [article] = load_articles([tmp_path], report)
    assert article.path == "x.txt" and article.url is None
    [skip] = report.skipped
    assert skip.where == str(tmp_path / "sources.json") and skip.reason.startswith("sources.json ignored")


def test_only_http_urls_survive_loading(tmp_path: Path):
    (tmp_path / "x.jsonl").write_bytes(_jsonl({"id": "a", "text": "一。", "url": "javascript:alert(document.domain)"},
                                              {"id": "b", "text": "二。", "url": " HTTPS://news.example/b "}))
    (tmp_path / "y.txt").write_text("三。", encoding="utf-8")
    (tmp_path / "sources.json").write_text('{"y.txt": {"url": "JavaScript:alert(1)"}}', encoding="utf-8")
    urls = {a.doc_id: a.url for a in load_articles([tmp_path], LoadReport())}
    assert urls == {"a": None, "b": "HTTPS://news.example/b", "y": None}
