"""On-disk index: FAISS vectors per signal, BM25, SQLite metadata and manifest.json, swapped in atomically."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from indexer import FORMAT_VERSION
from indexer.rowfile import read_npy_header

CURRENT = "current"  # symlink to the live build; replaced atomically by os.replace
BUILDS = "builds"
MANIFEST = "manifest.json"
SENTENCE_SUFFIX = ".sent"  # sentence-level vectors of signal X: X.sent.i8.npy and X.sent.scale.npy
SENTENCE_OFFSETS = "sentence_offsets.npy"
DB = "passages.sqlite"

SCHEMA = """
CREATE TABLE articles (doc_id TEXT PRIMARY KEY, title TEXT, date TEXT, path TEXT, url TEXT,
                       source TEXT, lang TEXT);
CREATE TABLE passages (row INTEGER PRIMARY KEY, passage_id TEXT UNIQUE NOT NULL, text TEXT NOT NULL,
                       fp TEXT NOT NULL, lang TEXT NOT NULL, doc_id TEXT NOT NULL, position INTEGER NOT NULL);
CREATE TABLE occurrences (passage_id TEXT NOT NULL, doc_id TEXT NOT NULL, position INTEGER NOT NULL,
                          PRIMARY KEY (doc_id, position));
CREATE INDEX occurrences_pid ON occurrences(passage_id);
"""


class IndexNotFoundError(FileNotFoundError):
    """No built index where one was expected."""


class IndexLockedError(RuntimeError):
    """Another build holds the index lock."""


class IndexMismatchError(ValueError):
    """The index was built with other models or another format than the reader expects."""


@dataclass(frozen=True)
class ArticleRow:
    doc_id: str
    title: str | None
    date: str | None
    path: str
    url: str | None
    source: str | None
    lang: str


def live_dir(index_dir: Path) -> Path:
    """The directory of the live build, or IndexNotFoundError with how to make one."""
    current = index_dir / CURRENT
    if not (current / MANIFEST).is_file():
        raise IndexNotFoundError(
            f"no index at {index_dir}: build one with `python -m indexer build --index {index_dir}`")
    return current.resolve()


def read_manifest(index_dir: Path) -> dict:
    manifest = json.loads((live_dir(index_dir) / MANIFEST).read_text(encoding="utf-8"))
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(f"index format {manifest.get('format_version')!r} is not {FORMAT_VERSION}: "
                                 "rebuild it with `python -m indexer build`")
    return manifest


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """One build at a time per index: a second one is refused, never interleaved."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexLockedError(f"another build is running on {index_dir}; try again when it ends") from None
        yield


KEEP_BUILDS = 2  # previous builds kept beside the live one, for `python -m indexer rollback`
INDEX_ID = "index_id"  # names this index's collections in a shared Qdrant
TMP_SUFFIX = "-tmp"


def new_build_dir(index_dir: Path) -> Path:
    # microseconds in the name: builds sort by creation, which is what "previous" means. One clock reading
    # for both parts: read twice, a second boundary between the reads put a later build first.
    now = time.time_ns()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(now // 10**9)) + f"{now // 1000 % 1_000_000:06d}"
    path = index_dir / BUILDS / f"{stamp}-{uuid.uuid4().hex[:8]}{TMP_SUFFIX}"
    path.mkdir(parents=True)
    return path


def index_id(index_dir: Path) -> str:
    """This index folder's own id, made on its first build (call it under the build lock)."""
    path = index_dir / INDEX_ID
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    value = uuid.uuid4().hex[:12]
    _write_durably(path, value)
    return value


def clean_leftovers(index_dir: Path) -> None:
    """Remove what a killed build left behind (unfinished build folders, a half-made link)."""
    builds = index_dir / BUILDS
    for path in builds.iterdir() if builds.is_dir() else []:
        if path.name.endswith(TMP_SUFFIX):
            shutil.rmtree(path, ignore_errors=True)
    _clear_tmp_link(index_dir)


def _clear_tmp_link(index_dir: Path) -> Path:
    """The path the next `current` link is made at, with any half-made one removed."""
    tmp_link = index_dir / f".{CURRENT}.tmp"
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    return tmp_link


def finished_builds(index_dir: Path) -> list[Path]:
    """Complete builds, oldest first."""
    builds = index_dir / BUILDS
    if not builds.is_dir():
        return []
    return sorted(p for p in builds.iterdir() if p.is_dir() and not p.name.endswith(TMP_SUFFIX))


def publish(index_dir: Path, build_dir: Path, keep: int = KEEP_BUILDS) -> tuple[Path, list[str]]:
    """Make a finished build durable, point `current` at it atomically, and keep `keep` previous builds.

    Returns the published folder and the ids of every build still on disk (live first).
    """
    final = build_dir.with_name(build_id(build_dir))
    _fsync_tree(build_dir)
    build_dir.rename(final)
    _fsync(final.parent)
    switch_current(index_dir, final.name)
    return final, prune_builds(index_dir, keep)


def switch_current(index_dir: Path, name: str) -> None:
    tmp_link = _clear_tmp_link(index_dir)
    tmp_link.symlink_to(Path(BUILDS) / name)
    os.replace(tmp_link, index_dir / CURRENT)
    _fsync(index_dir)  # the switch itself survives a power cut


def prune_builds(index_dir: Path, keep: int = KEEP_BUILDS) -> list[str]:
    """Delete all but the live build and the `keep` newest others; the ids that remain, live first."""
    live = live_dir(index_dir).name
    others = [p for p in finished_builds(index_dir) if p.name != live]
    kept = others[len(others) - keep:] if keep > 0 else []
    for old in others:
        if old not in kept:
            shutil.rmtree(old, ignore_errors=True)
    return [live] + [p.name for p in reversed(kept)]


class NoPreviousBuildError(RuntimeError):
    """Rollback asked for, but no build older than the live one is kept."""


def rollback(index_dir: Path) -> tuple[str, str]:
    """Point `current` at the newest kept build older than the live one: (from, to)."""
    live = live_dir(index_dir).name
    older = [p for p in finished_builds(index_dir) if p.name < live and (p / MANIFEST).is_file()]
    if not older:
        raise NoPreviousBuildError(f"no build older than {live} is kept in {index_dir / BUILDS}")
    switch_current(index_dir, older[-1].name)
    return live, older[-1].name


def _fsync_tree(root: Path) -> None:
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            _fsync(Path(dirpath) / name)
        _fsync(Path(dirpath))


def _fsync(path: Path) -> None:
    """Flush a file's data, or a folder's entries, to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durably(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync(path.parent)


# Exact search below this many vectors; HNSW above (a flat scan of 26k x 512 floats already costs ~9 ms).
ANN_THRESHOLD = 20_000
HNSW_M = 32
HNSW_EF_SEARCH = 128


def make_vector_index(vectors: np.ndarray, ann_threshold: int = ANN_THRESHOLD):
    """Exact inner-product index for small corpora, HNSW for large ones."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    # Inner product == cosine: every embedder returns L2-normalised vectors.
    index: faiss.IndexFlatIP | faiss.IndexHNSWSQ
    if len(vectors) < ann_threshold:
        index = faiss.IndexFlatIP(vectors.shape[1])
    else:
        # fp16 storage halves the memory of a large index; cosines move by ~1e-4.
        # faiss's stubs type the 2nd argument as a ScalarQuantizer; the constructor takes its QuantizerType (an int)
        index = faiss.IndexHNSWSQ(vectors.shape[1], faiss.ScalarQuantizer.QT_fp16, HNSW_M,  # type: ignore[arg-type]
                                  faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 40
        index.train(vectors)
    index.add(vectors)
    return index


def write_vectors(build_dir: Path, name: str, vectors: np.ndarray, ann_threshold: int = ANN_THRESHOLD,
                  base: Path | None = None) -> None:
    """A FAISS index of the vectors; `base` is a build whose index of this signal holds the first rows of
    `vectors` (this build only added passages): its HNSW graph is extended rather than built again."""
    import faiss

    index = _extended(base / f"{name}.faiss", vectors, ann_threshold) if base else None
    faiss.write_index(index or make_vector_index(vectors, ann_threshold), str(build_dir / f"{name}.faiss"))


def _extended(path: Path, vectors: np.ndarray, ann_threshold: int):
    """The HNSW index at `path` with the rows it lacks added, or None when it is not that index's start
    (another kind or size of index, other dimensions, more rows): the vectors are inserted in the order a
    fresh build inserts them, so the graph is one a fresh build could make."""
    import faiss

    if len(vectors) < ann_threshold or not path.is_file():
        return None  # a flat index costs nothing to rebuild
    index = faiss.read_index(str(path))  # already its own class; keep this object: it owns the index
    if (not isinstance(index, faiss.IndexHNSWSQ) or index.d != vectors.shape[1] or index.ntotal > len(vectors)
            or index.hnsw.nb_neighbors(1) != HNSW_M  # type: ignore[attr-defined]  # (not in faiss's stubs)
            or faiss.downcast_index(index.storage).sq.qtype != faiss.ScalarQuantizer.QT_fp16):  # type: ignore[attr-defined]
        return None
    index.hnsw.efConstruction = 40
    index.add(np.ascontiguousarray(vectors[index.ntotal:], dtype=np.float32))
    return index


def extendable_build(index_dir: Path, passage_ids: list[str]) -> tuple[Path, dict] | None:
    """The live build and its models when its passages are the first rows of `passage_ids` (articles were
    only added since), so its vector indexes can be extended; else None."""
    try:
        live, manifest = live_dir(index_dir), read_manifest(index_dir)
        conn = open_db(live)
    except (IndexNotFoundError, IndexMismatchError, OSError, ValueError, sqlite3.Error):
        return None
    try:
        if manifest.get("vector_store", {}).get("kind") != "faiss":
            return None
        rows = conn.execute("SELECT passage_id FROM passages ORDER BY row")
        n = 0
        for n, (pid,) in enumerate(rows, start=1):
            if n > len(passage_ids) or passage_ids[n - 1] != pid:
                return None
        return (live, manifest["models"]) if n else None
    except (sqlite3.Error, KeyError):
        return None
    finally:
        conn.close()


def read_vectors(build_dir: Path, name: str):
    import faiss

    index = faiss.read_index(str(build_dir / f"{name}.faiss"))
    if hasattr(index, "hnsw"):
        index.hnsw.efSearch = HNSW_EF_SEARCH
    return index


def vector_matrix(index) -> np.ndarray | None:
    """Zero-copy (n, d) view of the vectors inside a flat (float32) or HNSW-SQ (float16) FAISS index."""
    import faiss

    storage = faiss.downcast_index(index.storage) if hasattr(index, "storage") else index
    n, d = storage.ntotal, storage.d
    if n == 0:
        return None
    if isinstance(storage, faiss.IndexFlat):
        return faiss.rev_swig_ptr(storage.get_xb(), n * d).reshape(n, d)
    if isinstance(storage, faiss.IndexScalarQuantizer) and storage.code_size == 2 * d:  # QT_fp16
        return faiss.rev_swig_ptr(storage.codes.data(), n * storage.code_size).view(np.float16).reshape(n, d)
    return None


def row_reader(index) -> Callable[[np.ndarray], np.ndarray]:
    """A function rows -> float32 vectors: a gather from FAISS's memory where it holds plain vectors,
    else (Qdrant) reconstruct."""
    matrix = vector_matrix(index) if not hasattr(index, "collection") else None
    if matrix is not None and matrix.dtype == np.float16:
        # numpy converts float16 without SIMD here; a 65,536-entry lookup table is twice as fast (exact)
        codes, table = matrix.view(np.uint16), _half_to_float()
        return lambda rows: np.take(table, np.take(codes, rows, axis=0))
    if matrix is not None:
        return lambda rows: matrix[rows].astype(np.float32, copy=False)
    return lambda rows: index.reconstruct_batch(rows) if len(rows) else np.zeros((0, index.d), np.float32)


@lru_cache(maxsize=1)
def _half_to_float() -> np.ndarray:
    return np.arange(65536, dtype=np.uint16).view(np.float16).astype(np.float32)


def write_sentence_vectors(build_dir: Path, name: str, dim: int,
                           blocks: Callable[[], Iterable[np.ndarray]]) -> None:
    """Sentence vectors as int8 with one scale per dimension. They only rescore candidates that the passage
    vectors and BM25 found (a sentence-level nearest-neighbour search added nothing on news or xquad), so
    they need no index, and the server maps them from disk instead of holding them (README: Scale).

    `blocks()` yields the float32 vectors in row order, a block at a time; it is called twice (scale, then
    codes), so a build never holds every sentence vector at once.
    """
    peak, rows = np.zeros(dim, np.float32), 0
    for block in blocks():
        if len(block):
            peak, rows = np.maximum(peak, np.abs(block).max(axis=0)), rows + len(block)
    scale = np.where(peak > 0, peak / 127, 1).astype(np.float32)
    with open(build_dir / f"{name}{SENTENCE_SUFFIX}.i8.npy", "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, {"descr": "|i1", "fortran_order": False,
                                                       "shape": (rows, dim)})
        for block in blocks():
            handle.write(np.round(block / scale).astype(np.int8).tobytes())
    np.save(build_dir / f"{name}{SENTENCE_SUFFIX}.scale.npy", scale)


SENTENCE_GAP = 16  # rows: asked-for rows this close together are read in one call


def sentence_reader(build_dir: Path, name: str) -> Callable[[np.ndarray], np.ndarray]:
    """rows -> float32 sentence vectors, read from the int8 file with pread: only the rows asked for
    are read, and what was read stays in the kernel's page cache, shared and reclaimable. Through a memory
    map every page a query ever touched would count as the server's own memory until it exits (at 145k
    passages that was the whole 640 MB after a few hundred queries)."""
    path = build_dir / f"{name}{SENTENCE_SUFFIX}.i8.npy"
    handle = open(path, "rb")  # closed when the reader (and the searcher holding it) is collected
    (n, dim), _, dtype = read_npy_header(handle)
    if dtype != np.int8:
        raise IndexMismatchError(f"{path.name}: sentence vectors are {dtype}, expected int8")
    offset = handle.tell()
    scale = np.load(build_dir / f"{name}{SENTENCE_SUFFIX}.scale.npy")

    def read(rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return np.zeros((0, dim), np.float32)
        if rows.min() < 0 or rows.max() >= n:
            raise IndexError(f"sentence rows outside 0..{n}")
        order = np.argsort(rows, kind="stable")
        wanted = rows[order]
        # runs of nearby rows, one read each into one buffer: no Python work per row
        cut = np.flatnonzero(np.diff(wanted) > SENTENCE_GAP) + 1
        firsts = wanted[np.concatenate([[0], cut])]
        lasts = wanted[np.concatenate([cut - 1, [len(wanted) - 1]])] + 1
        sizes = (lasts - firsts) * dim
        buffer = bytearray(int(sizes.sum()))
        view, fd, at = memoryview(buffer), handle.fileno(), 0
        for first, size in zip((offset + firsts * dim).tolist(), sizes.tolist()):
            if os.preadv(fd, [view[at:at + size]], first) != size:
                raise OSError(f"{path.name}: short read (was the file truncated?)")
            at += size
        run = np.repeat(np.arange(len(firsts)), np.diff(np.concatenate([[0], cut, [len(wanted)]])))
        starts = np.cumsum(lasts - firsts) - (lasts - firsts)  # each run's first row in the buffer
        codes = np.frombuffer(buffer, dtype=np.int8).reshape(-1, dim)
        out = np.empty((len(rows), dim), dtype=np.float32)
        out[order] = codes[starts[run] + wanted - firsts[run]]
        out *= scale
        return out

    return read


def build_id(build_dir: Path) -> str:
    return build_dir.name.removesuffix(TMP_SUFFIX)


def write_signal(build_dir: Path, name: str, vectors: np.ndarray, vector_store: dict,
                 ann_threshold: int = ANN_THRESHOLD, base: Path | None = None) -> None:
    """Store one signal's vectors where the manifest's `vector_store` says (`base`: see write_vectors)."""
    if vector_store["kind"] == "faiss":
        write_vectors(build_dir, name, vectors, ann_threshold, base)
        return
    from indexer import qdrant

    qc = qdrant.client(vector_store.get("url"), vector_store.get("path"))
    qdrant.write(qc, qdrant.collection_name(vector_store["prefix"], build_id(build_dir), name), vectors)


def open_signal(build_dir: Path, manifest: dict, name: str, qdrant_url: str | None = None):
    """A FAISS index, or a Qdrant collection behind the same search/reconstruct_batch calls."""
    vector_store = manifest.get("vector_store", {"kind": "faiss"})
    if vector_store["kind"] == "faiss":
        return read_vectors(build_dir, name)
    from indexer import qdrant

    url = qdrant_url or vector_store.get("url")
    qc = qdrant.client(url, None if url else vector_store.get("path"))
    return qdrant.QdrantVectors(qc, qdrant.collection_name(vector_store["prefix"], build_id(build_dir), name))


def drop_other_builds(vector_store: dict, keep: list[str]) -> None:
    """Delete this index's Qdrant collections of every build not in `keep` (FAISS files go with their
    folder); other indexes' collections in the same Qdrant are never touched."""
    if vector_store["kind"] != "qdrant":
        return
    from indexer import qdrant

    qdrant.drop_builds(qdrant.client(vector_store.get("url"), vector_store.get("path")),
                       vector_store["prefix"], keep)


def live_articles(index_dir: Path) -> dict[str, str]:
    """doc_id -> source path of every article in the live build; empty when there is none."""
    try:
        conn = open_db(live_dir(index_dir))
    except (IndexNotFoundError, sqlite3.Error):
        return {}
    try:
        return {r["doc_id"]: r["path"] for r in conn.execute("SELECT doc_id, path FROM articles")}
    except sqlite3.Error:
        return {}
    finally:
        conn.close()


def write_db(build_dir: Path, articles: list[ArticleRow], passages: list[tuple],
             occurrences: list[tuple[str, str, int]]) -> None:
    """passages: (row, passage_id, text, fp, lang, doc_id, position) in FAISS row order; fp is the
    passage's matching form (normalize.fingerprint), stored so queries need not recompute it."""
    with sqlite3.connect(build_dir / DB) as conn:
        conn.executescript(SCHEMA)
        conn.executemany("INSERT INTO articles VALUES (?,?,?,?,?,?,?)",
                         [(a.doc_id, a.title, a.date, a.path, a.url, a.source, a.lang) for a in articles])
        conn.executemany("INSERT INTO passages VALUES (?,?,?,?,?,?,?)", passages)
        conn.executemany("INSERT OR IGNORE INTO occurrences VALUES (?,?,?)", occurrences)
    conn.close()


def open_db(build_dir: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{build_dir / DB}?mode=ro", uri=True, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    return conn


def write_manifest(build_dir: Path, manifest: dict) -> None:
    manifest = {"format_version": FORMAT_VERSION, **manifest}
    (build_dir / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
