"""Server-rendered article page: one window of the cleaned article, the linked passage anchored and marked."""

from __future__ import annotations

import html

from indexer.links import safe_url
from indexer.store import ArticleRow

# No inline script or style: the page's CSP allows only our own files. static/article.js marks the
# passage named in the URL fragment, or opens the window that holds it.
ARTICLE_TEMPLATE = """<!doctype html>
<html lang="zh">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/static/style.css">
</head>
<body class="article-page">
<header class="bar"><a href="/" class="brand">新闻检索 News Search</a></header>
<main class="article" data-offset="{offset}" data-limit="{limit}" data-total="{total}">
<h1>{title}</h1>
<p class="meta">{meta}</p>
{passages}
{pager}
</main>
<script src="/static/article.js"></script>
</body>
</html>
"""


def render_article(article: ArticleRow, passages: list[tuple[int, str, str]], *, offset: int = 0,
                   limit: int | None = None, total: int | None = None) -> str:
    """The page for `passages`, the window of `limit` passages from the `offset`-th of `total`."""
    total = len(passages) if total is None else total
    limit = limit or max(total, 1)
    title = html.escape(article.title or article.doc_id)
    meta = [html.escape(article.date or "undated"), html.escape(article.lang), html.escape(article.path)]
    url = safe_url(article.url)  # an index built before links were checked may hold any scheme
    if url:
        meta.append(f'<a href="{html.escape(url, quote=True)}" rel="noopener noreferrer" target="_blank">original</a>')
    body = "\n".join(
        f'<p class="passage" id="p{pos}" data-passage-id="{html.escape(pid)}">'
        f'{html.escape(text).replace(chr(10), "<br>")}</p>'
        for pos, pid, text in passages)
    return ARTICLE_TEMPLATE.format(title=title, meta=" · ".join(meta), passages=body, offset=offset, limit=limit,
                                   total=total, pager=pager(offset, limit, total, len(passages)))


def pager(offset: int, limit: int, total: int, shown: int) -> str:
    """Previous/next links between windows; nothing when the whole article is on the page."""
    if offset == 0 and shown >= total:
        return ""
    links = []
    if offset > 0:
        links.append(f'<a rel="prev" href="?offset={max(offset - limit, 0)}&amp;limit={limit}">← previous</a>')
    first, last = (offset + 1, offset + shown) if shown else (0, 0)
    links.append(f'<span class="window">passages {first}–{last} of {total}</span>')
    if offset + limit < total:
        links.append(f'<a rel="next" href="?offset={offset + limit}&amp;limit={limit}">next →</a>')
    return f'<nav class="pager">{" ".join(links)}</nav>'
