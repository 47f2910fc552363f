import numpy as np
import pytest

from indexer.normalize import fingerprint
from search_api.phrase import article_evidence, matched_runs, phrase_score


@pytest.mark.parametrize("query, passage, runs", [
    ("灵活落户政策是什么", "实施灵活落户政策为外籍", [(0, 6)]),
    ("灵活落户政策是什么", "政策灵活，落户容易", [(0, 2), (2, 2), (4, 2)]),
    ("abc", "xyz", []),
    ("", "任何文字", []),
])
def test_matched_runs_are_longest_first_left_to_right(query, passage, runs):
    assert matched_runs(query, passage) == runs


def test_one_long_run_scores_above_the_same_pairs_scattered():
    query = "灵活落户政策"
    idf = [1.0] * (len(query) - 1)
    assert phrase_score(query, "实施灵活落户政策", idf) > phrase_score(query, "政策灵活，落户容易", idf) > 0


def test_rare_runs_count_more_than_common_ones():
    idf = {"伊斯": 5.0, "斯兰": 5.0, "兰革": 5.0, "革命": 1.0, "命卫": 1.0, "卫队": 1.0}
    query = "伊斯兰革命卫队"
    bigram_idf = [idf.get(query[i:i + 2], 0.0) for i in range(len(query) - 1)]
    assert phrase_score(query, "伊斯兰国", bigram_idf) > phrase_score(query, "革命卫队", bigram_idf)


def test_article_evidence_is_shared_by_every_passage_of_the_article():
    query = fingerprint("伊斯蘭革命衛隊配備了什麼")  # Traditional query, Simplified passages
    passages = [fingerprint(t) for t in ("伊朗伊斯兰革命卫队为海军配备了新型导弹。", "这些导弹射程达到六百公里。",
                                         "美国海军在海湾地区增兵。")]
    evidence = article_evidence(query, passages, ["iran", "iran", "us"], lambda bigram: 1.0)
    assert evidence[0] == evidence[1] == pytest.approx(1.0)
    assert evidence[2] == 0.0
    assert evidence.dtype == np.float32
