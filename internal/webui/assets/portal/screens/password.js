// Change password, for a signed-in patron.
import { changePassword, errorMessage } from '../shared/api.js';
import { el, bar, field, input, form, heading, busy } from '../shared/ui.js';

export async function render(root) {
  heading(root, 'Change password');
  root.append(el('p', { class: 'hint' }, 'Use at least 15 characters. A few unrelated words make a strong password that is easy to remember. Changing it signs you out everywhere else.'));
  const cur = input({ id: 'password-current', type: 'password', autocomplete: 'current-password' });
  const next = input({ id: 'password-new', type: 'password', autocomplete: 'new-password' });
  const again = input({ id: 'password-again', type: 'password', autocomplete: 'new-password' });
  const submit = el('button', { type: 'submit', id: 'password-submit' }, 'Change password');
  const f = form(async () => {
    if (!cur.value) { bar('error', 'Enter your current password.'); cur.focus(); return; }
    if (!next.value) { bar('error', 'Enter a new password.'); next.focus(); return; }
    if (next.value !== again.value) { bar('error', 'The two new passwords do not match.'); again.focus(); return; }
    await busy(submit, async () => {
      const res = await changePassword(cur.value, next.value);
      if (!res.ok) { bar('error', errorMessage(res)); return; }
      cur.value = ''; next.value = ''; again.value = '';
      bar('ok', 'Your password was changed.');
    });
  },
  field('Current password', cur),
  field('New password', next),
  field('New password again', again),
  el('div', { class: 'actions' }, submit));
  f.id = 'password-form';
  root.append(f);
}
