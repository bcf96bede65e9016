// Pieces the people screens (users, user, add-user) share. Like ui.js, it
// never parses HTML: API data reaches the page only as text.
import { api, errorMessage, query } from '../shared/api.js';
import { el, clear, uid } from '../shared/ui.js';

// A list field (roles, queues, pools) is typed as "a, b, c": staff know
// those names as words, and a comma list reads back the same way.
export function parseList(text) {
  const seen = new Set();
  const out = [];
  for (const part of String(text || '').split(',')) {
    const v = part.trim();
    if (v && !seen.has(v.toLowerCase())) { seen.add(v.toLowerCase()); out.push(v); }
  }
  return out;
}

export function showList(list) { return (list || []).join(', '); }

export function statusBadge(status) {
  const active = status === 'active';
  return el('span', { class: `badge ${active ? 'badge-active' : 'badge-inactive'}`, 'data-test': 'status' }, active ? 'Active' : 'Inactive');
}

// lockText says in words what failedLogins and lockedUntil mean; the far
// date is the API's "until staff unlock it".
export function lockText(u, now = new Date()) {
  if (u.lockedUntil) {
    const until = new Date(u.lockedUntil);
    if (until.getUTCFullYear() >= 9999) return 'Locked until staff unlock the account (or the user completes a reset link).';
    if (until > now) return `Locked until ${until.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' })}.`;
  }
  if (u.failedLogins) return `Not locked; ${u.failedLogins} failed sign-in${u.failedLogins === 1 ? '' : 's'} in a row.`;
  return 'Not locked.';
}

export function isLocked(u, now = new Date()) {
  return Boolean(u.lockedUntil && new Date(u.lockedUntil) > now);
}

// srLabel is a label only screen readers announce: a row's checkbox needs a
// name ("Select ann") that the table's layout already shows by sight.
export function srLabel(forId, text) {
  return el('label', { for: forId, class: 'uk-sr' }, text);
}

// markInvalid flags the control the API named in error.field, so the red
// bar's message and the field it is about are tied together; fields maps
// API field names to controls.
export function markInvalid(res, fields) {
  for (const c of Object.values(fields)) c.removeAttribute('aria-invalid');
  const f = res && res.body && res.body.error && res.body.error.field;
  const c = f && fields[f];
  if (c) { c.setAttribute('aria-invalid', 'true'); c.focus(); }
}

// One-shot hand-over between screens: a password generated on create is
// shown once on the new user's page and then forgotten. It lives in memory
// only, never in the URL or storage.
const handed = new Map();
export function handOver(key, value) { handed.set(key, value); }
export function takeOver(key) { const v = handed.get(key); handed.delete(key); return v; }

// oncePanel shows a secret that exists once (a generated password) with the
// words that say so.
export function oncePanel(title, secret, note) {
  return el('div', { class: 'panel uk-once', role: 'region', 'aria-label': title, 'data-test': 'once' },
    el('h2', {}, title),
    el('p', { class: 'phrase', id: 'generated-password' }, secret),
    el('p', { class: 'hint' }, note));
}

// userPicker is the searchable "copy another user's settings" drop-down: type
// part of a username (or a whole e-mail, barcode or primary ID) and pick
// one of the matching users from a list of buttons, which a keyboard reaches
// with Tab and a screen reader hears counted.
export function userPicker({ id, label, hint, onPick }) {
  const inputId = id || uid('pick');
  const listId = `${inputId}-results`;
  const statusId = `${inputId}-status`;
  const inp = el('input', { type: 'search', id: inputId, autocomplete: 'off', 'aria-controls': listId, 'aria-describedby': statusId, spellcheck: 'false' });
  const list = el('ul', { id: listId, class: 'uk-picks', 'data-test': 'pick-results' });
  const status = el('p', { id: statusId, class: 'hint', 'aria-live': 'polite' }, hint || 'Type the start of a username, or an e-mail address, barcode or primary ID.');
  let seq = 0;
  let timer = null;

  async function search() {
    const q = inp.value.trim();
    const mine = ++seq;
    clear(list);
    if (!q) { status.textContent = hint || 'Type the start of a username.'; return; }
    status.textContent = 'Searching…';
    const found = await findUsers(q);
    if (mine !== seq) return; // a newer keystroke won
    if (!found.ok) { status.textContent = found.message; return; }
    status.textContent = found.users.length ? `${found.users.length} matching user${found.users.length === 1 ? '' : 's'}: pick one.` : 'No user matches.';
    for (const u of found.users) {
      list.append(el('li', {},
        el('button', { type: 'button', class: 'uk-pick', 'data-test': `pick-${u.username}`, on: { click: () => { onPick(u); } } },
          el('span', { class: 'uk-pick-name' }, u.username),
          el('span', { class: 'hint' }, [u.email, (u.roles || []).join(', ') || 'no role'].filter(Boolean).join(' · ')))));
    }
  }

  inp.addEventListener('input', () => {
    clearTimeout(timer);
    // Wait for a pause in the typing: one request per word, not per key.
    timer = setTimeout(search, 250);
  });
  inp.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); clearTimeout(timer); search(); }
    if (e.key === 'ArrowDown') { const b = list.querySelector('button'); if (b) { e.preventDefault(); b.focus(); } }
  });
  list.addEventListener('keydown', (e) => {
    const buttons = [...list.querySelectorAll('button')];
    const i = buttons.indexOf(document.activeElement);
    if (i < 0) return;
    if (e.key === 'ArrowDown' && i + 1 < buttons.length) { e.preventDefault(); buttons[i + 1].focus(); }
    if (e.key === 'ArrowUp') { e.preventDefault(); (i > 0 ? buttons[i - 1] : inp).focus(); }
  });
  const wrap = el('div', { class: 'field uk-picker' }, el('label', { for: inputId }, label), inp, status, list);
  return { node: wrap, input: inp, reset() { inp.value = ''; clear(list); status.textContent = hint || ''; } };
}

// findUsers answers a picker's or a search box's words: an "@" is an
// e-mail, otherwise a username prefix, then an exact barcode or primary
// ID, so one box finds a user by whatever staff have to hand.
export async function findUsers(q, limit = 10) {
  const tries = q.includes('@') ? [{ email: q }] : [{ prefix: q, limit }, { barcode: q }, { primaryId: q }];
  const seen = new Map();
  for (const t of tries) {
    const res = await api('GET', '/v1/admin/users' + query(t));
    if (!res.ok) {
      // A word the API refuses as a barcode or primary ID (too long) is
      // simply no match there; only the first way's failure is reported.
      if (t.prefix === undefined && t.email === undefined) continue;
      return { ok: false, message: errorMessage(res), users: [] };
    }
    for (const u of res.body.users || []) seen.set(u.id, u);
    if (seen.size >= limit) break;
  }
  return { ok: true, users: [...seen.values()].slice(0, limit) };
}

// bulkOutcome turns POST /v1/admin/users:bulk's answer into the bar's words:
// green when every user was done, red naming each one that was not, with
// the API's own reason.
export function bulkOutcome(verb, body) {
  const results = body.results || [];
  const failed = results.filter((r) => !r.ok);
  const done = results.filter((r) => r.ok).map((r) => r.username || r.id);
  const users = (n) => `${n} user${n === 1 ? '' : 's'}`;
  if (!failed.length) return { kind: 'ok', message: `Successfully ${verb} ${users(done.length)}: ${done.join(', ')}` };
  const why = failed.map((r) => `${r.username || r.id}: ${r.message || r.code}`).join('; ');
  return { kind: 'error', message: `${verb[0].toUpperCase()}${verb.slice(1)} ${done.length} of ${users(results.length)}. Not done — ${why}` };
}
