"""Query latency: in-process per stage, over HTTP sequentially, and under concurrent clients."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
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
        total, embed = [], []
        stages: dict[str, list[float]] = {}
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


def start_server(index: Path, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """`python -m search_api serve` on a free port, once healthy; `env` adds to this process's environment."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "search_api", "serve", "--index", str(index), "--port",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, **(env or {})})
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


@contextmanager
def running_server(index: Path, env: dict[str, str] | None = None) -> Iterator[tuple[subprocess.Popen, str]]:
    """start_server() for the length of a with-block, stopped at its end whatever happens."""
    proc, base = start_server(index, env)
    try:
        yield proc, base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


LONG_QUERY_CHARS = 2000  # the API's longest query (schemas.MAX_QUERY_CHARS)


def long_query(queries: list[str], start: int = 0, chars: int = LONG_QUERY_CHARS) -> str:
    """Real questions, concatenated from `start` on (wrapping), cut to exactly `chars` characters."""
    parts, total, i = [], 0, start
    while total < chars:
        q = queries[i % len(queries)]
        parts.append(q)
        total += len(q)
        i += 1
    return "".join(parts)[:chars]


def _timed_post(client: httpx.Client, base: str, q: str) -> float:
    # POST: a 2,000-character Chinese query is ~18 kB URL-encoded, more than a GET line should carry
    body = json.dumps({"q": q, "k": 10}, ensure_ascii=False).encode("utf-8")
    started = time.perf_counter()
    r = client.post(f"{base}/search", content=body, headers={"content-type": "application/json"})
    r.raise_for_status()
    return (time.perf_counter() - started) * 1000


def long_vs_short(client: httpx.Client, base: str, queries: list[str], n: int = 30) -> dict:
    """Median HTTP latency of 2,000-character queries against short ones, same server, same run.

    Requests alternate long/short so that whatever else the machine does weighs on both alike; each
    long query starts at a different question, so no two requests are the same text.
    """
    for i in range(2):  # onnxruntime sizes its buffers for the longest input on first sight
        _timed_post(client, base, long_query(queries, start=n + i))
    longs, shorts = [], []
    for i in range(n):
        longs.append(_timed_post(client, base, long_query(queries, start=i)))
        shorts.append(_timed_post(client, base, queries[i % len(queries)]))
    long_p, short_p = percentiles(longs), percentiles(shorts)
    return {"chars": LONG_QUERY_CHARS, "long": long_p, "short": short_p,
            "ratio_p50": round(long_p["p50"] / short_p["p50"], 2)}


def _timed_get(client: httpx.Client, base: str, q: str) -> float:
    started = time.perf_counter()
    r = client.get(f"{base}/search", params={"q": q, "k": 10})
    r.raise_for_status()
    return (time.perf_counter() - started) * 1000


def over_http(index: Path, queries: dict[str, list[str]], clients: int = 8, per_client: int = 25) -> dict:
    with running_server(index) as (proc, base):
        with httpx.Client(timeout=30) as client:
            for q in [q for qs in queries.values() for q in qs][:10]:
                _timed_get(client, base, q)
            sequential = {lang: percentiles([_timed_get(client, base, q) for q in qs])
                          for lang, qs in queries.items()}
            long_short = long_vs_short(client, base, queries["zh"])
        mixed = [q for qs in zip(*queries.values()) for q in qs]

        def worker(i: int) -> list[float]:
            with httpx.Client(timeout=60) as c:
                return [_timed_get(c, base, mixed[(i * per_client + j) % len(mixed)]) for j in range(per_client)]

        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            latencies = [ms for chunk in pool.map(worker, range(clients)) for ms in chunk]
        wall = time.perf_counter() - started
        memory = rss_mb(proc.pid)
    return {"sequential": sequential, "server_memory": memory, "long_vs_short": long_short,
            "concurrent": {"clients": clients, "requests": len(latencies), "errors": 0,
                           "requests_per_s": round(len(latencies) / wall, 1), **percentiles(latencies)}}
