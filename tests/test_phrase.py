import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.normalize import fingerprint
from search_api.fusion import normalise
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


def reference_runs(query: str, passage: str, min_len: int = 2) -> list[tuple[int, int]]:
    """The original scan: every query position tried against the passage, longest run first."""
    runs: list[tuple[int, int]] = []
    i = 0
    while i <= len(query) - min_len:
        if query[i:i + min_len] not in passage:
            i += 1
            continue
        length = min_len
        while i + length < len(query) and query[i:i + length + 1] in passage:
            length += 1
        runs.append((i, length))
        i += length
    return runs


# a small alphabet, so that random queries and passages share many runs of every length
SMALL_TEXT = st.text(alphabet="灵活落户政策ab1", max_size=40)


@settings(max_examples=400, deadline=None)
@given(query=SMALL_TEXT, passage=SMALL_TEXT, min_len=st.integers(1, 3))
def test_matched_runs_equal_the_reference_scan(query, passage, min_len):
    assert matched_runs(query, passage, min_len) == reference_runs(query, passage, min_len)


@settings(max_examples=200, deadline=None)
@given(query=SMALL_TEXT, passages=st.lists(SMALL_TEXT, min_size=1, max_size=6), data=st.data())
def test_article_evidence_equals_the_reference_scan(query, passages, data):
    docs = data.draw(st.lists(st.sampled_from("xyz"), min_size=len(passages), max_size=len(passages)))
    idf = {a + b: float(ord(a) % 7 + ord(b) % 3) for a in "灵活落户政策ab1" for b in "灵活落户政策ab1"}
    bigram_idf = [idf[query[i:i + 2]] for i in range(len(query) - 1)]
    raw = np.array([sum(sum(bigram_idf[s:s + n - 1]) * (n - 1) for s, n in reference_runs(query, p))
                    for p in passages], dtype=np.float32)
    expected = normalise(raw, raw)
    best = {d: max(float(e) for e, d2 in zip(expected, docs) if d2 == d) for d in docs}
    np.testing.assert_array_equal(article_evidence(query, passages, docs, idf.__getitem__),
                                  np.array([best[d] for d in docs], dtype=np.float32))


class CountingText(str):
    """A passage that counts the substring searches made in it."""

    searches = 0

    def __contains__(self, part: object) -> bool:
        CountingText.searches += 1
        return super().__contains__(part)


def test_a_long_query_searches_each_passage_once_per_distinct_bigram():
    query = "联合国维和" * 400  # 2,000 characters, 5 distinct bigrams
    CountingText.searches = 0
    assert matched_runs(query, CountingText("美国海军在海湾地区增兵。")) == []
    assert CountingText.searches <= 5  # the old scan searched the passage once per query position
