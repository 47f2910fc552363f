import json
import time

from bench.build import split_corpus
from bench.stats import percentiles


def test_percentiles():
    p = percentiles([float(i) for i in range(1, 101)])
    assert p["n"] == 100 and p["p50"] == 50.5 and 95 <= p["p95"] <= 96
    assert percentiles([]) == {"n": 0}


def test_split_corpus_holds_back_the_last_articles(tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("\n".join(json.dumps({"id": str(i), "text": f"正文{i}"}) for i in range(150)))
    base, extra = split_corpus(corpus, tmp_path, new=100)
    assert len(base.read_text().splitlines()) == 50
    assert [json.loads(x)["id"] for x in extra.read_text().splitlines()][0] == "50"


def test_ann_recall_counts_tied_duplicates_as_hits():
    import numpy as np

    from bench.ann import clustered_vectors, run

    vectors = clustered_vectors(1000, 32, clusters=10)
    result = run(vectors=np.vstack([vectors, vectors]), queries=50)  # every vector twice: ties everywhere
    assert result["vectors"] == 1950 and result["dim"] == 32
    assert result["recall@10"] >= 0.99


def test_long_query_is_exactly_2000_characters_of_real_questions():
    from bench.query import LONG_QUERY_CHARS, long_query

    questions = ["灵活落户政策是什么？", "上合组织峰会在哪里举行？", "Who led the delegation?"]
    built = long_query(questions, start=1)
    assert LONG_QUERY_CHARS == 2000 and len(built) == 2000
    assert built.startswith("上合组织峰会在哪里举行？Who led the delegation?灵活落户政策是什么？")
    assert long_query(questions, start=0) != built  # each request of the comparison is a new text


def test_summary_reports_the_long_to_short_ratio():
    from bench.cli import summarise

    latency = {"n": 30, "p50": 10.0, "p95": 12.0, "mean": 10.5}
    results = {"corpus": "c", "in_process": {"zh": {"total_ms": latency, "query_embedding_ms": latency,
                                                    "stages_p50_ms": {}}},
               "http": {"sequential": {"zh": latency}, "server_memory": {"rss_mb": 1.0, "peak_rss_mb": 1.0},
                        "concurrent": {"clients": 8, "requests_per_s": 1.0, "p50": 1, "p95": 1, "errors": 0},
                        "long_vs_short": {"chars": 2000, "long": {**latency, "p50": 25.0}, "short": latency,
                                          "ratio_p50": 2.5}}}
    assert "HTTP 2000-char zh vs short zh   p50 25.0 ms vs 10.0 ms   ratio 2.50" in summarise(results)


def test_long_vs_short_alternates_long_and_short_requests():
    from bench.query import long_vs_short

    class Client:
        sent: list[int] = []

        def post(self, url, content, headers):
            self.sent.append(len(json.loads(content)["q"]))
            time.sleep(0.001)  # a latency to take the median of
            return self

        def raise_for_status(self) -> None:
            pass

    client = Client()
    result = long_vs_short(client, "http://x", ["灵活落户政策是什么？", "上合组织峰会在哪里举行？"], n=5)
    timed = client.sent[2:]  # after two warm-up long queries
    assert timed[0::2] == [2000] * 5 and all(n < 20 for n in timed[1::2])
    assert result["long"]["n"] == result["short"]["n"] == 5 and result["ratio_p50"] > 0
