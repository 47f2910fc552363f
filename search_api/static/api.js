// Shared by the search page and the article shell: API calls with the key, and links to originals.
// A server started with NEWSSEARCH_API_KEY wants the key on every API call: it is kept in localStorage,
// sent as X-API-Key, and asked for in the page's key form (not window.prompt) when the server answers 401.
const KEY_STORE = 'newssearch.apiKey';
let keyRequest = null;  // one pending form, however many calls were refused at once

function storedKey() {
  try { return localStorage.getItem(KEY_STORE) || ''; } catch (err) { return ''; }
}

let sessionKey = storedKey();

function storeKey(key) {
  try { localStorage.setItem(KEY_STORE, key); } catch (err) { /* private mode: the key lasts this page */ }
  sessionKey = key;
}

function askForKey(refused) {
  if (keyRequest) return keyRequest;
  const form = document.getElementById('key-form');
  const input = document.getElementById('api-key');
  document.getElementById('key-message').textContent =
    refused ? 'That API key was refused; enter the right one.' : 'This server needs an API key.';
  form.hidden = false;
  input.value = '';
  input.focus();
  keyRequest = new Promise(resolve => {
    form.addEventListener('submit', function done(event) {
      event.preventDefault();
      const key = input.value.trim();
      if (!key) return;
      form.removeEventListener('submit', done);
      form.hidden = true;
      storeKey(key);
      keyRequest = null;
      resolve(key);
    });
  });
  return keyRequest;
}

// fetch() with the stored key; on 401 ask for a key and try again.
async function apiFetch(url, options = {}) {
  for (;;) {
    const headers = new Headers(options.headers || {});
    if (sessionKey) headers.set('X-API-Key', sessionKey);
    const res = await fetch(url, {...options, headers});
    if (res.status !== 401) return res;
    await askForKey(Boolean(sessionKey));
  }
}

// Only an absolute http(s) URL becomes a link: "javascript:" and friends would run in our origin.
function originalLink(url) {
  const href = (url || '').trim();
  if (!/^https?:\/\//i.test(href)) return null;
  const a = document.createElement('a');
  a.href = href;
  a.rel = 'noopener noreferrer';
  a.target = '_blank';
  a.textContent = 'original';
  return a;
}
