"""Server-rendered article page: the cleaned article with the linked passage anchored and marked."""

from __future__ import annotations

import html

from indexer.store import ArticleRow

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
<main class="article">
<h1>{title}</h1>
<p class="meta">{meta}</p>
{passages}
</main>
<script>
// Mark the passage named in the URL fragment and bring it into view (also after in-page navigation).
function markTarget() {{
  document.querySelectorAll('.passage.current').forEach(el => el.classList.remove('current'));
  const el = location.hash && document.getElementById(location.hash.slice(1));
  if (el) {{ el.classList.add('current'); el.scrollIntoView({{block: 'center'}}); }}
}}
window.addEventListener('hashchange', markTarget);
markTarget();
</script>
</body>
</html>
"""


def render_article(article: ArticleRow, passages: list[tuple[int, str, str]]) -> str:
    title = html.escape(article.title or article.doc_id)
    meta = [html.escape(article.date or "undated"), html.escape(article.lang), html.escape(article.path)]
    if article.url:
        url = html.escape(article.url, quote=True)
        meta.append(f'<a href="{url}" rel="noopener noreferrer" target="_blank">original</a>')
    body = "\n".join(
        f'<p class="passage" id="p{pos}" data-passage-id="{html.escape(pid)}">'
        f'{html.escape(text).replace(chr(10), "<br>")}</p>'
        for pos, pid, text in passages)
    return ARTICLE_TEMPLATE.format(title=title, meta=" · ".join(meta), passages=body)
