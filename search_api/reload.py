"""Hot reload: notice a newly published index and swap it in without failing in-flight requests."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from indexer.store import CURRENT
from search_api.search import Searcher

log = logging.getLogger("search_api.reload")


class SearchUnavailableError(RuntimeError):
    """No index can be served; the message says why, without file-system paths (the log has those)."""


class IndexWatcher:
    """Tracks which build `index/current` points at and reloads when that changes.

    A build publishes by atomically replacing the `current` symlink, so comparing its target is
    enough; a new index that fails to load is refused and the old searcher keeps serving.
    """

    def __init__(self, index_dir: Path, load: Callable[[], Searcher]) -> None:
        self.index_dir = index_dir
        self._load = load
        self._lock = threading.Lock()
        self.loaded_target: str | None = None
        self.refused_target: str | None = None
        self.searcher: Searcher | None = None
        self.error: str | None = "index is loading"

    def target(self) -> str | None:
        try:
            return os.readlink(self.index_dir / CURRENT)
        except OSError:
            return None

    def stale(self) -> bool:
        target = self.target()
        return target is not None and target not in (self.loaded_target, self.refused_target)

    def reload(self) -> bool:
        """Load the current build if it changed; True when a new searcher was swapped in."""
        if not self._lock.acquire(blocking=False):
            return False  # another thread is already loading it
        try:
            target = self.target()
            if target is None or target in (self.loaded_target, self.refused_target):
                return False
            try:
                searcher = self._load()
            except Exception as exc:  # a corrupt or mismatched index must never take the server down
                self.refused_target = target
                log.error("refused index %s: %s", target, exc)
                if self.searcher is None:
                    self.error = str(exc)
                return False
            self.searcher, self.loaded_target, self.error = searcher, target, None
            log.info("serving index %s (%d passages)", target, searcher.size)
            return True
        finally:
            self._lock.release()

    def reload_in_background(self) -> None:
        threading.Thread(target=self.reload, name="index-reload", daemon=True).start()

    def live(self, watch: bool = True) -> Searcher:
        """The searcher to use now; a newly published index is picked up (in the background once one is
        serving). SearchUnavailableError when there is none."""
        if watch and self.stale():
            if self.searcher is None:
                self.reload()
            else:
                self.reload_in_background()
        if self.searcher is None:
            raise SearchUnavailableError(self.why_unavailable())
        return self.searcher

    def why_unavailable(self) -> str:
        if self.target() is None:
            return "search unavailable: no index has been built yet (build one with `python -m indexer build`)"
        if self.refused_target is not None:
            return "search unavailable: the index could not be loaded (see the server log)"
        return "search unavailable: the index is not loaded yet"
