// The patron portal: a hash router over screens, as the console has. Each
// screen module exports render(root, params, ctx). Only the route is ever in
// the URL; what a patron types stays in the page.
import { me, onUnauthorized, signOut, signedOut, errorMessage } from '/portal/shared/api.js';
import { el, clear, bar } from '/portal/shared/ui.js';

// [screen module, nav item, pattern]
const routes = [
  ['account', 'account', '/account'],
  ['loans', 'loans', '/loans'],
  ['connected', 'connected', '/connected'],
  ['password', 'password', '/password'],
  ['activity', 'activity', '/activity'],
];
// Screens for someone who cannot sign in: no session needed.
const publicRoutes = {
  '/forgot-password': 'forgot-password',
  '/forgot-username': 'forgot-username',
};

const ctx = { me: null, tenant: '' };
let renderSeq = 0;
let flash = null;
ctx.flash = (kind, message) => { flash = [kind, message]; };

function currentPath() { return (location.hash || '').replace(/^#/, '') || '/account'; }

function match(path) {
  for (const [screen, nav, pattern] of routes) {
    if (pattern === path) return { screen, nav, params: {} };
  }
  return null;
}

export function go(path) {
  if (location.hash === '#' + path) render();
  else location.hash = path;
}
ctx.go = go;

// reload fetches the signed-in account again (after a change to it).
ctx.reload = async () => {
  const res = await me();
  if (res.ok) { ctx.me = res.body; showWho(); }
  return res;
};

async function render() {
  const seq = ++renderSeq;
  const stage = document.getElementById('screen');
  const path = currentPath();
  const pub = publicRoutes[path];
  let mod;
  let m = null;
  if (pub) {
    mod = await load(`./screens/${pub}.js`, pub);
  } else {
    if (!ctx.me) { await showSignIn(); return; }
    m = match(path);
    if (!m) {
      clear(stage);
      stage.append(el('h1', {}, 'Not found'), el('p', {}, 'There is no such page. '), el('a', { href: '#/account' }, 'Go to my account'));
      return;
    }
    mod = await load(`./screens/${m.screen}.js`, m.screen);
  }
  for (const a of document.querySelectorAll('#nav a')) {
    if (m && a.dataset.route === m.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (!mod || seq !== renderSeq) return; // a later navigation won
  clear(stage);
  await mod.render(stage, m ? m.params : {}, ctx);
  if (flash) { const [k, msg] = flash; flash = null; bar(k, msg); }
}

async function load(url, name) {
  try {
    return await import(url);
  } catch (e) {
    bar('error', `This page could not be loaded (${name}). Reload the page to try again.`);
    return null;
  }
}

async function showSignIn(message) {
  ctx.me = null;
  document.getElementById('nav').hidden = true;
  clear(document.getElementById('who'));
  const stage = document.getElementById('screen');
  clear(stage);
  const { renderSignIn } = await import('/portal/shared/signin.js');
  await renderSignIn(stage, {
    title: 'Sign in to your library account',
    message,
    extra: el('ul', { class: 'links', id: 'signin-help' },
      el('li', {}, el('a', { href: '#/forgot-password', id: 'to-forgot-password' }, 'Forgot your password?')),
      el('li', {}, el('a', { href: '#/forgot-username', id: 'to-forgot-username' }, 'Forgot your username?'))),
  }, async () => { await start(); });
}

function showWho() {
  const who = clear(document.getElementById('who'));
  who.append(`${ctx.me.username} `,
    el('button', {
      type: 'button', class: 'linkish', id: 'sign-out',
      on: { click: async () => { await signOut(); ctx.me = null; bar('ok', 'You are signed out.'); await showSignIn(); } },
    }, 'Sign out'));
}

async function start() {
  if (publicRoutes[currentPath()]) {
    // Someone who forgot their password has no session to ask about.
    document.getElementById('nav').hidden = true;
    await render();
    return;
  }
  const res = await me();
  if (signedOut(res)) { await showSignIn(); return; }
  if (!res.ok) { bar('error', errorMessage(res)); return; }
  if (res.body.mustChangePassword) { ctx.me = null; await showSignIn('change'); return; }
  ctx.me = res.body;
  ctx.tenant = res.body.tenant;
  document.getElementById('nav').hidden = false;
  showWho();
  await render();
}

onUnauthorized(() => { if (ctx.me) { ctx.me = null; bar('error', 'Your session has ended. Sign in again.'); showSignIn(); } });
window.addEventListener('hashchange', async () => {
  if (!flash) bar('', '');
  if (!ctx.me && !publicRoutes[currentPath()]) { await start(); return; }
  await render();
});
start();
