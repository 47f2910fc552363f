"""Caches keyed by passage content hash: unchanged passages are never embedded or tokenised twice.

Shards are written as batches finish, so a build that is interrupted (even by SIGKILL) resumes
without redoing the batches it completed. A build compacts the cache to the passages it indexed.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path

import numpy as np

from indexer.load import ascii_slug

CACHE_DIR = "cache"


class EmbeddingCache:
    def __init__(self, index_dir: Path, model_id: str, dim: int) -> None:
        self.dir = index_dir / CACHE_DIR / f"{ascii_slug(model_id)}-{dim}"
        self.dim = dim

    def load(self) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        if not self.dir.is_dir():
            return found
        for shard in sorted(self.dir.glob("*.npz")):
            try:
                with np.load(shard) as data:
                    ids, vectors = data["ids"], data["vectors"]
                if vectors.ndim != 2 or len(ids) != len(vectors):
                    raise ValueError("ids and vectors disagree")
            except Exception:  # noqa: BLE001 - any damage (a cut zip, bad arrays): the batch is redone
                shard.unlink(missing_ok=True)
                continue
            if vectors.shape[1:] == (self.dim,):
                found.update(zip(ids.tolist(), vectors))
        return found

    def append(self, ids: list[str], vectors: np.ndarray) -> None:
        if not ids:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        name = f"{uuid.uuid4().hex}.npz"
        tmp = self.dir / f".{name}.tmp"
        with open(tmp, "wb") as handle:
            np.savez(handle, ids=np.array(ids), vectors=np.asarray(vectors, dtype=np.float32))
        os.replace(tmp, self.dir / name)  # a shard is either whole or absent

    def compact(self, ids: list[str], vectors: np.ndarray) -> None:
        """Keep exactly these passages: deleted articles' vectors leave the cache."""
        old = list(self.dir.glob("*.npz")) if self.dir.is_dir() else []
        self.append(ids, vectors)
        keep = {p.name for p in self.dir.glob("*.npz")} - {p.name for p in old}
        for shard in old:
            if shard.name not in keep:
                shard.unlink(missing_ok=True)


class TokenCache:
    """BM25 tokens per passage id (joined into one string), for one tokenizer: a rebuild tokenises only
    new passages."""

    def __init__(self, index_dir: Path, tokenizer: str) -> None:
        self.path = index_dir / CACHE_DIR / f"tokens-{hashlib.sha1(tokenizer.encode()).hexdigest()[:12]}.json"

    def load(self) -> dict[str, str]:
        try:
            tokens = json.loads(self.path.read_text(encoding="utf-8"))
        except Exception:  # noqa: BLE001 - missing, cut short or garbled: everything is tokenised again
            return {}
        if not isinstance(tokens, dict):
            return {}
        return {k: v for k, v in tokens.items() if isinstance(v, str)}

    def save(self, tokens: dict[str, str]) -> None:
        """Exactly these passages (deleted ones leave), written atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(tokens, handle, ensure_ascii=False)  # streamed: no second copy of it all in memory
        os.replace(tmp, self.path)
