// The one way pages talk to the API: same origin, the session in an
// HttpOnly cookie the page never sees, and on every write the CSRF token the
// sign-in left in a readable cookie.

const CSRF_COOKIE = '__Host-csrf';
let unauthorized = () => {};

// onUnauthorized registers what to do when the API says the session is gone
// (the app shows its sign-in screen).
export function onUnauthorized(fn) { unauthorized = fn; }

function csrfToken() {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === CSRF_COOKIE) return v.join('=');
  }
  return '';
}

// api sends one request and never throws on an HTTP status: the caller
// shows res.ok ? a green bar : a red one with errorMessage(res).
export async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json', ...(opts.headers || {}) };
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken();
  if (opts.ifMatch) headers['If-Match'] = opts.ifMatch;
  let payload;
  if (body !== undefined && body !== null) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, { method, headers, body: payload, credentials: 'same-origin', cache: 'no-store' });
  } catch (e) {
    return { status: 0, ok: false, body: { error: { code: 'network', message: 'The library system could not be reached. Check the connection and try again.' } }, headers: new Headers(), etag: '' };
  }
  const type = resp.headers.get('content-type') || '';
  let parsed = null;
  if (opts.raw) parsed = await resp.blob();
  else if (type.includes('json')) parsed = await resp.json().catch(() => null);
  else parsed = await resp.text();
  const res = { status: resp.status, ok: resp.ok, body: parsed, headers: resp.headers, etag: resp.headers.get('etag') || '' };
  if (signedOut(res) && !opts.quiet401) unauthorized(res);
  return res;
}

// gatewayRefusal: API Gateway's own {"message": "Forbidden"} when its
// authorizer found no live session (none, expired, signed out, or a write
// without the CSRF token), as opposed to the API's {"error": …} "not allowed".
function gatewayRefusal(res) {
  const b = res.body;
  return (res.status === 401 || res.status === 403) && !!b && typeof b === 'object' && !b.error && typeof b.message === 'string';
}

// signedOut says the answer means "there is no session": the page should
// show its sign-in screen rather than an error.
export function signedOut(res) {
  return res.status === 401 || gatewayRefusal(res);
}

// errorMessage is the API's own message (or the gateway's), never a guess.
export function errorMessage(res) {
  const b = res.body;
  if (gatewayRefusal(res)) return 'Your session has ended. Sign in again.';
  if (b && typeof b === 'object') {
    if (b.error && b.error.message) return b.error.message;
    if (b.message) return b.message;
  }
  if (res.status === 401) return 'Your session has ended. Sign in again.';
  if (res.status === 403) return 'You are not allowed to do that.';
  if (typeof b === 'string' && b.trim()) return b.trim();
  return `The request failed (HTTP ${res.status}).`;
}

export async function signIn(tenant, username, password) {
  return api('POST', '/v1/auth/login', { tenant, username, password }, { headers: { 'X-Session': 'cookie' }, quiet401: true });
}

export async function signOut() {
  return api('POST', '/v1/auth/logout', undefined, { quiet401: true });
}

export async function me() {
  return api('GET', '/v1/me', undefined, { quiet401: true });
}

// changePassword answers 401 for a wrong current password: that is the
// form's error to show, not a lost session.
export async function changePassword(currentPassword, newPassword) {
  return api('POST', '/v1/me/password', { currentPassword, newPassword }, { quiet401: true });
}

// query builds "?a=1&b=2" from the defined, non-empty values.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? '?' + s : '';
}
