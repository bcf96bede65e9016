// The page an e-mailed reset link opens: /portal/reset#token=…. The token
// lives only in the fragment, which browsers never send to a server; it is
// read once and dropped from the address at once, so it is not left in the
// history, a bookmark or a screenshot.
import { api, errorMessage } from '/portal/shared/api.js';
import { el, bar, clear, field, input, form, heading, busy } from '/portal/shared/ui.js';

const token = new URLSearchParams(location.hash.slice(1)).get('token') || '';
history.replaceState(null, '', location.pathname);

const stage = document.getElementById('screen');
clear(stage);
heading(stage, 'Choose a new password');

function signInLink(text) {
  return el('p', {}, el('a', { href: '/portal', id: 'reset-signin', class: 'button btn-primary' }, text));
}

if (!token) {
  bar('error', 'This page needs the link from your e-mail. Open the link again, or ask for a new one.');
  stage.append(el('p', {}, el('a', { href: '/portal#/forgot-password', id: 'reset-again' }, 'Ask for a new link')), signInLink('Go to sign in'));
} else {
  stage.append(el('p', { class: 'hint' }, 'Use at least 15 characters. A few unrelated words make a strong password that is easy to remember.'));
  const next = input({ id: 'reset-new', type: 'password', autocomplete: 'new-password' });
  const again = input({ id: 'reset-again-password', type: 'password', autocomplete: 'new-password' });
  const submit = el('button', { type: 'submit', id: 'reset-submit' }, 'Save password');
  const f = form(async () => {
    if (!next.value) { bar('error', 'Enter a new password.'); next.focus(); return; }
    if (next.value !== again.value) { bar('error', 'The two passwords do not match.'); again.focus(); return; }
    await busy(submit, async () => {
      const res = await api('POST', '/v1/auth/password-reset', { token, password: next.value }, { quiet401: true });
      if (!res.ok) {
        bar('error', errorMessage(res));
        // A refused password leaves the link usable; a dead link does not.
        if (res.body && res.body.error && res.body.error.field === 'token') {
          f.hidden = true;
          stage.append(el('p', {}, el('a', { href: '/portal#/forgot-password', id: 'reset-again' }, 'Ask for a new link')));
        } else {
          next.focus();
        }
        return;
      }
      next.value = '';
      again.value = '';
      f.hidden = true;
      bar('ok', (res.body && res.body.message) || 'Your password was changed.');
      stage.append(signInLink('Sign in'));
    });
  },
  field('New password', next),
  field('New password again', again),
  el('div', { class: 'actions' }, submit));
  f.id = 'reset-form';
  f.classList.add('signin');
  stage.append(f);
}
