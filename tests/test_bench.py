import json

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
