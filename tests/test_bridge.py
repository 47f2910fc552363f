import pytest

from search_api.bridge import Dictionary, english_keys, translate

CEDICT = """\
扎克伯格 扎克伯格 [Zha1 ke4 bo2 ge2] /Mark Zuckerberg (1984-), American computer programer, co-founder of Facebook/
取消 取消 [qu3 xiao1] /to cancel/cancellation/
勾銷 勾销 [gou1 xiao1] /to write off/to cancel/
麝香 麝香 [she4 xiang1] /musk/
伊隆·馬斯克 伊隆·马斯克 [Yi1 long2 · Ma3 si1 ke4] /Elon Musk (1971-), founder of SpaceX/
馬斯克 马斯克 [Ma3 si1 ke4] /Elon Musk (1971-), founder of SpaceX/
債務上限 债务上限 [zhai4 wu4 shang4 xian4] /debt ceiling/
天花板 天花板 [tian1 hua1 ban3] /ceiling/
債務 债务 [zhai4 wu4] /debt/liability/
大灣區 大湾区 [Da4 wan1 Qu1] /Greater Bay Area, established in 2017/
美聯儲 美联储 [Mei3 Lian2 chu3] /US Federal Reserve (Fed), central bank of the United States/
利率 利率 [li4 lu:4] /interest rates/
泰晤士 泰晤士 [Tai4 wu4 shi4] /the Times/
次 次 [ci4] /next in sequence/times/
異體 异体 [yi4 ti3] /variant of 異體字|异体字/
"""
DICT = Dictionary.parse(iter(CEDICT.splitlines()))
COMMON = {"取消": 900, "勾销": 2, "马斯克": 300, "伊隆·马斯克": 1, "麝香": 5, "债务上限": 40, "天花板": 30,
          "债务": 200, "大湾区": 80, "美联储": 500, "利率": 400, "泰晤士": 3, "次": 5000, "扎克伯格": 20}


def _tr(query: str) -> dict[str, tuple[str, ...]]:
    terms = translate(query, lambda c: COMMON.get(c, 0), DICT).terms
    return {t.english: tuple(c for c, _ in t.candidates) for t in terms}


@pytest.mark.parametrize("query, expected", [
    ("Why did Zuckerberg cancel the fight?", {"zuckerberg": ("扎克伯格",), "cancel": ("取消", "勾销"),
                                              "fight": ()}),
    ("Elon Musk and the debt ceiling", {"elon musk": ("马斯克", "伊隆·马斯克"), "debt ceiling": ("债务上限",)}),
    ("What is the Greater Bay Area?", {"greater bay area": ("大湾区",)}),
    ("How many times has the Fed raised interest rates since March?",
     {"times": ("次", "泰晤士"), "fed": ("美联储",), "interest rates": ("利率",), "march": ("3月",)}),
    ("Did NFL games cost 2,000 dollars?", {"nfl": ("nfl",), "2,000": ("2,000",)}),
])
def test_phrases_map_to_weighted_chinese_candidates(query, expected):
    got = _tr(query)
    assert {k: v for k, v in got.items() if k in expected} == {k: v for k, v in expected.items() if v}
    assert not set(expected) - set(got) - {k for k, v in expected.items() if not v}


def test_the_common_sense_outweighs_the_rare_one_and_weights_sum_to_one():
    [cancel] = translate("cancel", lambda c: COMMON.get(c, 0), DICT).terms
    weights = dict(cancel.candidates)
    assert weights["取消"] > weights["勾销"] and sum(weights.values()) == pytest.approx(1.0)


def test_capitalised_words_prefer_names_and_lower_case_words_do_not():
    musk_name = dict(translate("What did Musk say", lambda c: COMMON.get(c, 0), DICT).terms[0].candidates)
    assert max(musk_name, key=musk_name.get) == "马斯克"
    musk_scent = dict(translate("a scent of musk", lambda c: COMMON.get(c, 0), DICT).terms[-1].candidates)
    assert max(musk_scent, key=musk_scent.get) == "麝香"
    times = dict(translate("three times", lambda c: COMMON.get(c, 0), DICT).terms[0].candidates)
    assert times["次"] > times.get("泰晤士", 0)


def test_headwords_absent_from_the_corpus_are_never_candidates():
    assert _tr("ceiling") == {"ceiling": ("天花板",)}
    assert translate("ceiling", lambda c: 0, DICT).terms == ()


def test_confidence_is_the_share_of_content_words_translated_and_tokens_carry_weights():
    result = translate("Why did Zuckerberg cancel the NFL game?", lambda c: COMMON.get(c, 0), DICT)
    # content words: zuckerberg, cancel, nfl, game; translated: zuckerberg, cancel
    assert result.confidence == pytest.approx(2 / 4)
    weights = result.token_weights(lambda text: [text, text[:1]])
    assert weights["扎克伯格"] == pytest.approx(1.0) and weights["nfl"] == pytest.approx(1.0)
    assert weights["取"] == pytest.approx(dict(result.terms[1].candidates)["取消"])


@pytest.mark.parametrize("gloss, keys", [
    ("to cancel (a booking)", [("cancel", False, False)]),
    ("US Federal Reserve (Fed), central bank", [("fed", False, True), ("us federal reserve", False, True)]),
    ("Elon Musk (1971-), founder of SpaceX", [("elon musk", False, True), ("musk", False, True)]),
    ("Pudong New District", [("pudong new district", True, True)]),  # a place: no "district" key
    ("foreign (currency) exchange", [("foreign exchange", False, False)]),
    ("the Times", [("times", True, True)]),
    ("variant of 異體字|异体字", []),
    ("a very long gloss with more than four words", []),
])
def test_sense_keys(gloss, keys):
    assert english_keys(gloss) == keys


def test_the_shipped_dictionary_loads_and_knows_news_terms():
    from search_api.bridge import dictionary

    assert "大湾区" in {s.chinese for s in dictionary().lookup("greater bay area")}
    assert "取消" in {s.chinese for s in dictionary().lookup("cancelled")}
