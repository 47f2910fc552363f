"""Read articles from text, Markdown, HTML and JSONL files, detecting their encoding."""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

TEXT_SUFFIXES = {".txt", ".md", ".text"}
HTML_SUFFIXES = {".html", ".htm"}
JSONL_SUFFIXES = {".jsonl"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES
SIDECAR_NAME = "sources.json"
# Encodings that occur in Chinese news dumps, tried in this order after the BOM checks.
FALLBACK_ENCODINGS = ("utf-8", "gb18030", "big5", "utf-16")


@dataclass
class Article:
    doc_id: str
    text: str
    path: str
    title: str | None = None
    url: str | None = None
    date: str | None = None
    source: str | None = None
    is_html: bool = False


@dataclass
class LoadReport:
    files: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def skip(self, where: str, reason: str) -> None:
        self.skipped.append((where, reason))


class DecodeError(ValueError):
    """The bytes are not text in any supported encoding."""


def decode_bytes(data: bytes) -> str:
    """Decode news-dump bytes: BOMs first, then UTF-8, then the best Chinese legacy encoding."""
    if not data.strip():
        raise DecodeError("empty file")
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(enc)
    if b"\x00" in data:
        text = _bomless_utf16(data)
        if text is None:
            raise DecodeError("binary content (NUL bytes)")
        return text
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return _decode_legacy(data)


def _bomless_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM, if one byte order decodes into mostly printable text."""
    if len(data) % 2:
        return None
    for enc in ("utf-16-le", "utf-16-be"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        printable = sum(ch.isprintable() or ch in "\n\r\t" for ch in text)
        if printable >= 0.97 * len(text) and _cjk_plausibility(text) + _ascii_share(text) > 0.1:
            return text
    return None


def _ascii_share(text: str) -> float:
    return sum(ch.isascii() and ch.isalpha() for ch in text) / max(len(text), 1)


def _decode_legacy(data: bytes) -> str:
    """Pick GB18030 or Big5 by which decodes cleanly into more common CJK characters."""
    from charset_normalizer import from_bytes

    candidates: list[tuple[float, str]] = []
    for enc in ("gb18030", "big5"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        candidates.append((_cjk_plausibility(text), text))
    if candidates:
        return max(candidates, key=lambda c: c[0])[1]
    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise DecodeError("undecodable bytes (not UTF-8, GB18030, Big5 or UTF-16)")
    return str(best)


_COMMON_CJK = re.compile(r"[的是在了不和有大这這中人国國为為上个個们們来來到说說年时時地会會与與对對]")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _cjk_plausibility(text: str) -> float:
    # Both decoders "succeed" on many inputs; the right one yields frequent characters.
    cjk = len(_CJK.findall(text)) or 1
    return len(_COMMON_CJK.findall(text)) / cjk


def ascii_slug(value: str, limit: int = 80) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", value).strip("_.")
    if not slug or len(slug) > limit:
        return hashlib.sha1(value.encode("utf-8")).hexdigest()[:16]
    return slug


def iter_source_files(root: Path, report: LoadReport) -> Iterator[Path]:
    """Supported files under root, recursively, in a stable order; symlink loops are skipped."""
    if root.is_file():
        yield root
        return
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        st = os.stat(dirpath)
        if (st.st_dev, st.st_ino) in seen:
            report.skip(dirpath, "symlink loop")
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.suffix.lower() in SUPPORTED_SUFFIXES and name != SIDECAR_NAME:
                yield path


def load_sidecar(root: Path) -> dict[str, dict[str, str]]:
    """Optional `sources.json` next to the articles: {"file.txt": {"url": ..., "title": ...}}."""
    path = (root if root.is_dir() else root.parent) / SIDECAR_NAME
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object mapping file names to {{url, title}}")
    return {str(k): v for k, v in data.items() if isinstance(v, dict)}


def load_articles(roots: list[Path], report: LoadReport) -> Iterator[Article]:
    """Every article under the given roots; unreadable inputs are reported, not raised."""
    for root in roots:
        if not root.exists():
            report.skip(str(root), "source does not exist")
            continue
        sidecar = load_sidecar(root)
        base = root if root.is_dir() else root.parent
        for path in iter_source_files(root, report):
            rel = path.relative_to(base).as_posix()
            report.files += 1
            try:
                data = path.read_bytes()
            except OSError as exc:
                report.skip(rel, f"unreadable: {exc.strerror or exc}")
                continue
            yield from _articles_from_file(path, rel, data, sidecar.get(rel, {}), report)


def _articles_from_file(path: Path, rel: str, data: bytes, meta: dict[str, str],
                        report: LoadReport) -> Iterator[Article]:
    suffix = path.suffix.lower()
    try:
        text = decode_bytes(data)
    except DecodeError as exc:
        report.skip(rel, str(exc))
        return
    if suffix in JSONL_SUFFIXES:
        yield from _jsonl_articles(text, rel, report)
        return
    doc_id = ascii_slug(rel.rsplit(".", 1)[0])
    yield Article(doc_id=doc_id, text=text, path=rel, title=meta.get("title"), url=meta.get("url"),
                  date=meta.get("date"), source=meta.get("source"), is_html=suffix in HTML_SUFFIXES)


def _jsonl_articles(text: str, rel: str, report: LoadReport) -> Iterator[Article]:
    stem = ascii_slug(rel.rsplit(".", 1)[0])
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            report.skip(f"{rel}:{lineno}", f"malformed JSON ({exc.msg})")
            continue
        body = obj.get("text") if isinstance(obj, dict) else None
        if not isinstance(body, str) or not body.strip():
            report.skip(f"{rel}:{lineno}", "no 'text' field")
            continue
        raw_id = obj.get("id")
        doc_id = ascii_slug(str(raw_id)) if raw_id not in (None, "") else f"{stem}-{lineno}"
        yield Article(doc_id=doc_id, text=body, path=f"{rel}:{lineno}", title=_opt(obj, "title"),
                      url=_opt(obj, "url"), date=_opt(obj, "date"), source=_opt(obj, "source"))


def _opt(obj: dict, key: str) -> str | None:
    value = obj.get(key)
    return str(value).strip() or None if value is not None else None
