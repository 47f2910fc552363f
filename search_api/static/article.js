// Article page: mark the passage named in the URL fragment (#pN) and bring it into view, also after in-page
// navigation; when passage N is in another window of a long article, open that window.
// The static shell (article.html, for a server with an API key) first fetches the article as JSON with the
// stored key (api.js) and renders it; server text only ever goes in through textContent.
const main = document.querySelector('main.article');

function targetPosition() {
  const m = /^#p(\d+)$/.exec(location.hash);
  return m ? Number(m[1]) : null;
}

// Positions number an article's passages 0, 1, 2, … so passage N is in the window that starts at the
// multiple of the window size just below N.
function openWindowOf(position) {
  const limit = Number(main.dataset.limit);
  const offset = Math.floor(position / limit) * limit;
  if (!limit || position >= Number(main.dataset.total) || offset === Number(main.dataset.offset)) return;
  const params = new URLSearchParams(location.search);
  params.set('offset', String(offset));
  location.replace(`${location.pathname}?${params}${location.hash}`);
}

function markTarget() {
  document.querySelectorAll('.passage.current').forEach(el => el.classList.remove('current'));
  const position = targetPosition();
  if (position === null) return;
  const el = document.getElementById(`p${position}`);
  if (el) {
    el.classList.add('current');
    el.scrollIntoView({block: 'center'});
  } else {
    openWindowOf(position);
  }
}

function setStatus(text, kind) {
  const status = document.getElementById('status');
  status.textContent = text;
  status.className = 'status' + (kind ? ' ' + kind : '');
  status.hidden = !text;
}

function pagerLink(rel, offset, limit, text) {
  const a = document.createElement('a');
  a.rel = rel;
  a.href = '?' + new URLSearchParams({offset: String(offset), limit: String(limit)});
  a.textContent = text;
  return a;
}

// The same previous/next links as the server-rendered page (pages.pager).
function renderPager(article) {
  const {offset, limit, total, next_offset: next} = article;
  const shown = article.passages.length;
  const nav = main.querySelector('.pager');
  nav.replaceChildren();
  nav.hidden = offset === 0 && shown >= total;
  if (nav.hidden) return;
  if (offset > 0) nav.append(pagerLink('prev', Math.max(offset - limit, 0), limit, '← previous'), ' ');
  const span = document.createElement('span');
  span.className = 'window';
  span.textContent = shown ? `passages ${offset + 1}–${offset + shown} of ${total}` : `passages 0–0 of ${total}`;
  nav.append(span);
  if (next !== null) nav.append(' ', pagerLink('next', next, limit, 'next →'));
}

function renderArticle(article) {
  const title = article.title || article.doc_id;
  document.title = title;
  main.querySelector('h1').textContent = title;
  const meta = main.querySelector('.meta');
  meta.textContent = [article.date || 'undated', article.lang, article.source.path].join(' · ');
  const original = originalLink(article.source.url);
  if (original) meta.append(' · ', original);
  document.getElementById('passages').replaceChildren(...article.passages.map(p => {
    const el = document.createElement('p');
    el.className = 'passage';
    el.id = `p${p.position}`;
    el.dataset.passageId = p.passage_id;
    el.textContent = p.text;  // newlines show as line breaks (white-space: pre-line)
    return el;
  }));
  Object.assign(main.dataset, {offset: article.offset, limit: article.limit, total: article.total});
  renderPager(article);
}

async function loadShell() {
  const query = new URLSearchParams({format: 'json'});
  const asked = new URLSearchParams(location.search);
  for (const name of ['offset', 'limit']) if (asked.has(name)) query.set(name, asked.get(name));
  try {
    // location.pathname is /articles/{id}, already percent-encoded
    const res = await apiFetch(`${location.pathname}?${query}`, {headers: {Accept: 'application/json'}});
    const body = await res.json();
    if (!res.ok) {
      const detail = Array.isArray(body.detail) ? body.detail.map(d => d.msg).join('; ') : body.detail;
      setStatus(`Error ${res.status}: ${detail}`, 'error');
      return;
    }
    renderArticle(body);
    setStatus('');
    markTarget();
  } catch (err) {
    setStatus('The article could not be loaded.', 'error');
  }
}

window.addEventListener('hashchange', markTarget);
if (main.hasAttribute('data-shell')) loadShell(); else markTarget();
