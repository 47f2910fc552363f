import pytest

from search_api.bridge import Dictionary, translate
from search_api.pinyin import PinyinIndex

# CC-CEDICT lines: headwords with their pinyin (names capitalised), single characters with surnames
CEDICT = """\
廣州 广州 [Guang3 zhou1] /Guangzhou subprefecture level city, capital of Guangdong/
光州 光州 [Guang1 zhou1] /Guangzhou, old name for Huangchuan 潢川 in Xinyang, Henan/Gwangju, South Korea/
戶口 户口 [hu4 kou3] /population (counted as number of households)/registered residence/
湖口 湖口 [Hu2 kou3] /Hukou County in Jiujiang, Jiangxi/
泰安 泰安 [Tai4 an1] /Tai'an city prefecture level city in Shandong/
魚龍 鱼龙 [yu2 long2] /ichthyosaur/
單側 单侧 [dan1 ce4] /one-sided/to dance a little/
落戶 落户 [luo4 hu4] /to settle/to set up home/
戶籍 户籍 [hu4 ji2] /census register/household register/
呂梁 吕梁 [Lu:3 liang2] /Lüliang prefecture level city in Shanxi/
史蒂夫·喬布斯 史蒂夫·乔布斯 [Shi3 di4 fu1 · Qiao2 bu4 si1] /Steve Jobs (1955-2011), co-founder of Apple/
工作 工作 [gong1 zuo4] /to work/job/CL:份/
國土安全部 国土安全部 [Guo2 tu3 An1 quan2 bu4] /(US) Department of Homeland Security (DHS)/
美國 美国 [Mei3 guo2] /United States/USA/US/
潘 潘 [Pan1] /surname Pan/
盤 盘 [pan2] /plate/
功 功 [gong1] /meritorious deed/
公 公 [gong1] /public/
勝 胜 [sheng4] /victory/
生 生 [sheng1] /to be born/
張 张 [Zhang1] /surname Zhang/
國 国 [guo2] /country/
清 清 [qing1] /clear/
情 情 [qing2] /feeling/
"""
DICT = Dictionary.parse(iter(CEDICT.splitlines()))
# passages of a tiny corpus, for frequencies: a spelling counts only where its characters occur together
PASSAGES = ["广州的户口政策", "广州天河", "潘功胜表示", "潘功胜说", "公生", "张国清强调", "国情咨文", "国情",
            "泰安高铁站", "落户广州", "户籍制度", "吕梁市", "工作岗位", "美国政府", "国土安全部", "史蒂夫·乔布斯"]


def freq(text: str) -> int:
    return sum(text in p for p in PASSAGES)


def _best(query: str) -> dict[str, str]:
    return {t.english: max(t.candidates, key=lambda c: c[1])[0] for t in translate(query, freq, DICT).terms}


@pytest.mark.parametrize("query, english, chinese", [
    ("How many live in Guangzhou?", "guangzhou", "广州"),  # the city the corpus has, not Gwangju
    ("Where is the Tai'an station?", "tai'an", "泰安"),  # the dictionary's sense is too long to be a key
    ("What is the hukou policy?", "hukou", "户口"),  # lower case: the word, not Hukou County
    ("What did Pan Gongsheng say?", "pan gongsheng", "潘功胜"),  # a name spelled character by character
    ("What did Zhang Guoqing stress?", "zhang guoqing", "张国清"),  # 国情 is commoner, but never with 张国
    ("Who governs Luliang?", "luliang", "吕梁"),  # ü written as u
    ("How many jobs were created?", "jobs", "工作"),  # a lower-case plural is not Steve Jobs
    ("What did the US say?", "us", "美国"),  # "(US) Department of ..." only qualifies a name
    ("household registration", "household registration", "户籍"),  # the noun's verb: household register
])
def test_pinyin_names_places_and_terms_reach_their_chinese(query, english, chinese):
    assert _best(query)[english] == chinese


@pytest.mark.parametrize("query, english", [
    ("the Yulong Tourism company", "yulong"),  # a capitalised word spells a name: 鱼龙 is a common noun
    ("they dance", "dance"),  # an English word, though it splits into pinyin (dan ce)
])
def test_words_that_are_not_pinyin_names_stay_untranslated(query, english):
    terms = {t.english: t for t in translate(query, freq, DICT).terms}
    assert english not in terms or not terms[english].translated


@pytest.mark.parametrize("word, expected", [("Guangzhou", True), ("hukou", True), ("Tai'an", True),
                                            ("dance", False), ("Zuckerberg", False), ("", False)])
def test_is_pinyin(word, expected):
    assert DICT.pinyin.is_pinyin(word) is expected


def test_a_name_whose_characters_never_occur_together_is_not_spelled():
    index: PinyinIndex = DICT.pinyin
    assert index.spell_name(["Pan", "Gongsheng"], lambda text: 0) == []
    # 张 is a surname, but no passage has 张 next to a guo character
    assert [s.chinese for s, _ in index.spell_name(["Zhang", "Guoqing"], freq)] == ["张国清"]
    assert index.spell_name(["Gong", "Sheng"], freq) == []  # 公 is no surname


def test_the_shipped_dictionary_spells_pinyin():
    from search_api.bridge import dictionary

    assert ("广州", True) in dictionary().pinyin.headwords("guangzhou")
    assert dictionary().pinyin.is_pinyin("hukou") and not dictionary().pinyin.is_pinyin("change")
