// Search page: submit on Enter (never per keystroke, so Chinese input methods work), render cards.
// apiFetch and originalLink come from api.js.
const form = document.getElementById('search');
const statusEl = document.getElementById('status');
const list = document.getElementById('results');
const fields = ['q', 'k', 'mode', 'lang', 'source', 'date_from', 'date_to'];

function setStatus(text, kind) {
  statusEl.textContent = text;
  statusEl.className = 'status' + (kind ? ' ' + kind : '');
}

function params() {
  const p = new URLSearchParams();
  for (const name of fields) {
    const value = document.getElementById(name).value.trim();
    if (value) p.set(name, value);
  }
  return p;
}

function card(hit) {
  const li = document.createElement('li');
  li.className = 'card';
  li.innerHTML = `
    <h2><a class="title"></a></h2>
    <p class="meta"><span class="date"></span> · <span class="lang"></span> · score <span class="score"></span></p>
    <p class="passage">${hit.highlight}</p>`;  // highlight is HTML-escaped by the server
  li.querySelector('.title').href = hit.link;
  li.querySelector('.title').textContent = hit.title || hit.doc_id;
  li.querySelector('.date').textContent = hit.date || 'undated';
  li.querySelector('.lang').textContent = hit.lang;
  li.querySelector('.score').textContent = hit.score.toFixed(3);
  const original = originalLink(hit.source.url);
  if (original) li.querySelector('.meta').append(' · ', original);
  return li;
}

async function search(event) {
  if (event) event.preventDefault();
  list.innerHTML = '';
  const p = params();
  if (!p.get('q')) { setStatus('Please enter a query.', 'error'); return; }
  history.replaceState(null, '', '/?' + p.toString());
  setStatus('Searching…');
  try {
    const res = await apiFetch('/search?' + p.toString(), {headers: {Accept: 'application/json'}});
    const body = await res.json();
    if (!res.ok) {
      const detail = Array.isArray(body.detail) ? body.detail.map(d => d.msg).join('; ') : body.detail;
      setStatus(`Error ${res.status}: ${detail}`, 'error');
      return;
    }
    if (!body.results.length) { setStatus(`No results (${body.took_ms.toFixed(0)} ms).`, 'empty'); return; }
    setStatus(`${body.results.length} results in ${body.took_ms.toFixed(0)} ms`);
    body.results.forEach(hit => list.appendChild(card(hit)));
  } catch (err) {
    setStatus('The search service could not be reached.', 'error');
  }
}

form.addEventListener('submit', search);
// Restore a shared or reloaded search from the URL.
const initial = new URLSearchParams(location.search);
for (const name of fields) if (initial.get(name)) document.getElementById(name).value = initial.get(name);
if (initial.get('q')) search();
