"""Small helpers: percentiles, process memory, directory sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def percentiles(values_ms: list[float]) -> dict[str, float]:
    if not values_ms:
        return {"n": 0}
    arr = np.asarray(values_ms)
    return {"n": len(values_ms), "p50": round(float(np.percentile(arr, 50)), 2),
            "p95": round(float(np.percentile(arr, 95)), 2), "mean": round(float(arr.mean()), 2)}


def rss_mb(pid: int) -> dict[str, float]:
    """Resident and peak resident memory of a process, from /proc (Linux), with the resident part split
    into the process's own (anonymous) memory and pages of mapped files (libraries, memory-mapped index
    files: shared with the page cache and reclaimable)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            fields[key] = int(value.split()[0]) / 1024
    return {"rss_mb": round(fields.get("VmRSS", 0.0), 1), "peak_rss_mb": round(fields.get("VmHWM", 0.0), 1),
            "anon_mb": round(fields.get("RssAnon", 0.0), 1), "file_mb": round(fields.get("RssFile", 0.0), 1)}


def dir_mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20, 1)
