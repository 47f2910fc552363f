import numpy as np
import pytest

from indexer.lexical import LexicalIndex, bm25_matrix, query_tokens, tokenize, words

TEXTS = ["中国是联合国维和行动的第二大出资国。", "美国总统副助理Jen Daskal说，拜登派遣她的代表团访问北京。",
         "黄溪连大使在马尼拉视频连线参会。", "", "上合组织峰会在阿斯塔纳举行。"]


def test_scores_match_bm25s_on_string_tokens():
    import bm25s

    ours = LexicalIndex.build(TEXTS)
    reference = bm25s.BM25()
    reference.index([tokenize(t) or ["\x00"] for t in TEXTS], show_progress=False)
    for query in ("聯合國維和行動", "Jen Daskal", "黃溪連", "峰会 阿斯塔纳"):
        tokens = [t for t in tokenize(query) if t in reference.vocab_dict]
        np.testing.assert_allclose(ours.scores(tokenize(query)), reference.get_scores(tokens), rtol=1e-5)


@pytest.mark.parametrize("n_docs, block", [(1, 8192), (50, 7), (300, 64)])
def test_bm25_matrix_is_bm25s_own_matrix(n_docs, block):
    import bm25s

    rng = np.random.default_rng(n_docs)
    n_vocab = 40
    ids = [rng.integers(0, n_vocab, size=rng.integers(1, 30)).astype(np.int32) for _ in range(n_docs)]
    ids[0][:] = n_vocab - 1  # one document of a single repeated token
    reference = bm25s.BM25()
    reference.index((ids, {str(t): t for t in range(n_vocab)}), show_progress=False, create_empty_token=False)
    ours = bm25_matrix(ids, n_vocab, reference.k1, reference.b, block=block)
    np.testing.assert_array_equal(ours["indptr"], reference.scores["indptr"])
    np.testing.assert_array_equal(ours["indices"], reference.scores["indices"])
    np.testing.assert_allclose(ours["data"], reference.scores["data"], rtol=1e-6)
    assert ours["num_docs"] == reference.scores["num_docs"] == n_docs


@pytest.mark.parametrize("query, best", [("聯合國維和行動第二大出資國", 0), ("jen daskal", 1), ("黃溪連", 2),
                                         ("阿斯塔纳峰会", 4)])
def test_either_script_and_names_match(query, best):
    assert int(np.argmax(LexicalIndex.build(TEXTS).scores(tokenize(query)))) == best


def test_unknown_terms_score_nothing_and_coverage_drops():
    index = LexicalIndex.build(TEXTS)
    assert not index.scores(tokenize("zzqx")).any()
    assert index.coverage(tokenize("Jen Daskal")) == 1.0
    assert index.coverage(tokenize("Jen Daskal zzqx")) < 1.0


def test_words_drop_punctuation_and_stopwords():
    assert words("的，。Jen Daskal！") == ["jen", "daskal"]


@pytest.mark.parametrize("term", ["维和", "Daskal", "阿斯塔纳"])
def test_a_repeated_term_scores_exactly_like_the_term_once(term):
    index = LexicalIndex.build(TEXTS)
    once = index.scores(query_tokens(term))
    assert once.any()
    np.testing.assert_array_equal(index.scores(query_tokens(" ".join([term] * 50))), once)


def test_repeats_do_not_outweigh_the_other_terms():
    index = LexicalIndex.build(TEXTS)
    np.testing.assert_array_equal(index.scores(query_tokens("维和 " * 50 + "峰会")),
                                  index.scores(query_tokens("维和 峰会")))


@pytest.mark.parametrize("query", ["聯合國維和行動", "峰会 阿斯塔纳", "Jen Daskal", "黃溪連"])
def test_query_tokens_leave_a_query_without_repeats_as_it_was(query):
    # "黄溪" is a word and a bigram, as in the index's tokens: not a repeat
    assert query_tokens(query) == tokenize(query)


def test_a_saved_index_loads_memory_mapped_with_the_same_scores(tmp_path):
    built = LexicalIndex.build(TEXTS)
    built.save(tmp_path)
    loaded = LexicalIndex.load(tmp_path)
    for query in ("聯合國維和行動", "Jen Daskal", "黃溪連", "峰会 阿斯塔纳", "zzqx"):
        np.testing.assert_allclose(loaded.scores(query_tokens(query)), built.scores(query_tokens(query)), rtol=1e-6)
    assert loaded.doc_freq("峰会") == built.doc_freq("峰会") == 1
    assert isinstance(loaded._bm25.scores["data"], np.memmap)


def test_hash_vocab_finds_every_token_and_nothing_else():
    from indexer.lexical import HashVocab

    vocab = {f"词{i}": i for i in range(5000)}
    compact = HashVocab.of(vocab)
    assert all(compact.get(t) == i for t, i in vocab.items())
    assert [compact.get(t) for t in ("词5000", "", "other")] == [None, None, None]


@pytest.mark.parametrize("tokens", [["中国"], ["北京", "美国"], ["大使", "马尼拉", "视频"], ["峰会", "中国"],
                                    ["zzqx"], ["阿斯塔纳", "zzqx"], ["中国", "中国"]])
def test_co_freq_counts_passages_holding_every_token_as_brute_force_does(tokens):
    index = LexicalIndex.build(TEXTS)
    expected = sum(all(t in tokenize(text) for t in tokens) for text in TEXTS)
    assert index.co_freq(tokens) == expected


def test_phrase_freq_of_a_phrase_needs_its_tokens_together():
    index = LexicalIndex.build(TEXTS + ["马尼拉的天气很好。", "北京的大使。"])
    assert index.phrase_freq("马尼拉") == 2
    # 大使 and 马尼拉 each occur twice, together only once
    assert index.phrase_freq("马尼拉 大使") == 1
    assert index.phrase_freq("大使马尼拉") == 0  # and never as one phrase: 使马 is no pair of the corpus
    assert index.phrase_freq("马尼拉zzqx") == 0


def _passages(texts):
    from indexer.chunk import Passage

    return [Passage(passage_id=f"p-{t}", text=t, fp=t, lang="zh-Hans", doc_id="d", position=i)
            for i, t in enumerate(texts)]


def _cached_tokens(folder, passages) -> list[list[str]]:
    from indexer import lexical

    ids, vocab = lexical.cached_token_ids(folder, passages)
    token = {i: t for t, i in vocab.items()}
    return [[token[i] for i in row.tolist()] for row in ids]


@pytest.mark.parametrize("damage", [None, b"", b"SQLite format 3\x00" + b"\xff" * 200, b"not a database at all"])
def test_token_cache_tokenises_only_new_passages_and_survives_damage(tmp_path, monkeypatch, damage):
    from indexer import lexical
    from indexer.sqlcache import TokenCache

    first = _passages(["国务院常务会议研究部署", "格陵兰冰盖融化"])
    assert _cached_tokens(tmp_path, first) == [lexical.tokenize(p.text) for p in first]
    path = TokenCache(tmp_path, lexical.TOKENIZER).path
    if damage is not None:
        path.write_bytes(damage)
    calls = []
    real = lexical.tokenize
    monkeypatch.setattr(lexical, "tokenize", lambda text: calls.append(text) or real(text))
    second = _passages(["格陵兰冰盖融化", "央行下调存款准备金率"])
    assert _cached_tokens(tmp_path, second) == [real(p.text) for p in second]
    assert calls == (["央行下调存款准备金率"] if damage is None else [p.text for p in second])
    with TokenCache(tmp_path, lexical.TOKENIZER) as cache:  # the dropped passage left the cache
        assert cache.ids("p-国务院常务会议研究部署") is None and cache.ids("p-央行下调存款准备金率") is not None


def test_an_older_string_token_cache_is_read_instead_of_jieba_then_deleted(tmp_path, monkeypatch):
    import sqlite3

    from indexer import lexical
    from indexer.sqlcache import TokenCache

    legacy = TokenCache(tmp_path, lexical.TOKENIZER)._legacy_path
    legacy.parent.mkdir(parents=True)
    with sqlite3.connect(legacy) as db:
        db.execute("CREATE TABLE tokens (pid TEXT PRIMARY KEY, joined TEXT NOT NULL)")
        db.execute("INSERT INTO tokens VALUES (?, ?)", ("p-格陵兰冰盖融化", "格陵兰\x1f冰盖\x1f融化"))
    calls = []
    real = lexical.tokenize
    monkeypatch.setattr(lexical, "tokenize", lambda text: calls.append(text) or real(text))
    got = _cached_tokens(tmp_path, _passages(["格陵兰冰盖融化", "央行下调存款准备金率"]))
    assert got == [["格陵兰", "冰盖", "融化"], real("央行下调存款准备金率")] and calls == ["央行下调存款准备金率"]
    assert not legacy.exists()


@pytest.mark.parametrize("texts", [["中国是联合国维和行动的第二大出资国。", "", "上合组织峰会在阿斯塔纳举行。"], TEXTS])
def test_an_index_from_cached_token_ids_scores_as_one_from_tokens(tmp_path, texts):
    from indexer import lexical

    passages = _passages(texts)
    lexical.cached_token_ids(tmp_path, _passages(["一篇已经删除的文章，它的词还在词表里。"]))
    cached = LexicalIndex.from_token_ids(*lexical.cached_token_ids(tmp_path, passages))
    direct = LexicalIndex.build(texts)
    for query in ("联合国维和", "阿斯塔纳峰会", "Jen Daskal", "zzqx"):
        np.testing.assert_allclose(cached.scores(tokenize(query)), direct.scores(tokenize(query)), rtol=1e-6)
    assert cached.doc_freq("阿斯塔纳") == direct.doc_freq("阿斯塔纳") and cached.n_docs == len(texts)
