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
