// The library's settings. Only what was changed is sent, with the version
// read, so two staff saving at once do not silently undo each other.
import { api, errorMessage } from '../shared/api.js';
import { el, clear, bar, field, heading } from '../shared/ui.js';

export async function render(root) {
  heading(root, 'Settings');
  const host = el('div');
  root.append(host);
  await load(host);
}

async function load(host) {
  clear(host);
  const res = await api('GET', '/v1/admin/settings');
  if (!res.ok) { bar('error', errorMessage(res)); return; }
  const s = res.body;
  let etag = res.etag || `"${s.version}"`;

  const minLength = el('input', { type: 'number', id: 'settings-min-length', min: '8', max: '64', value: String(s.passwordPolicy.minLength), inputmode: 'numeric' });
  const format = el('input', { type: 'text', id: 'settings-username-format', value: s.usernameFormat || '', autocomplete: 'off' });
  const staffMust = el('input', { type: 'checkbox', id: 'settings-staff-must-change', checked: s.staffPasswordsMustChange });
  const importedMust = el('input', { type: 'checkbox', id: 'settings-imported-must-change', checked: s.importedPasswordsMustChange });
  const ttl = el('input', { type: 'text', id: 'settings-reset-link-ttl', value: s.resetLinkTtl || '', autocomplete: 'off' });
  const sender = el('input', { type: 'text', id: 'settings-sender-name', value: s.senderName || '', maxlength: '80', autocomplete: 'off' });
  // Settings later issues added; shown only when the API has them.
  const has = (k) => Object.prototype.hasOwnProperty.call(s, k);
  const recoveryTtl = el('input', { type: 'text', id: 'settings-recovery-link-ttl', value: s.recoveryLinkTtl || '', autocomplete: 'off' });
  const linkingOff = el('input', { type: 'checkbox', id: 'settings-linking-disabled', checked: Boolean(s.linkingDisabled) });
  const renewals = el('input', { type: 'number', id: 'settings-renewal-limit', min: '0', value: String(s.renewalLimit ?? ''), inputmode: 'numeric' });
  const windowDays = el('input', { type: 'number', id: 'settings-renewal-window', min: '0', value: String(s.renewalWindowDays ?? ''), inputmode: 'numeric' });
  const example = el('p', { class: 'hint', id: 'settings-format-example' },
    s.usernameFormatExample ? `For Sadie Park: ${s.usernameFormatExample}` : 'Empty: any username. Placeholders: {first}, {last}, {first1}, {last1}.');
  format.setAttribute('aria-describedby', example.id);
  const controls = {
    'passwordPolicy.minLength': minLength, usernameFormat: format, staffPasswordsMustChange: staffMust,
    importedPasswordsMustChange: importedMust, resetLinkTtl: ttl, senderName: sender,
    recoveryLinkTtl: recoveryTtl, linkingDisabled: linkingOff, renewalLimit: renewals, renewalWindowDays: windowDays,
  };

  const save = el('button', { type: 'submit', id: 'settings-save' }, 'Save settings');
  const form = el('form', { id: 'settings-form', novalidate: true, on: { submit: async (e) => {
    e.preventDefault();
    if (save.disabled) return;
    const patch = {};
    const n = Number(minLength.value);
    if (n !== s.passwordPolicy.minLength) patch.passwordPolicy = { minLength: Number.isFinite(n) ? n : 0 };
    if (format.value.trim() !== (s.usernameFormat || '')) patch.usernameFormat = format.value.trim();
    if (staffMust.checked !== s.staffPasswordsMustChange) patch.staffPasswordsMustChange = staffMust.checked;
    if (importedMust.checked !== s.importedPasswordsMustChange) patch.importedPasswordsMustChange = importedMust.checked;
    if (ttl.value.trim() !== (s.resetLinkTtl || '')) patch.resetLinkTtl = ttl.value.trim();
    if (sender.value.trim() !== (s.senderName || '')) patch.senderName = sender.value.trim();
    if (has('recoveryLinkTtl') && recoveryTtl.value.trim() !== (s.recoveryLinkTtl || '')) patch.recoveryLinkTtl = recoveryTtl.value.trim();
    if (has('linkingDisabled') && linkingOff.checked !== Boolean(s.linkingDisabled)) patch.linkingDisabled = linkingOff.checked;
    if (has('renewalLimit') && renewals.value !== String(s.renewalLimit)) patch.renewalLimit = Number(renewals.value);
    if (has('renewalWindowDays') && windowDays.value !== String(s.renewalWindowDays)) patch.renewalWindowDays = Number(windowDays.value);
    if (!Object.keys(patch).length) { bar('info', 'Nothing has changed.'); return; }
    save.disabled = true;
    const r = await api('PATCH', '/v1/admin/settings', patch, { ifMatch: etag });
    save.disabled = false;
    for (const c of Object.values(controls)) c.removeAttribute('aria-invalid');
    if (!r.ok) {
      const f = r.body && r.body.error && r.body.error.field;
      if (controls[f]) { controls[f].setAttribute('aria-invalid', 'true'); controls[f].focus(); }
      bar('error', errorMessage(r));
      if (r.status === 409) {
        form.append(el('p', { class: 'actions' }, el('button', { type: 'button', id: 'settings-reload', on: { click: () => load(host) } }, 'Load the current settings')));
      }
      return;
    }
    await load(host);
    bar('ok', 'Successfully Updated Settings');
  } } },
    el('p', {}, 'Library: ', el('strong', { 'data-test': 'settings-library' }, s.name), ` (code ${s.tenant})`),
    field('Shortest password allowed (characters)', minLength, 'From 8 to 64.'),
    el('div', { class: 'field' }, el('label', { for: format.id }, 'Username format'), format, example),
    el('div', { class: 'check' }, staffMust, el('label', { for: staffMust.id }, 'A password staff choose for a user must be changed at first sign-in')),
    el('div', { class: 'check' }, importedMust, el('label', { for: importedMust.id }, 'Passwords from an uploaded file must be changed at first sign-in')),
    field('A reset link works for', ttl, 'For example 24h or 90m; from 15m to 168h.'),
    field('Notices come from', sender, 'Empty: the library\'s name.'),
    has('recoveryLinkTtl') ? field('A link a patron asks for (forgot password) works for', recoveryTtl, 'For example 1h or 30m.') : null,
    has('linkingDisabled') ? el('div', { class: 'check' }, linkingOff, el('label', { for: linkingOff.id }, 'Patrons may not link accounts')) : null,
    has('renewalLimit') ? field('Renewals allowed per loan', renewals, 'When the library system does not say.') : null,
    has('renewalWindowDays') ? field('Days before the due date a loan may be renewed', windowDays) : null,
    el('div', { class: 'actions' }, save));
  host.append(form);
}
