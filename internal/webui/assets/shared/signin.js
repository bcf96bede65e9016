// The sign-in both apps share: library code, username and password, then
// the forced password change when the account must choose its own. The
// session itself is an HttpOnly cookie: nothing here ever holds a token.
import { signIn, signOut, changePassword, errorMessage } from './api.js';
import { el, clear, bar, field, input, form, heading, busy } from './ui.js';

// The library code is no secret, and typing it every time is a chore.
const TENANT_KEY = 'libaccounts.libraryCode';

function rememberedTenant() {
  try { return localStorage.getItem(TENANT_KEY) || ''; } catch { return ''; }
}

function rememberTenant(t) {
  try { localStorage.setItem(TENANT_KEY, t); } catch { /* private mode: just not remembered */ }
}

// renderSignIn(stage, opts, onSignedIn): opts.title is the screen's heading,
// opts.message 'change' (signed in, but the password must be changed first)
// or 'not-staff' (the account may not use this app), opts.extra nodes shown
// under the form (the portal's "forgot" links). onSignedIn runs once the
// session may be used.
export async function renderSignIn(stage, opts, onSignedIn) {
  const o = opts || {};
  clear(stage);
  if (o.message === 'change') {
    changeScreen(stage, o, '', onSignedIn);
    return;
  }
  if (o.message === 'not-staff') {
    bar('error', o.notAllowed || 'This account may not use this application. Sign in with another account.');
  }
  heading(stage, o.title || 'Sign in');
  const tenant = input({ id: 'signin-tenant', name: 'tenant', autocomplete: 'organization', autocapitalize: 'none', spellcheck: 'false', required: true, value: rememberedTenant() });
  const username = input({ id: 'signin-username', name: 'username', autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', required: true });
  const password = input({ id: 'signin-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = el('button', { type: 'submit', id: 'signin-submit' }, 'Sign in');
  const f = form(async () => {
    const missing = [[tenant, 'library code'], [username, 'username'], [password, 'password']].filter(([i]) => !i.value.trim());
    for (const i of [tenant, username, password]) i.removeAttribute('aria-invalid');
    if (missing.length) {
      for (const [i] of missing) i.setAttribute('aria-invalid', 'true');
      bar('error', `Enter your ${missing.map(([, n]) => n).join(', ')}.`);
      missing[0][0].focus();
      return;
    }
    await busy(submit, async () => {
      const t = tenant.value.trim();
      const res = await signIn(t, username.value.trim(), password.value);
      if (!res.ok) {
        bar('error', errorMessage(res));
        password.value = '';
        password.focus();
        return;
      }
      rememberTenant(t);
      bar('', '');
      if (res.body && res.body.mustChangePassword) {
        const current = password.value;
        password.value = '';
        changeScreen(stage, o, current, onSignedIn);
        return;
      }
      password.value = '';
      await onSignedIn();
    });
  },
  field('Library code', tenant, 'The short code your library gave you, such as kpu.'),
  field('Username', username),
  field('Password', password),
  el('div', { class: 'actions' }, submit));
  f.classList.add('signin');
  f.id = 'signin-form';
  stage.append(f);
  if (o.extra) stage.append(...[].concat(o.extra));
  (tenant.value ? username : tenant).focus();
}

// changeScreen asks for a new password before anything else. current is the
// password just used to sign in (kept only in this closure); empty after a
// reload, when the form asks for it.
function changeScreen(stage, o, current, onSignedIn) {
  clear(stage);
  heading(stage, 'Choose a new password');
  stage.append(el('p', { id: 'change-why' }, 'Your password was set by the library or has to be renewed: choose one only you know before you go on.'),
    el('p', { class: 'hint' }, 'Use at least 15 characters. A few unrelated words make a strong password that is easy to remember.'));
  const cur = input({ id: 'change-current', type: 'password', autocomplete: 'current-password' });
  const next = input({ id: 'change-new', type: 'password', autocomplete: 'new-password' });
  const again = input({ id: 'change-again', type: 'password', autocomplete: 'new-password' });
  const submit = el('button', { type: 'submit', id: 'change-submit' }, 'Change password');
  const cancel = el('button', { type: 'button', id: 'change-cancel', class: 'linkish' }, 'Sign out instead');
  cancel.addEventListener('click', async () => {
    await signOut();
    current = '';
    bar('ok', 'You are signed out.');
    await renderSignIn(stage, { ...o, message: undefined }, onSignedIn);
  });
  const f = form(async () => {
    const c = current || cur.value;
    if (!c) { bar('error', 'Enter your current password.'); cur.focus(); return; }
    if (next.value !== again.value) { bar('error', 'The two new passwords do not match.'); again.focus(); return; }
    if (!next.value) { bar('error', 'Enter a new password.'); next.focus(); return; }
    await busy(submit, async () => {
      const res = await changePassword(c, next.value);
      if (!res.ok) {
        bar('error', errorMessage(res));
        next.focus();
        return;
      }
      current = '';
      next.value = '';
      again.value = '';
      await onSignedIn();
      bar('ok', 'Your password was changed.');
    });
  },
  current ? null : field('Current password', cur),
  field('New password', next),
  field('New password again', again),
  el('div', { class: 'actions' }, submit, cancel));
  f.id = 'change-form';
  f.classList.add('signin');
  stage.append(f);
  (current ? next : cur).focus();
}
