"""Which source URLs may become links: only absolute http(s) URLs, whatever the input claims."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

LINK_SCHEMES = ("http", "https")
# Browsers drop tabs and newlines inside a URL ("java\nscript:" runs as javascript:), and a URL with
# spaces or control characters is not one a source would publish: refuse them rather than repair them.
_UNSAFE_CHARS = re.compile(r"[\x00-\x20\x7f\\<>\"'`]")


def safe_url(value: object) -> str | None:
    """The stripped URL when it is an absolute http(s) URL with a host, else None."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    if not url or _UNSAFE_CHARS.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an invalid IPv6 literal
        return None
    if parts.scheme.lower() not in LINK_SCHEMES or not parts.hostname:
        return None
    return url
