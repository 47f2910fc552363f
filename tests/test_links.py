import pytest

from indexer.links import safe_url


@pytest.mark.parametrize("value, expected", [
    ("https://news.example/a?b=1#c", "https://news.example/a?b=1#c"),
    ("  http://news.example/a  ", "http://news.example/a"),
    ("HTTPS://News.Example/A", "HTTPS://News.Example/A"),
    ("javascript:alert(document.domain)", None),
    (" JavaScript:alert(1)", None),
    ("java\nscript:alert(1)", None),
    ("http://news.example/\tx", None),
    ("data:text/html,<script>alert(1)</script>", None),
    ("vbscript:msgbox(1)", None),
    ("file:///etc/passwd", None),
    ("//news.example/a", None),
    ("/articles/x", None),
    ("https://", None),
    ("http://[::1", None),
    ('https://news.example/"onmouseover="alert(1)', None),
    ("", None),
    (None, None),
    (42, None),
])
def test_only_absolute_http_urls_with_a_host_are_links(value, expected):
    assert safe_url(value) == expected
