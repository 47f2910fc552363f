"""Build configuration for the indexer."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_MODELS: tuple[str, ...] = ("use", "e5")


@dataclass(frozen=True)
class IndexConfig:
    """Everything a build depends on; recorded in the manifest so a loader can check it."""

    sources: tuple[Path, ...] = (Path("seeds"),)
    index_dir: Path = Path("index")
    # Passages longer than this are split at sentence ends (~one news paragraph).
    max_chars: int = 400
    # Shorter paragraphs are merged into a neighbour so no passage is a bare fragment.
    min_chars: int = 20
    models: tuple[str, ...] = field(default=DEFAULT_MODELS)
    batch_size: int = 32
    # Exact FAISS search below this many vectors, HNSW (approximate, recall@10 ~0.99+) above.
    ann_threshold: int = 20_000
    # Vector store: FAISS files in the index folder, or Qdrant (server URL or embedded local path).
    store: str = "faiss"
    qdrant_url: str | None = None
    qdrant_path: str | None = None
    qdrant_prefix: str = "newssearch"
    show_progress: bool = True
    # Previous builds kept beside the live one (rollback; their Qdrant collections stay too).
    keep_builds: int = 2
    # A rebuild that would drop more than this share of the live build's articles is refused...
    max_shrink: float = 0.10
    # ...unless the user says the loss is intended.
    allow_shrink: bool = False
    # Refuse to publish when any input (folder, file, record) was skipped.
    strict: bool = False
    # Embed on a Ray cluster ("auto": the one running on this machine, or its address); None: here.
    ray: str | None = None

    def __post_init__(self) -> None:
        if self.max_chars < 50:
            raise ValueError(f"max_chars must be >= 50, got {self.max_chars}")
        if not 0 <= self.min_chars < self.max_chars:
            raise ValueError(f"min_chars must be in [0, max_chars), got {self.min_chars}")
        if not self.models:
            raise ValueError("at least one embedding model is required")
        if self.store not in ("faiss", "qdrant"):
            raise ValueError(f"store must be 'faiss' or 'qdrant', got {self.store!r}")
        if self.store == "qdrant" and bool(self.qdrant_url) == bool(self.qdrant_path):
            raise ValueError("--store qdrant needs exactly one of --qdrant-url or --qdrant-path")
        if self.ray is not None and not self.ray.strip():
            raise ValueError("--ray needs 'auto' or a cluster address, got an empty string")
        if self.keep_builds < 0:
            raise ValueError(f"keep_builds must be >= 0, got {self.keep_builds}")

    def vector_index(self, n: int) -> str:
        if self.store == "qdrant":
            return "qdrant"
        return "flat-ip" if n < self.ann_threshold else "hnsw-ip"

    def vector_store(self, index_id: str) -> dict[str, str | None]:
        """Where vectors go; in Qdrant each index's collections carry its own id, so indexes can share one."""
        if self.store == "faiss":
            return {"kind": "faiss"}
        return {"kind": "qdrant", "url": self.qdrant_url, "path": self.qdrant_path,
                "prefix": f"{self.qdrant_prefix}-{index_id}"}

    def chunking(self) -> dict[str, int]:
        return {"max_chars": self.max_chars, "min_chars": self.min_chars}
