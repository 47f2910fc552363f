import pytest

from indexer.clean import (
    Boilerplate,
    RecordedBoilerplate,
    assemble_blocks,
    clean_text,
    corpus_boilerplate,
    find_date,
    is_boilerplate,
    split_sentences,
    truncate_footer,
)
from tests.conftest import ARTICLE_A, ARTICLE_B_TRAD


def _texts(article) -> list[str]:
    return [b.full_text for b in article.blocks]


@pytest.mark.parametrize("line, dropped", [
    ("相关推荐", True),
    ("封面图片", True),
    ("🔍 发送关键词来寻找群组、频道或视频。", True),
    ("启动SOSO机器人", True),
    ("11月05日 20.0°C-21.6°C", True),
    ("澳元 : 人民币=4.7", True),
    ("今日澳洲app下载", True),
    ("2024-07-04 来源: 美国之音中文网 原文链接 评论0条", True),
    ("2024-01-31 13:42", True),
    ("时政", True),
    ("本文转载自美国之音中文网,仅代表原出处和原作者观点,仅供参考阅读,不代表本网态度和立场。", True),
    ("斐济决定恢复与中国的警务合作。", False),
    ("作者：朱妍从最新市场走势看，此前不少基金“潜伏”的标的出现较大分化，有的基金重仓股涨逾90%。", False),
    ("来源：海外网据今日俄罗斯国际通讯社11日报道，德国议员警告称，欧盟对俄罗斯的制裁将使德国工业受损。", False),
    ("中國駐菲律賓大使黃溪連在馬尼拉視頻連線參會。(圖:滿博)", False),
    ("维和(警察)国际研讨会举行", False),
    ("Chinese Ambassador to the Philippines Huang Xilian attended the meeting in Manila.", False),
])
def test_boilerplate_lines(line, dropped):
    from collections import Counter

    assert is_boilerplate(line, Counter(), Boilerplate()) is dropped


def test_clean_article_removes_chrome_duplicates_and_footer():
    article = clean_text(ARTICLE_A)
    text = "\n".join(_texts(article))
    for junk in ("app下载", "°C", "人民币=", "相关推荐", "封面图片", "读者评论", "Copyright", "来源"):
        assert junk not in text
    assert text.count("斐济决定恢复与中国的警务合作") == 1  # the repeated paragraph is kept once
    assert "\u3000" not in text
    assert article.blocks[0].heading == "太平洋岛国警务合作升级"
    assert article.title == "太平洋岛国警务合作升级"
    assert article.date == "2024-01-31"


def test_pinyin_annotations_removed_but_english_brackets_kept():
    text = "\n".join(_texts(clean_text(ARTICLE_B_TRAD)))
    assert "常務副部長王小洪" in text
    assert "(NFL)" in text


def test_headline_echoed_by_paragraph_is_not_repeated():
    blocks = assemble_blocks(["拜登将召开太平洋岛国峰会 抗衡中国影响力",
                              "拜登将召开太平洋岛国峰会 抗衡中国影响力 美国总统拜登将于星期一举行峰会。"])
    assert len(blocks) == 1 and blocks[0].heading is None


def test_consecutive_labels_keep_only_the_headline_next_to_the_body():
    blocks = assemble_blocks(["最好看的新闻,最实用的信息", "习普借上合组织峰会再聚首", "中国领导人习近平和普京会面。"])
    assert blocks[0].heading == "习普借上合组织峰会再聚首"


def test_footer_is_cut_only_after_a_body():
    body = ["正文" * 150 + "。"]
    assert truncate_footer(["热门排行榜", *body]) == ["热门排行榜", *body]
    assert truncate_footer([*body, "读者评论", "其他内容很多很多。"]) == body


def test_corpus_boilerplate_finds_labels_shared_by_pages():
    pages = ["封面图片\n第一篇正文。", "封面图片\n第二篇正文。", "独有标签\n第三篇正文。"]
    repeated = corpus_boilerplate(pages)
    assert "封面图片" in repeated.labels and "独有标签" not in repeated.labels


NOTICE = "本网站所有内容均来自网络转载，如有侵权请与我们联系删除处理。"
WIRE = ["新华社北京电：国务院常务会议今天决定延续实施新能源汽车购置税减免政策至二〇二七年底。",
        "会议指出，这一政策将带动汽车消费并稳定产业链供应链。"]


def _wire_corpus() -> list[str]:
    """20 pages of one site with its notice; pages 3-8 also carry the same wire story."""
    pages = [f"第{i}篇本地新闻讲述了当地发生的第{i}件重要事情，内容各不相同。\n{NOTICE}" for i in range(20)]
    for i in range(3, 9):
        pages[i] = "\n".join(WIRE) + ("" if i % 2 else f"\n本站编辑补充说明了第{i}篇的背景情况与后续安排。")
    return pages


def test_site_notice_and_wire_sentences_stay_once_and_no_article_goes_empty():
    pages = _wire_corpus()
    corpus = corpus_boilerplate(pages)
    cleaned = [" ".join(_texts(clean_text(p, corpus, page=i))) for i, p in enumerate(pages)]
    # the notice is on 20 pages: it stays on the first one only
    assert [i for i, t in enumerate(cleaned) if "如有侵权" in t] == [0]
    # the wire story stays findable, and every copy that is only the story keeps it
    for sentence in WIRE:
        holders = [i for i, t in enumerate(cleaned) if sentence in t]
        assert holders[0] == 3 and set(holders) >= {3, 5, 7}
    assert all(t.strip() for t in cleaned)
    assert "本站编辑补充说明了第4篇" in cleaned[4]


@pytest.mark.parametrize("text, date", [
    ("2024-01-31 13:42", "2024-01-31"),
    ("发布于2024年1月17日 11:06 AM", "2024-01-17"),
    ("2023-02-1815:01:39(1)", "2023-02-18"),
    ("2024/7/4", "2024-07-04"),
    ("no date here 12-34", None),
    ("2024-13-45", None),
])
def test_find_date(text, date):
    assert find_date(text) == date


@pytest.mark.parametrize("text, n", [
    ("第一句。第二句！第三句？", 3),
    ("He said “yes.” Then he left. OK", 3),
    ("没有句号的一行", 1),
])
def test_split_sentences(text, n):
    assert len(split_sentences(text)) == n
    assert "".join(s.replace(" ", "") for s in split_sentences(text)) == text.replace(" ", "")


@pytest.mark.parametrize("change, holds", [
    (lambda pages: (pages, 3), True),                                  # the same corpus
    (lambda pages: (pages + ["另一个网站的页面。"] * 2, 3), True),      # unrelated pages added
    (lambda pages: ([WIRE[0]] + pages, 4), False),                      # the story now starts on an earlier page
    (lambda pages: (pages[:4] + pages[9:] + [f"别的页面{i}。" for i in range(5)], 3), True),  # copies gone
    (lambda pages: (pages[:5], 3), False),                              # too few pages to count sentences
])
def test_recorded_answers_tell_whether_cleaning_again_would_change_the_article(change, holds):
    pages = _wire_corpus()
    recorded = RecordedBoilerplate(**vars(corpus_boilerplate(pages)))
    page = 3  # the first copy of the wire story: it keeps the story while no earlier page has it
    first = _texts(clean_text(pages[page], recorded, page))
    assert first == _texts(clean_text(pages[page], corpus_boilerplate(pages), page))  # recording changes nothing
    changed, moved = change(pages)
    other = corpus_boilerplate(changed)
    assert other.answers_hold(recorded.answers, moved) is holds
    if holds:  # and when they hold, cleaning again makes the same article
        assert _texts(clean_text(pages[page], other, moved)) == first
