// #/add-user — "Add Single User", with the library's username format
// suggested from the person's names, a password typed twice (or
// generated), and "copy another user's settings as a starting point" from
// a searchable picker, as the service-provider account wizards do.
import { api, errorMessage } from '../shared/api.js';
import { el, clear, bar, field, button, busy, heading, form } from '../shared/ui.js';
import { parseList, showList, markInvalid, userPicker, handOver } from './userkit.js';

export async function render(root, params, ctx) {
  heading(root, 'Add single user');
  const settings = await api('GET', '/v1/admin/settings');
  const fmt = settings.ok ? settings.body.usernameFormat : '';
  const example = settings.ok ? settings.body.usernameFormatExample : '';
  const minLen = settings.ok && settings.body.passwordPolicy ? settings.body.passwordPolicy.minLength : 0;

  const c = {
    firstName: el('input', { type: 'text', id: 'add-first', name: 'firstName', autocomplete: 'off' }),
    lastName: el('input', { type: 'text', id: 'add-last', name: 'lastName', autocomplete: 'off' }),
    username: el('input', { type: 'text', id: 'add-username', name: 'username', autocomplete: 'off', spellcheck: 'false', required: true }),
    password: el('input', { type: 'password', id: 'add-password', name: 'password', autocomplete: 'new-password' }),
    passwordConfirmation: el('input', { type: 'password', id: 'add-password2', name: 'passwordConfirmation', autocomplete: 'new-password' }),
    generatePassword: el('input', { type: 'checkbox', id: 'add-generate', name: 'generatePassword' }),
    email: el('input', { type: 'email', id: 'add-email', name: 'email', autocomplete: 'off' }),
    barcode: el('input', { type: 'text', id: 'add-barcode', name: 'barcode', autocomplete: 'off', inputmode: 'numeric' }),
    primaryId: el('input', { type: 'text', id: 'add-primaryid', name: 'primaryId', autocomplete: 'off' }),
    copy: el('input', { type: 'checkbox', id: 'add-copy', name: 'copy' }),
    roles: el('input', { type: 'text', id: 'add-roles', name: 'roles', autocomplete: 'off' }),
    queues: el('input', { type: 'text', id: 'add-queues', name: 'queues', autocomplete: 'off' }),
    cannedMessagePools: el('input', { type: 'text', id: 'add-pools', name: 'cannedMessagePools', autocomplete: 'off' }),
  };
  let template = null; // the user whose settings are copied

  const suggestOut = el('p', { class: 'hint', id: 'add-suggest-note', 'aria-live': 'polite' });
  const suggest = button('Suggest a username', (e) => busy(e.currentTarget, async () => {
    const r = await api('POST', '/v1/admin/usernames:suggest', { firstName: c.firstName.value.trim(), lastName: c.lastName.value.trim() });
    markInvalid(r, { firstName: c.firstName, lastName: c.lastName });
    if (!r.ok) { bar('error', errorMessage(r)); suggestOut.textContent = ''; return; }
    c.username.value = r.body.username;
    suggestOut.textContent = `Suggested ${r.body.username}: free now (nothing is reserved until you save).`;
    c.username.focus();
  }), { id: 'add-suggest' });

  const pwPart = el('div', { id: 'add-password-part' },
    el('div', { class: 'row' },
      field('Password', c.password, minLen ? `At least ${minLen} characters; a few unrelated words work well.` : undefined),
      field('Type the password again', c.passwordConfirmation)));
  c.generatePassword.addEventListener('change', () => { pwPart.hidden = c.generatePassword.checked; });

  const chosen = el('p', { id: 'copy-chosen', 'aria-live': 'polite' });
  const picker = userPicker({
    id: 'copy-search', label: 'User to copy from',
    hint: 'Type the start of a username (or an e-mail address, barcode or primary ID), then pick the user.',
    onPick: (u) => {
      template = u;
      // The copied lists are shown, not hidden: staff see (and can change)
      // every role the new user will have, "admin" included.
      c.roles.value = showList(u.roles);
      c.queues.value = showList(u.queues);
      c.cannedMessagePools.value = showList(u.cannedMessagePools);
      clear(chosen).append(`Copying the settings of ${u.username}: roles, queues and canned message pools are filled in below. Check them before saving.`);
      c.roles.focus();
    },
  });
  const copyPart = el('div', { id: 'copy-part', class: 'panel', hidden: true }, picker.node, chosen);
  c.copy.addEventListener('change', () => {
    copyPart.hidden = !c.copy.checked;
    if (c.copy.checked) picker.input.focus();
    else { template = null; clear(chosen); }
  });

  const save = el('button', { type: 'submit', id: 'add-save' }, 'Save');
  const f = form(async () => {
    const body = { username: c.username.value.trim() };
    if (c.generatePassword.checked) body.generatePassword = true;
    else { body.password = c.password.value; body.passwordConfirmation = c.passwordConfirmation.value; }
    for (const k of ['email', 'barcode', 'primaryId']) { const v = c[k].value.trim(); if (v) body[k] = v; }
    // Lists as the form shows them: a copied one the staff member emptied
    // stays empty (the API lets a list given win over the template's).
    for (const k of ['roles', 'queues', 'cannedMessagePools']) body[k] = parseList(c[k].value);
    if (template) body.copySettingsFrom = template.id;
    await busy(save, async () => {
      const r = await api('POST', '/v1/admin/users', body);
      markInvalid(r, c);
      if (!r.ok) {
        if (r.body && r.body.error && r.body.error.field === 'copySettingsFrom') picker.input.focus();
        bar('error', errorMessage(r));
        return;
      }
      const u = r.body.user;
      if (r.body.generatedPassword) handOver(`generated:${u.id}`, r.body.generatedPassword);
      ctx.flash('ok', `Successfully Added User ${u.username}${template ? ` (settings copied from ${template.username})` : ''}`);
      ctx.go(`/users/${encodeURIComponent(u.id)}`);
    });
  },
  el('fieldset', {}, el('legend', {}, 'Name and username'),
    el('div', { class: 'row' }, field('First name', c.firstName), field('Last name', c.lastName)),
    el('div', { class: 'actions' }, suggest), suggestOut,
    field('Username', c.username, fmt ? `The library's format is ${fmt}${example ? ` (for example ${example})` : ''}.` : 'Any username: the library has set no format.')),
  el('fieldset', {}, el('legend', {}, 'Password'),
    el('div', { class: 'check' }, c.generatePassword, el('label', { for: 'add-generate' }, 'Generate a password (shown to you once)')),
    pwPart,
    el('p', { class: 'hint' }, 'The user must change a password staff set at the first sign-in, when the library says so. Passwords are never shown back.')),
  el('fieldset', {}, el('legend', {}, 'Contact and library card'),
    field('E-mail', c.email, 'Lets the user use "forgot password" and "forgot username".'),
    el('div', { class: 'row' }, field('Barcode', c.barcode), field('Primary ID', c.primaryId, 'Kept as typed: leading zeros count.'))),
  el('fieldset', {}, el('legend', {}, 'Settings'),
    el('div', { class: 'check' }, c.copy, el('label', { for: 'add-copy' }, "Yes, copy another user's settings as a starting point")),
    copyPart,
    field('Roles', c.roles, 'Separate with commas. "admin" opens the staff console; no role means a patron.'),
    el('div', { class: 'row' }, field('Queues', c.queues, 'Separate with commas.'), field('Canned message pools', c.cannedMessagePools, 'Separate with commas.'))),
  el('div', { class: 'actions' }, save, el('a', { href: '#/users', class: 'button' }, 'Cancel')));
  f.id = 'add-form';
  f.setAttribute('aria-label', 'New user');
  root.append(f);
}
