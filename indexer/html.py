"""Extract article text and metadata from a saved HTML page."""

from __future__ import annotations

from dataclasses import dataclass

from indexer.links import safe_url

# Page chrome that never holds the article body.
_DROP_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe", "svg")
_BLOCK_TAGS = ("p", "div", "h1", "h2", "h3", "h4", "li", "br", "tr", "section", "article", "blockquote")


@dataclass
class HtmlPage:
    text: str
    title: str | None = None
    url: str | None = None
    date: str | None = None


def html_to_text(html: str) -> HtmlPage:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "lxml")
    title = _meta(soup, "og:title") or (soup.title.get_text(strip=True) if soup.title else None)
    url = safe_url(_meta(soup, "og:url")) or _canonical(soup)
    date = _meta(soup, "article:published_time") or _time(soup)
    for tag in soup(_DROP_TAGS):
        tag.decompose()
    body = soup.find("article") or soup.body or soup
    for tag in body.find_all(_BLOCK_TAGS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    h1 = body.find("h1")
    title = (h1.get_text(" ", strip=True) if h1 else None) or title
    return HtmlPage(text=body.get_text(), title=title or None, url=url, date=date)


def _meta(soup, prop: str) -> str | None:
    tag = soup.find("meta", attrs={"property": prop}) or soup.find("meta", attrs={"name": prop})
    value = tag.get("content") if tag else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def _canonical(soup) -> str | None:
    tag = soup.find("link", rel="canonical")
    return safe_url(tag.get("href")) if tag else None


def _time(soup) -> str | None:
    tag = soup.find("time", attrs={"datetime": True})
    return str(tag["datetime"]) if tag else None
