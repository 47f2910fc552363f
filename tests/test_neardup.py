import pytest

from search_api.neardup import bigrams, near_duplicates

BASE = "斐济决定恢复与中国的警务合作两国将决定未来如何执行协议斐济警察将到中国接受培训"


@pytest.mark.parametrize("a, b, expected", [
    (BASE, BASE, True),
    (BASE, BASE.replace("培训", "训练"), True),  # one word changed
    (BASE, BASE + "另据报道", True),  # the same text, extended a little
    (BASE, "美国总统拜登将于星期一与十八位太平洋岛国领导人在白宫举行第二次峰会", False),
    (BASE, BASE[:len(BASE) // 3], False),  # a third of it is not the same passage
    ("", BASE, False),
])
def test_near_duplicates(a, b, expected):
    assert near_duplicates(bigrams(a), bigrams(b)) is expected
