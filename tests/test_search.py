import numpy as np
import pytest

from indexer.store import IndexMismatchError
from search_api.fusion import QueryProfile, fuse, normalise, signal_weights
from search_api.highlight import highlight, match_spans
from search_api.search import MAX_CANDIDATES, MAX_QUERY_CHARS, MAX_QUERY_TOKENS, Filters, Searcher, clip_query
from tests.conftest import FakeEmbedder


@pytest.fixture
def searcher(built_index) -> Searcher:
    config, _, embedders = built_index
    return Searcher(config.index_dir, embedders)


def test_chinese_query_finds_passage_in_either_script(searcher):
    for query in ("中国是联合国维和行动第二大出资国", "中國是聯合國維和行動第二大出資國"):
        top = searcher.search(query, k=3).hits[0]
        assert "第二大出資國" in top.text
        assert top.spans, "matched terms are reported"


def test_duplicate_passage_is_returned_once_and_lists_other_sources(searcher):
    hits = searcher.search("拜登 太平洋岛国 海底电缆", k=10).hits
    summit = [h for h in hits if "海底电缆" in h.text]
    assert len(summit) == 1
    assert {summit[0].doc_id, *(d for d, _ in summit[0].also_in)} == {"a_utf8", "j3"}


def test_at_most_per_article_passages(built_index):
    config, _, embedders = built_index
    searcher = Searcher(config.index_dir, embedders, per_article=1)
    docs = [h.doc_id for h in searcher.search("中国 警务 合作 峰会", k=10).hits]
    assert len(docs) == len(set(docs))


@pytest.mark.parametrize("filters, check", [
    (Filters(lang="zh-Hant"), lambda h: h.lang == "zh-Hant"),
    (Filters(source="example"), lambda h: "example" in (h.article.url or "") + (h.article.source or "")),
    (Filters(date_from="2023-09-01"), lambda h: h.article.date >= "2023-09-01"),
    (Filters(date_to="2023-12-31"), lambda h: h.article.date <= "2023-12-31"),
])
def test_filters(searcher, filters, check):
    hits = searcher.search("中国 合作 峰会 安全", k=10, filters=filters).hits
    assert hits and all(check(h) for h in hits)


@pytest.mark.parametrize("mode, signals", [("lexical", {"bm25"}), ("dense", {"fake", "fake2"})])
def test_modes_use_only_their_signals(searcher, mode, signals):
    assert set(searcher.search("维和行动", k=3, mode=mode).weights) == signals


def test_query_with_no_known_terms_in_lexical_mode_returns_nothing(searcher):
    assert searcher.search("zzzqqq", k=5, mode="lexical").hits == []


def test_server_refuses_index_built_with_other_models(built_index):
    config, _, _ = built_index
    with pytest.raises(IndexMismatchError, match="fake-bigram-64"):
        Searcher(config.index_dir, {"fake": FakeEmbedder("fake", dim=16), "fake2": FakeEmbedder("fake2", 32)})
    with pytest.raises(IndexMismatchError, match="needs model 'fake2'"):
        Searcher(config.index_dir, {"fake": FakeEmbedder("fake")})


def _profile(cjk: float, coverage: float) -> QueryProfile:
    return QueryProfile(lang="en" if cjk < 0.5 else "zh-Hans", cjk=cjk, coverage=coverage, n_tokens=5)


def test_weights_follow_the_query_language():
    zh = signal_weights(_profile(1.0, 1.0), ["use", "e5", "bm25"])
    en = signal_weights(_profile(0.0, 1.0), ["use", "e5", "bm25"])
    assert en["use"] > zh["use"]
    assert zh["bm25"] > en["bm25"]
    assert sum(zh.values()) == pytest.approx(1.0)


@pytest.mark.parametrize("cjk, expected", [(1.0, 0.9 / 1.9), (0.5, 0.45 / 1.45), (0.0, None)])
def test_phrase_evidence_weighs_by_the_query_share_of_chinese(cjk, expected):
    weights = signal_weights(_profile(cjk, 1.0), ["use", "e5", "bm25"], phrase=True)
    assert weights.get("phrase") == (pytest.approx(expected) if expected else None)
    assert sum(weights.values()) == pytest.approx(1.0)


def test_hybrid_mode_adds_phrase_evidence_for_chinese_queries_only(searcher):
    assert "phrase" in searcher.search("维和行动", k=3).weights
    assert "phrase" not in searcher.search("peacekeeping police", k=3).weights


def test_article_with_the_exact_wording_outranks_scattered_matches(tmp_path):
    from indexer.config import IndexConfig
    from indexer.pipeline import build_index

    src = tmp_path / "src"
    src.mkdir()
    # both articles contain every character pair of the query; only one has the policy's name verbatim
    (src / "scattered.txt").write_text("城市的落户政策较为灵活。积分制度和超大规模的特大工程。", encoding="utf-8")
    (src / "verbatim.txt").write_text("公安部介绍超大特大城市积分落户政策的调整方向。", encoding="utf-8")
    config = IndexConfig(sources=(src,), index_dir=tmp_path / "idx", models=("fake",), show_progress=False)
    build_index(config, [FakeEmbedder("fake")])
    searcher = Searcher(config.index_dir, {"fake": FakeEmbedder("fake")})
    assert searcher.search("超大特大城市积分落户政策是什么", k=2).hits[0].doc_id == "verbatim"


def test_lexical_weight_vanishes_when_the_corpus_lacks_the_query_terms():
    weights = signal_weights(_profile(0.0, 0.0), ["use", "e5", "bm25"])
    assert weights["bm25"] == 0.0


def test_normalise_and_fuse():
    top = np.array([0.9, 0.5])
    # best candidate -> 1, the candidates' mean (0.7) and below -> 0
    np.testing.assert_allclose(normalise(np.array([0.9, 0.8, 0.1]), top), [1.0, 0.5, 0.0], rtol=1e-5)
    np.testing.assert_allclose(normalise(np.array([0.4, 0.5]), np.array([0.5])), [0.0, 1.0])
    fused = fuse({"a": np.array([1.0, 0.0]), "b": np.array([0.0, 1.0])},
                 {"a": np.array([1.0, 0.0]), "b": np.array([1.0, 0.0])}, {"a": 0.7, "b": 0.3})
    np.testing.assert_allclose(fused, [0.7, 0.3])


@pytest.mark.parametrize("text, terms, marked", [
    ("中國是聯合國維和行動第二大出資國", ["联合国", "维和"], ["聯合國維和"]),
    ("Chief of the Philippine National Police", ["police", "philippine"], ["Philippine", "Police"]),
    ("bonus for US officials", ["us"], ["US"]),
    ("ＮＦＬ比赛", ["nfl"], ["ＮＦＬ"]),
])
def test_match_spans_in_both_scripts(text, terms, marked):
    assert [text[s:e] for s, e in match_spans(text, terms)] == marked


def test_highlight_escapes_html():
    assert highlight("<b>中国</b>", [(3, 5)]) == "&lt;b&gt;<mark>中国</mark>&lt;/b&gt;"


@pytest.mark.parametrize("text, max_tokens, clipped", [
    ("维和行动", 4, "维和行动"),
    ("维和行动第二大", 4, "维和行动"),
    ("联合国 维和，行动", 4, "联合国 维"),
    ("Jen Daskal led the US delegation", 3, "Jen Daskal led"),
    ("2024年 CQ Brown 说", 4, "2024年 CQ Brown"),
    ("，。！？…", 2, "，。"),  # punctuation costs the models too
    ("カタカナ한국어ไทย", 5, "カタカナ한"),  # scripts without spaces: a character is a token
    ("Ελλάδα Россия Øre x", 3, "Ελλάδα Россия Øre"),
    ("short query", 128, "short query"),
])
def test_clip_query_keeps_the_first_tokens(text, max_tokens, clipped):
    assert clip_query(text, max_tokens) == clipped


@pytest.mark.parametrize("text", ["a" * 1000, "1234 " * 200, " " * 1000 + "维和", "Jen Daskal " * 100])
def test_clip_query_keeps_at_most_max_chars(text):
    # a word without end or a run of spaces must not slip past the token count
    assert clip_query(text, max_tokens=1000, max_chars=50) == text[:50]


@pytest.mark.parametrize("unit", ["联合国维和行动，第二大出资国。", "Which US official led the delegation? ",
                                  "a" * 2000, "🙂"])
def test_a_2000_character_query_is_clipped_to_the_limits(unit):
    text = (unit * 2000)[:2000]
    clipped = clip_query(text)
    assert text.startswith(clipped)
    assert len(clipped) <= MAX_QUERY_CHARS
    assert len(clipped) == MAX_QUERY_CHARS or len(clipped) == MAX_QUERY_TOKENS  # CJK, emoji: a token each


def _record_encoded(searcher: Searcher, monkeypatch) -> list[str]:
    seen: list[str] = []
    for embedder in searcher.embedders.values():
        def encode(texts, *, is_query=False, _inner=embedder.encode):
            seen.extend(texts)
            return _inner(texts, is_query=is_query)
        monkeypatch.setattr(embedder, "encode", encode)
    return seen


def test_every_signal_searches_the_same_clipped_query(searcher, monkeypatch):
    long = "中国是联合国维和行动第二大出资国，" * 120  # 2,040 characters
    seen = _record_encoded(searcher, monkeypatch)
    outcome = searcher.search(long, k=5)
    assert outcome.query_clipped
    assert seen and all(text == clip_query(long) for text in seen)
    same = searcher.search(clip_query(long), k=5)
    assert not same.query_clipped
    assert [(h.passage_id, h.score) for h in outcome.hits] == [(h.passage_id, h.score) for h in same.hits]


@pytest.mark.parametrize("query", ["维和行动", "维和行动" + " " * 2000])
def test_a_query_within_the_limit_is_not_clipped(searcher, query):
    assert not searcher.search(query, k=3).query_clipped


def test_candidates_per_signal_are_capped_whatever_k_asks(searcher, monkeypatch):
    class Recording:
        def __init__(self, index, asked: list[int]) -> None:
            self._index, self._asked = index, asked

        def search(self, query, n):
            self._asked.append(n)
            return self._index.search(query, n)

        def __getattr__(self, name):
            return getattr(self._index, name)

    asked: list[int] = []
    for name in searcher.vectors:
        searcher.vectors[name] = Recording(searcher.vectors[name], asked)
    monkeypatch.setattr(Searcher, "size", property(lambda self: 1_000_000))  # an archive, not the toy corpus
    searcher.search("中国 合作 峰会 安全", k=100)
    assert len(asked) == 2 and max(asked) == MAX_CANDIDATES  # 5 x k would ask for more


def test_a_repeated_word_counts_once_in_bm25(searcher):
    def scores(query: str) -> list[tuple[str, float]]:
        return [(h.passage_id, h.score) for h in searcher.search(query, k=10, mode="lexical").hits]

    assert scores("维和 " * 50 + "峰会") == scores("维和 峰会")


def test_english_query_reaches_chinese_text_through_the_dictionary_bridge(searcher):
    # no English token of the query occurs in the corpus: BM25 alone finds nothing
    assert searcher.search("Fiji police cooperation", k=3, mode="lexical", only=("bm25",)).hits == []
    outcome = searcher.search("Fiji police cooperation", k=3, mode="lexical")
    assert set(outcome.weights) == {"bridge"} and "斐济" in outcome.hits[0].text
    hybrid = searcher.search("Why will Fiji resume police cooperation with China?", k=3)
    # (the fake dense signals match English letters, so here they rank the English passage first)
    assert "bridge" in hybrid.weights and any("斐济" in h.text for h in hybrid.hits)


def test_the_bridge_is_for_english_words_only_and_never_outweighs_the_dense_signals(searcher):
    assert "bridge" not in searcher.search("斐济警务合作", k=3).weights
    weights = searcher.search("Fiji police cooperation", k=3).weights
    assert 0 < weights["bridge"] < weights["fake"] + weights["fake2"]


@pytest.mark.parametrize("confidence, expected", [(0.0, 0.0), (0.5, 0.15), (1.0, 0.3)])
def test_bridge_weight_follows_how_much_of_the_query_was_translated(confidence, expected):
    profile = QueryProfile(lang="en", cjk=0.0, coverage=0.0, n_tokens=3, bridge=confidence)
    weights = signal_weights(profile, ["use", "e5", "bridge"])
    raw = {"use": 0.5, "e5": 0.4, "bridge": expected}
    assert weights["bridge"] == pytest.approx(raw["bridge"] / sum(raw.values()))


def test_a_tuning_replaces_the_fusion_settings_for_one_search(searcher):
    from search_api.fusion import Tuning

    plain = searcher.search("Fiji police cooperation", k=3).weights
    heavy = searcher.search("Fiji police cooperation", k=3, tuning=Tuning(bridge=0.9)).weights
    assert heavy["bridge"] > plain["bridge"]
    assert searcher.search("Fiji police cooperation", k=3).weights == plain


def test_article_best_gives_each_candidate_its_articles_best_score():
    from search_api.fusion import article_best

    scores = np.array([0.1, 0.9, 0.3, 0.0, 0.5], dtype=np.float32)
    assert article_best(scores, ["a", "b", "a", "c", "b"]).tolist() == pytest.approx([0.3, 0.9, 0.3, 0.0, 0.9])
    assert article_best(np.zeros(0, np.float32), []).size == 0


def test_article_evidence_counts_only_with_lexical_signals_in_hybrid_mode(searcher):
    from search_api.fusion import Tuning

    assert "article" in searcher.search("斐济警务合作", k=3).weights
    assert "article" not in searcher.search("斐济警务合作", k=3, mode="dense").weights
    assert "article" not in searcher.search("斐济警务合作", k=3, tuning=Tuning(article=0.0)).weights


def test_an_articles_lexical_evidence_lifts_its_other_passages(tmp_path):
    """Of two passages with the same wording, the one whose article the question's terms point to wins."""
    from indexer.config import IndexConfig
    from indexer.pipeline import build_index
    from search_api.fusion import Tuning

    src = tmp_path / "src"
    src.mkdir()
    target = "阿富汗商品展在乌鲁木齐开幕，吸引了大批客商。\n\n展会为期五天，展出地毯、干果和宝石等特色商品。"
    (src / "target.txt").write_text(target, encoding="utf-8")
    (src / "other.txt").write_text("展会为期五天，展出汽车和家电等商品，吸引了大批观众。", encoding="utf-8")
    config = IndexConfig(sources=(src,), index_dir=tmp_path / "idx", models=("fake",), show_progress=False)
    build_index(config, [FakeEmbedder("fake")])
    searcher = Searcher(config.index_dir, {"fake": FakeEmbedder("fake")})
    query = "阿富汗商品展为期几天，展出什么"

    def order(article: float) -> list[str]:
        hits = searcher.search(query, k=3, tuning=Tuning(article=article, phrase=0.0)).hits
        return [h.doc_id + (":2" if "地毯" in h.text else "") for h in hits]

    # the target's second passage shares the other article's wording; only its article tells them apart
    assert order(0.0).index("other") < order(0.0).index("target:2")
    assert order(1.0).index("target:2") < order(1.0).index("other")


def test_named_dense_models_also_read_the_bridges_chinese_keywords(searcher):
    from search_api.fusion import Tuning

    seen: dict[str, list[str]] = {"fake": [], "fake2": []}
    for name, embedder in searcher.embedders.items():
        encode = embedder.encode
        embedder.encode = lambda texts, *, is_query=False, _n=name, _e=encode: seen[_n].extend(texts) or _e(
            texts, is_query=is_query)
    searcher.search("Fiji police cooperation", k=3, tuning=Tuning(bridge_dense=("fake",)))
    searcher.search("斐济警务合作", k=3, tuning=Tuning(bridge_dense=("fake",)))
    assert seen["fake"][0].startswith("Fiji police cooperation ") and "斐济" in seen["fake"][0]
    assert seen["fake2"][0] == "Fiji police cooperation"
    assert seen["fake"][1] == seen["fake2"][1] == "斐济警务合作"
