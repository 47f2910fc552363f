"""Read articles from text, Markdown, HTML and JSONL files, detecting their encoding."""

from __future__ import annotations

import codecs
import gzip
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from indexer.links import safe_url

TEXT_SUFFIXES = {".txt", ".md", ".text"}
HTML_SUFFIXES = {".html", ".htm"}
JSONL_SUFFIXES = {".jsonl", ".jsonl.gz"}
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


class Skip(NamedTuple):
    """An input left out of the index: `where` is a path (or `path:line` for a JSONL record)."""

    where: str
    reason: str
    kind: str = "file"  # folder, file, record (one JSONL line) or article (nothing left after cleaning)


@dataclass
class LoadReport:
    files: int = 0
    records: int = 0  # JSONL lines read, good or bad
    skipped: list[Skip] = field(default_factory=list)

    def skip(self, where: str, reason: str, kind: str = "file") -> None:
        self.skipped.append(Skip(where, reason, kind))


class SourceError(ValueError):
    """A --source root is missing or unreadable: building without it would silently drop its articles."""


class DecodeError(ValueError):
    """The bytes are not text in any supported encoding."""


def decode_bytes(data: bytes) -> str:
    """Decode news-dump bytes: BOMs first, then UTF-8, then the best Chinese legacy encoding."""
    if not data.strip():
        raise DecodeError("empty file")
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(enc)
            except UnicodeDecodeError:
                raise DecodeError(f"the byte-order mark says {enc.removesuffix('-sig').upper()}, "
                                  "but the bytes are not") from None
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


def file_kind(path: Path) -> str:
    """The suffix that decides how a file is read ('.jsonl.gz' counts as one), lower-cased."""
    name = path.name.lower()
    return ".jsonl.gz" if name.endswith(".jsonl.gz") else path.suffix.lower()


def check_sources(roots: Iterable[Path]) -> None:
    """Every root exists and can be read, else SourceError naming each bad one and why."""
    problems = []
    for root in roots:
        if not root.exists():
            problems.append(f"{root}: does not exist")
        elif not os.access(root, os.R_OK | (os.X_OK if root.is_dir() else 0)):
            problems.append(f"{root}: not readable")
    if problems:
        raise SourceError("source missing or unreadable (nothing was built; the live index is unchanged): "
                          + "; ".join(problems))


def iter_source_files(root: Path, report: LoadReport) -> Iterator[Path]:
    """Supported files under root, recursively, in a stable order; symlink loops are skipped."""
    if root.is_file():
        yield root
        return
    seen: set[tuple[int, int]] = set()

    def unreadable(exc: OSError) -> None:
        report.skip(str(exc.filename or root), f"unreadable folder: {exc.strerror or exc}", "folder")

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable, followlinks=True):
        st = os.stat(dirpath)
        if (st.st_dev, st.st_ino) in seen:
            report.skip(dirpath, "symlink loop", "folder")
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if file_kind(path) in SUPPORTED_SUFFIXES and name != SIDECAR_NAME:
                yield path


def load_sidecar(root: Path, report: LoadReport) -> dict[str, dict[str, str]]:
    """Optional `sources.json` next to the articles: {"file.txt": {"url": ..., "title": ...}}.

    A broken one is skipped with a warning: the articles are still indexed, without its metadata.
    """
    path = (root if root.is_dir() else root.parent) / SIDECAR_NAME
    if not path.is_file():
        return {}
    try:
        data = json.loads(decode_bytes(path.read_bytes()))
    except (OSError, ValueError) as exc:  # DecodeError and JSONDecodeError are ValueErrors
        report.skip(str(path), f"sources.json ignored: {exc}")
        return {}
    if not isinstance(data, dict):
        report.skip(str(path), "sources.json ignored: expected an object mapping file names to {url, title}")
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, dict)}


def load_articles(roots: list[Path], report: LoadReport) -> Iterator[Article]:
    """Every article under the given roots; a bad file or record is reported and costs only itself."""
    check_sources(roots)
    for root in roots:
        sidecar = load_sidecar(root, report)
        base = root if root.is_dir() else root.parent
        for path in iter_source_files(root, report):
            rel = path.relative_to(base).as_posix()
            report.files += 1
            if file_kind(path) in JSONL_SUFFIXES:
                yield from _jsonl_file(path, rel, report)
                continue
            try:
                data = path.read_bytes()
            except OSError as exc:
                report.skip(rel, f"unreadable: {exc.strerror or exc}")
                continue
            yield from _articles_from_file(path, rel, data, sidecar.get(rel, {}), report)


def _articles_from_file(path: Path, rel: str, data: bytes, meta: dict[str, str],
                        report: LoadReport) -> Iterator[Article]:
    try:
        text = decode_bytes(data)
    except DecodeError as exc:
        report.skip(rel, str(exc))
        return
    doc_id = ascii_slug(rel.rsplit(".", 1)[0])
    yield Article(doc_id=doc_id, text=text, path=rel, title=meta.get("title"), url=safe_url(meta.get("url")),
                  date=meta.get("date"), source=meta.get("source"), is_html=file_kind(path) in HTML_SUFFIXES)


def _jsonl_file(path: Path, rel: str, report: LoadReport) -> Iterator[Article]:
    """Records of a JSONL (or gzipped JSONL) file, streamed; a truncated or unreadable file keeps the
    records read before the damage."""
    opener = gzip.open if file_kind(path) == ".jsonl.gz" else open
    before = report.records
    try:
        with opener(path, "rb") as handle:
            yield from _jsonl_articles(_jsonl_lines(handle), rel, report)
    except (OSError, EOFError, UnicodeDecodeError) as exc:  # gzip.BadGzipFile is an OSError
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        report.skip(rel, f"unreadable after {report.records - before} records: {reason}")


def _jsonl_lines(handle) -> Iterator[tuple[int, bytes]]:
    """(line number, UTF-8 bytes) per line, split on "\\n" only: U+2028, U+2029 and U+0085 are valid
    inside JSON strings, and str.splitlines() would cut a record there."""
    if handle.peek(2)[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):  # rare: read it whole
        text = handle.read().decode("utf-16")
        yield from enumerate((line.encode("utf-8", "surrogatepass") for line in text.split("\n")), start=1)
        return
    yield from enumerate(handle, start=1)


def _jsonl_articles(lines: Iterable[tuple[int, bytes]], rel: str, report: LoadReport) -> Iterator[Article]:
    stem = ascii_slug(rel.rsplit(".", 1)[0])
    encoding = "utf-8"
    for lineno, raw in lines:
        if lineno == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
        if not raw.strip():
            continue
        report.records += 1
        where = f"{rel}:{lineno}"
        obj, reason = _parse_record(raw, encoding)
        if reason == "not valid UTF-8" and lineno == 1 and _is_legacy_line(raw):
            encoding = "gb18030"  # an export from a Chinese Windows tool: read the whole file as GB18030
            obj, reason = _parse_record(raw, encoding)
        if reason:
            report.skip(where, reason, "record")
            continue
        article = _record_article(obj, stem, rel, lineno)
        if article is None:
            report.skip(where, "no 'text' field", "record")
            continue
        yield article


def _is_legacy_line(raw: bytes) -> bool:
    try:
        return _cjk_plausibility(raw.decode("gb18030")) > 0.2
    except UnicodeDecodeError:
        return False


def _parse_record(raw: bytes, encoding: str) -> tuple[object, str | None]:
    """The JSON value of one line, or the reason it cannot be used."""
    try:
        line = raw.decode(encoding)
    except UnicodeDecodeError:
        return None, f"not valid {'UTF-8' if encoding == 'utf-8' else encoding.upper()}"
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, f"malformed JSON ({exc.msg})"
    except RecursionError:
        return None, "malformed JSON (nested too deeply)"
    if _has_lone_surrogate(obj):
        return None, "lone surrogate in a string (\\ud800-\\udfff escape without its pair)"
    return obj, None


def _has_lone_surrogate(obj: object) -> bool:
    if isinstance(obj, dict):
        return any(_has_lone_surrogate(v) for v in obj.values())
    if isinstance(obj, str):
        try:
            obj.encode("utf-8")
        except UnicodeEncodeError:
            return True
    return False


def _record_article(obj: object, stem: str, rel: str, lineno: int) -> Article | None:
    body = obj.get("text") if isinstance(obj, dict) else None
    if not isinstance(obj, dict) or not isinstance(body, str) or not body.strip():
        return None
    raw_id = obj.get("id")
    doc_id = ascii_slug(str(raw_id)) if raw_id not in (None, "") else f"{stem}-{lineno}"
    return Article(doc_id=doc_id, text=body, path=f"{rel}:{lineno}", title=_opt(obj, "title"),
                   url=safe_url(obj.get("url")), date=_opt(obj, "date"), source=_opt(obj, "source"))


def _opt(obj: dict, key: str) -> str | None:
    value = obj.get(key)
    return str(value).strip() or None if value is not None else None
