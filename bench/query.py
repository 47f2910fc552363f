"""Query latency: in-process per stage, over HTTP sequentially, and under concurrent clients."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.stats import percentiles, rss_mb


def load_queries(path: Path, limit: int) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["query"] for line in lines if line.strip()][:limit]


def in_process(index: Path, queries: dict[str, list[str]], warmup: int = 10) -> dict:
    """Per-stage milliseconds from the searcher's own timings, and query embedding alone."""
    from search_api.cli import open_searcher

    searcher = open_searcher(index)
    for q in [q for qs in queries.values() for q in qs][:warmup]:
        searcher.search(q, k=10)
    out = {}
    for lang, qs in queries.items():
        total, embed, stages = [], [], {}
        for q in qs:
            started = time.perf_counter()
            outcome = searcher.search(q, k=10)
            total.append((time.perf_counter() - started) * 1000)
            embed.append(sum(v for k, v in outcome.timings.items() if k.startswith("embed_")))
            for stage, ms in outcome.timings.items():
                stages.setdefault(stage, []).append(ms)
        out[lang] = {"total_ms": percentiles(total), "query_embedding_ms": percentiles(embed),
                     "stages_p50_ms": {k: percentiles(v)["p50"] for k, v in sorted(stages.items())}}
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(index: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "search_api", "serve", "--index", str(index), "--port",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not become healthy within 300 s")


def _timed_get(client: httpx.Client, base: str, q: str) -> float:
    started = time.perf_counter()
    r = client.get(f"{base}/search", params={"q": q, "k": 10})
    r.raise_for_status()
    return (time.perf_counter() - started) * 1000


def over_http(index: Path, queries: dict[str, list[str]], clients: int = 8, per_client: int = 25) -> dict:
    proc, base = start_server(index)
    try:
        with httpx.Client(timeout=30) as client:
            for q in [q for qs in queries.values() for q in qs][:10]:
                _timed_get(client, base, q)
            sequential = {lang: percentiles([_timed_get(client, base, q) for q in qs])
                          for lang, qs in queries.items()}
        mixed = [q for qs in zip(*queries.values()) for q in qs]

        def worker(i: int) -> list[float]:
            with httpx.Client(timeout=60) as c:
                return [_timed_get(c, base, mixed[(i * per_client + j) % len(mixed)]) for j in range(per_client)]

        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            latencies = [ms for chunk in pool.map(worker, range(clients)) for ms in chunk]
        wall = time.perf_counter() - started
        memory = rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return {"sequential": sequential, "server_memory": memory,
            "concurrent": {"clients": clients, "requests": len(latencies), "errors": 0,
                           "requests_per_s": round(len(latencies) / wall, 1), **percentiles(latencies)}}
