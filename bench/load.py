"""Load test on loopback: N concurrent clients for T seconds, optionally republishing the index meanwhile."""

from __future__ import annotations

import random
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.query import running_server
from bench.stats import percentiles, rss_mb
from indexer import store

QUERIES = ["中国向瓦努阿图派遣警务专家", "Which US official led the delegation?", "聯合國維和行動", "上合组织峰会",
           "Putin not isolated", "芬太尼", "😀", "？？？", "a" * 300, "中文 and English 混合 query"]


def republish(index: Path) -> None:
    """Publish a copy of the live build as a new build: the server must swap to it without errors."""
    live = store.live_dir(index)
    target = store.new_build_dir(index)
    shutil.rmtree(target)
    shutil.copytree(live, target)
    store.publish(index, target)


def run(index: Path, clients: int = 32, seconds: float = 60.0, reload_every: float | None = None) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client(seed: int, base: str, stop: float) -> None:
        rng = random.Random(seed)
        with httpx.Client(timeout=30) as c:
            while time.monotonic() < stop:
                q = rng.choice(QUERIES)
                started = time.perf_counter()
                try:
                    r = c.get(f"{base}/search", params={"q": q, "k": 10})
                    ok = r.status_code == 200
                    detail = f"{r.status_code}: {r.text[:100]}"
                except httpx.HTTPError as exc:
                    ok, detail = False, repr(exc)
                with lock:
                    latencies.append((time.perf_counter() - started) * 1000)
                    if not ok:
                        errors.append(detail)

    reloads = 0
    with running_server(index) as (proc, base):
        stop = time.monotonic() + seconds
        with ThreadPoolExecutor(clients + 1) as pool:
            futures = [pool.submit(client, i, base, stop) for i in range(clients)]
            while reload_every and time.monotonic() + reload_every < stop:
                time.sleep(reload_every)
                republish(index)
                reloads += 1
            for f in futures:
                f.result()
        memory = rss_mb(proc.pid)
    return {"clients": clients, "seconds": seconds, "requests": len(latencies), "errors": len(errors),
            "error_samples": errors[:5], "index_reloads": reloads,
            "requests_per_s": round(len(latencies) / seconds, 1), **percentiles(latencies), "server_memory": memory}
