// The staff console: a hash router over screens. Each screen module exports
// render(root, params, ctx) and owns what it shows; the router only finds it,
// clears the stage and keeps the navigation and the signed-in user current.
import { api, me, onUnauthorized, signOut, signedOut, errorMessage } from '/console/shared/api.js';
import { el, clear, bar } from '/console/shared/ui.js';

// route name -> [module, pattern]; a pattern's :name parts become params.
const routes = [
  ['users', 'users', '/users'],
  ['user', 'users', '/users/:id'],
  ['add-user', 'add-user', '/add-user'],
  ['upload', 'upload', '/upload'],
  ['tasks', 'tasks', '/tasks'],
  ['task', 'tasks', '/tasks/:id'],
  ['resets', 'resets', '/resets'],
  ['sets', 'sets', '/sets'],
  ['set', 'sets', '/sets/:id'],
  ['settings', 'settings', '/settings'],
  ['letters', 'letters', '/letters'],
  ['audit', 'audit', '/audit'],
];

const ctx = { me: null, tenant: '' };
let renderSeq = 0;
let flash = null;

// ctx.flash(kind, message) shows a bar on the next screen: an action that
// navigates (a user created → the user's page) keeps its green bar.
ctx.flash = (kind, message) => { flash = [kind, message]; };

function match(hash) {
  const path = (hash || '').replace(/^#/, '') || '/users';
  for (const [screen, nav, pattern] of routes) {
    const pp = pattern.split('/');
    const hp = path.split('/');
    if (pp.length !== hp.length) continue;
    const params = {};
    let ok = true;
    for (let i = 0; i < pp.length; i += 1) {
      if (pp[i].startsWith(':')) params[pp[i].slice(1)] = decodeURIComponent(hp[i]);
      else if (pp[i] !== hp[i]) { ok = false; break; }
    }
    if (ok) return { screen, nav, params };
  }
  return null;
}

// go navigates to a console route ("/users/abc"); screens use it after an action.
export function go(path) {
  if (location.hash === '#' + path) render();
  else location.hash = path;
}
ctx.go = go;

async function render() {
  const seq = ++renderSeq;
  const stage = document.getElementById('screen');
  if (!ctx.me) { await showSignIn(); return; }
  const m = match(location.hash);
  for (const a of document.querySelectorAll('#nav a')) {
    if (m && a.dataset.route === m.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (!m) { clear(stage); stage.append(el('h1', {}, 'Not found'), el('p', {}, 'There is no such page. '), el('a', { href: '#/users' }, 'Go to users')); return; }
  let mod;
  try {
    mod = await import(`./screens/${m.screen}.js`);
  } catch (e) {
    bar('error', `This screen could not be loaded (${m.screen}).`);
    return;
  }
  if (seq !== renderSeq) return; // a later navigation won
  clear(stage);
  await mod.render(stage, m.params, ctx);
  if (flash) { const [k, msg] = flash; flash = null; bar(k, msg); }
}

async function showSignIn(message) {
  ctx.me = null;
  document.getElementById('nav').hidden = true;
  clear(document.getElementById('who'));
  const stage = document.getElementById('screen');
  clear(stage);
  const mod = await import('./screens/signin.js');
  await mod.render(stage, { message }, ctx, async () => { await start(); });
}

function showWho() {
  const who = clear(document.getElementById('who'));
  who.append(`${ctx.me.username} · ${ctx.me.tenant} `,
    el('button', { type: 'button', class: 'linkish', id: 'sign-out', on: { click: async () => { await signOut(); ctx.me = null; bar('ok', 'You are signed out.'); await showSignIn(); } } }, 'Sign out'));
}

async function start() {
  const res = await me();
  if (signedOut(res)) { await showSignIn(); return; }
  if (!res.ok) { bar('error', errorMessage(res)); return; }
  const u = res.body;
  if (u.mustChangePassword) { ctx.me = null; await showSignIn('change'); return; }
  if (!(u.roles || []).includes('admin')) {
    ctx.me = null;
    await signOut();
    await showSignIn('not-staff');
    return;
  }
  ctx.me = u;
  ctx.tenant = u.tenant;
  document.getElementById('nav').hidden = false;
  showWho();
  await render();
}

onUnauthorized(() => { if (ctx.me) { ctx.me = null; bar('error', 'Your session has ended. Sign in again.'); showSignIn(); } });
window.addEventListener('hashchange', () => { if (!flash) bar('', ''); render(); });
start();

export { api };
