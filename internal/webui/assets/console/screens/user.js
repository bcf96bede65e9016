// #/users/<id> — one user: details, edit (with the version read, so two
// people editing at once cannot overwrite each other), the three ways to
// reset a password, deactivate/reactivate, delete, lock and unlock, the
// notices sent, links and the user's audit trail.
import { api, errorMessage, query } from '../shared/api.js';
import { el, clear, bar, field, button, busy, heading, form, confirmDialog, fmtDate, table } from '../shared/ui.js';
import { parseList, showList, statusBadge, lockText, isLocked, markInvalid, takeOver, oncePanel } from './userkit.js';

export async function render(root, params, ctx) {
  const id = params.id;
  const path = `/v1/admin/users/${encodeURIComponent(id)}`;
  const res = await api('GET', path);
  if (!res.ok) {
    heading(root, 'User');
    bar('error', errorMessage(res));
    root.append(el('p', {}, el('a', { href: '#/users' }, 'Back to users')));
    return;
  }
  const page = { user: res.body, etag: res.etag };
  const generated = takeOver(`generated:${id}`);

  const title = heading(root, page.user.username);
  title.classList.add('uk-title');
  const badge = el('span', { id: 'user-status' }, statusBadge(page.user.status));
  root.append(el('p', { class: 'uk-crumbs' }, el('a', { href: '#/users' }, '← Users'), ' ', badge));
  if (generated) {
    root.append(oncePanel('Generated password', generated, 'Shown this once and stored nowhere in clear: give it to the user now. They choose their own at the first sign-in when the library says so.'));
  }

  const facts = el('dl', { class: 'facts', id: 'user-facts' });
  const lockBox = el('div', { class: 'panel', id: 'lock-panel', role: 'region', 'aria-labelledby': 'lock-h' });
  const statusBox = el('div', { class: 'panel', id: 'status-panel', role: 'region', 'aria-labelledby': 'status-h' });
  const editBox = el('section', { 'aria-labelledby': 'edit-h' });
  const pwBox = el('section', { 'aria-labelledby': 'pw-h' });
  const noticesBox = el('section', { 'aria-labelledby': 'notices-h', id: 'notices' });
  const linksBox = el('section', { 'aria-labelledby': 'links-h', id: 'links' });
  const auditBox = el('section', { 'aria-labelledby': 'audit-h', id: 'audit' });

  root.append(
    el('div', { class: 'cols' },
      el('section', { 'aria-labelledby': 'facts-h' }, el('h2', { id: 'facts-h' }, 'Details'), facts),
      el('div', {}, lockBox, statusBox)),
    editBox, pwBox, noticesBox, linksBox, auditBox);

  // adopt takes a fresh copy of the user (after an action) and redraws
  // what shows it; the edit form keeps what staff are typing unless asked.
  function adopt(u, etag) {
    page.user = u;
    if (etag) page.etag = etag;
    else if (u.version !== undefined) page.etag = `"${u.version}"`;
    clear(badge).append(statusBadge(u.status));
    drawFacts(); drawLock(); drawStatus();
  }

  function drawFacts() {
    const u = page.user;
    const row = (k, v, t) => [el('dt', {}, k), el('dd', t ? { 'data-test': t } : {}, v === '' || v === undefined || v === null ? el('span', { class: 'muted' }, '—') : v)];
    clear(facts).append(...[
      row('Username', u.username, 'fact-username'),
      row('E-mail', u.email ? [u.email, u.emailStatus ? el('span', { class: 'badge badge-inactive uk-gap' }, `mail ${u.emailStatus}`) : null] : '', 'fact-email'),
      row('Barcode', u.barcode, 'fact-barcode'),
      row('Primary ID', u.primaryId, 'fact-primaryid'),
      row('Roles', showList(u.roles) || 'no role (a patron)', 'fact-roles'),
      row('Queues', showList(u.queues), 'fact-queues'),
      row('Canned message pools', showList(u.cannedMessagePools), 'fact-pools'),
      row('Must change password', u.mustChangePassword ? 'Yes, at the next sign-in' : 'No', 'fact-mustchange'),
      row('Last sign-in', fmtDate(u.lastLoginAt)),
      row('Created', fmtDate(u.createdAt)),
      row('Updated', fmtDate(u.updatedAt)),
      row('Version', String(u.version), 'fact-version'),
      row('Id', u.id)].flat());
  }

  function drawLock() {
    const u = page.user;
    clear(lockBox).append(el('h2', { id: 'lock-h' }, 'Sign-in lock'),
      el('p', { id: 'lock-state' }, lockText(u)));
    if (isLocked(u) || u.failedLogins) {
      lockBox.append(button('Unlock', (e) => busy(e.currentTarget, async () => {
        const r = await api('POST', `${path}/unlock`);
        if (!r.ok) { bar('error', errorMessage(r)); return; }
        adopt(r.body.user);
        bar('ok', r.body.message);
        document.getElementById('lock-state')?.focus?.();
      }), { id: 'user-unlock', class: 'btn-primary' }));
    }
  }

  function drawStatus() {
    const u = page.user;
    const active = u.status === 'active';
    clear(statusBox).append(el('h2', { id: 'status-h' }, 'Access'),
      el('p', { id: 'status-text' }, active ? 'Active: the user can sign in.' : 'Inactive: the user cannot sign in. The password is kept for when the account is reactivated.'),
      el('div', { class: 'actions' },
        active
          ? button('Deactivate', (e) => setStatus(e.currentTarget, 'deactivate'), { id: 'user-deactivate' })
          : button('Reactivate', (e) => setStatus(e.currentTarget, 'reactivate'), { id: 'user-reactivate', class: 'btn-primary' }),
        button('Delete…', (e) => remove(e.currentTarget), { id: 'user-delete', class: 'btn-danger' })));
  }

  async function setStatus(btn, action) {
    await busy(btn, async () => {
      const r = await api('POST', `${path}/${action}`);
      if (!r.ok) { bar('error', errorMessage(r)); return; }
      adopt(r.body.user);
      bar('ok', r.body.message);
      await drawAudit();
    });
    document.getElementById(action === 'deactivate' ? 'user-reactivate' : 'user-deactivate')?.focus();
  }

  // remove asks first and offers the reversible choice, as the API's own
  // refusal without a confirmation does.
  async function remove(btn) {
    const u = page.user;
    const choices = [];
    if (u.status === 'active') choices.push({ label: 'Deactivate instead', value: 'deactivate', kind: 'primary' });
    choices.push({ label: 'Delete permanently', value: 'delete', kind: 'danger' });
    const choice = await confirmDialog(`Delete ${u.username}?`,
      `Deleting ${u.username} is permanent and cannot be undone: the account, its sessions and links go, and the username becomes free. ${u.status === 'active' ? 'Deactivating only turns off their access, and can be reversed.' : 'The account is already deactivated.'}`,
      choices);
    if (choice === 'deactivate') { await setStatus(btn, 'deactivate'); return; }
    if (choice !== 'delete') { btn.focus(); return; }
    await busy(btn, async () => {
      const r = await api('DELETE', path + query({ confirm: u.username }));
      if (!r.ok) { bar('error', errorMessage(r)); return; }
      ctx.flash('ok', `${r.body.message}: ${u.username}`);
      ctx.go('/users');
    });
  }

  // The edit form. Only what changed is sent, with the version this page
  // read in If-Match: a save over someone else's newer edit is refused.
  function drawEdit() {
    const u = page.user;
    const ctl = {
      username: el('input', { type: 'text', id: 'edit-username', name: 'username', value: u.username, autocomplete: 'off', spellcheck: 'false', required: true }),
      email: el('input', { type: 'email', id: 'edit-email', name: 'email', value: u.email || '', autocomplete: 'off' }),
      barcode: el('input', { type: 'text', id: 'edit-barcode', name: 'barcode', value: u.barcode || '', autocomplete: 'off', inputmode: 'numeric' }),
      primaryId: el('input', { type: 'text', id: 'edit-primaryid', name: 'primaryId', value: u.primaryId || '', autocomplete: 'off' }),
      roles: el('input', { type: 'text', id: 'edit-roles', name: 'roles', value: showList(u.roles), autocomplete: 'off' }),
      queues: el('input', { type: 'text', id: 'edit-queues', name: 'queues', value: showList(u.queues), autocomplete: 'off' }),
      cannedMessagePools: el('input', { type: 'text', id: 'edit-pools', name: 'cannedMessagePools', value: showList(u.cannedMessagePools), autocomplete: 'off' }),
    };
    const conflict = el('div', { id: 'conflict', hidden: true, class: 'panel uk-conflict', role: 'region', 'aria-label': 'Edit conflict' });
    const save = el('button', { type: 'submit', id: 'edit-save' }, 'Save changes');
    const f = form(async () => {
      const base = page.user;
      const patch = {};
      for (const k of ['username', 'email', 'barcode', 'primaryId']) {
        const v = ctl[k].value.trim();
        if (v !== (base[k] || '')) patch[k] = v;
      }
      for (const k of ['roles', 'queues', 'cannedMessagePools']) {
        const v = parseList(ctl[k].value);
        if (showList(v) !== showList(base[k])) patch[k] = v;
      }
      if (!Object.keys(patch).length) { bar('info', 'Nothing to save: no field was changed.'); return; }
      await busy(save, async () => {
        const r = await api('PATCH', path, patch, { ifMatch: page.etag });
        markInvalid(r, ctl);
        if (r.ok) {
          conflict.hidden = true;
          adopt(r.body, r.etag);
          drawEdit();
          bar('ok', `Successfully Updated User ${r.body.username}`);
          await drawAudit();
          return;
        }
        bar('error', errorMessage(r));
        const e = r.body && r.body.error;
        if (r.status === 412 || (r.status === 409 && e && e.field === 'version')) {
          // Someone saved first: keep what this person typed, and offer the
          // newer version to start again from.
          clear(conflict).append(
            el('p', {}, 'Someone else changed this user after you opened the page. Your changes are still in the form, not saved. Reload to see the user as it is now, then make your changes again.'),
            button('Reload the user', async () => {
              const g = await api('GET', path);
              if (!g.ok) { bar('error', errorMessage(g)); return; }
              adopt(g.body, g.etag);
              drawEdit();
              bar('info', `Reloaded ${g.body.username} (version ${g.body.version}).`);
              document.getElementById('edit-username')?.focus();
            }, { id: 'conflict-reload', class: 'btn-primary' }));
          conflict.hidden = false;
          document.getElementById('conflict-reload')?.focus();
        }
      });
    },
    conflict,
    el('div', { class: 'row' }, field('Username', ctl.username), field('E-mail', ctl.email, 'For notices and "forgot password".')),
    el('div', { class: 'row' }, field('Barcode', ctl.barcode), field('Primary ID', ctl.primaryId, 'Kept as typed: leading zeros count.')),
    field('Roles', ctl.roles, 'Separate with commas. "admin" opens the staff console; no role means a patron.'),
    el('div', { class: 'row' }, field('Queues', ctl.queues, 'Separate with commas.'), field('Canned message pools', ctl.cannedMessagePools, 'Separate with commas.')),
    el('div', { class: 'actions' }, save));
    f.id = 'edit-form';
    f.setAttribute('aria-labelledby', 'edit-h');
    clear(editBox).append(el('h2', { id: 'edit-h' }, 'Edit'), f);
  }

  // The three ways staff reset a password, each saying what the user gets.
  function drawPassword() {
    const u = page.user;
    const ways = [
      { v: 'set', label: 'Set a password', what: 'You type a password and give it to the user yourself. Nothing is e-mailed; their sessions end, and they must choose their own at the next sign-in when the library says so.' },
      { v: 'temporary', label: 'Temporary password', what: 'A password is generated. Either it is shown to you once to pass on, or it is e-mailed to the user (then it is made and set when the mail goes out; until then the current password works).' },
      { v: 'link', label: 'E-mail a reset link', what: 'The user gets a single-use link by e-mail and chooses the password themselves. The current password keeps working until the link is used; a newer link ends older ones.' },
    ];
    const radios = {};
    const group = el('fieldset', { class: 'uk-ways' }, el('legend', {}, 'How'),
      ways.map((w) => {
        radios[w.v] = el('input', { type: 'radio', name: 'pw-way', id: `pw-way-${w.v}`, value: w.v, checked: w.v === 'set', 'aria-describedby': `pw-what-${w.v}` });
        return el('div', { class: 'uk-way' },
          el('div', { class: 'check' }, radios[w.v], el('label', { for: `pw-way-${w.v}` }, w.label)),
          el('p', { class: 'hint', id: `pw-what-${w.v}` }, w.what));
      }));
    const pw1 = el('input', { type: 'password', id: 'pw-new', name: 'password', autocomplete: 'new-password' });
    const pw2 = el('input', { type: 'password', id: 'pw-confirm', name: 'passwordConfirmation', autocomplete: 'new-password' });
    const emailIt = el('input', { type: 'checkbox', id: 'pw-temp-email', name: 'notify', checked: Boolean(u.email) });
    const setPart = el('div', { id: 'pw-set-part' }, field('New password', pw1), field('Type it again', pw2));
    const tempPart = el('div', { id: 'pw-temp-part', hidden: true },
      el('div', { class: 'check' }, emailIt, el('label', { for: 'pw-temp-email' }, 'E-mail it to the user (otherwise it is shown to you once)')));
    const noMail = u.email ? null : el('p', { class: 'hint', id: 'pw-no-email' }, `${u.username} has no e-mail address: set a password, or generate one and pass it on.`);
    const out = el('div', { id: 'pw-result' });
    const go = el('button', { type: 'submit', id: 'pw-submit' }, 'Reset password');
    const sync = () => {
      const way = Object.keys(radios).find((k) => radios[k].checked);
      setPart.hidden = way !== 'set';
      tempPart.hidden = way !== 'temporary';
    };
    for (const r of Object.values(radios)) r.addEventListener('change', sync);
    const f = form(async () => {
      const way = Object.keys(radios).find((k) => radios[k].checked);
      let body;
      if (way === 'set') body = { password: pw1.value, passwordConfirmation: pw2.value };
      else if (way === 'temporary') body = emailIt.checked ? { generate: true, notify: true } : { generate: true };
      else body = { sendResetLink: true };
      clear(out);
      await busy(go, async () => {
        const r = await api('POST', `${path}/password`, body);
        markInvalid(r, { password: pw1, passwordConfirmation: pw2 });
        if (!r.ok) { bar('error', errorMessage(r)); return; }
        pw1.value = ''; pw2.value = '';
        bar('ok', r.body.message);
        if (r.body.generatedPassword) {
          out.append(oncePanel('Generated password', r.body.generatedPassword, 'Shown this once and stored nowhere in clear: give it to the user now.'));
        } else if (r.body.emailed) {
          out.append(el('p', { class: 'hint', id: 'pw-emailed' }, 'The mail is queued: see "Notices sent" below for when it goes out.'));
        }
        const g = await api('GET', path);
        if (g.ok) adopt(g.body, g.etag);
        await Promise.all([drawNotices(), drawAudit()]);
      });
    }, group, setPart, tempPart, noMail, el('div', { class: 'actions' }, go), out);
    f.id = 'pw-form';
    f.setAttribute('aria-labelledby', 'pw-h');
    clear(pwBox).append(el('h2', { id: 'pw-h' }, 'Reset password'), f);
    sync();
  }

  async function drawNotices() {
    const r = await api('GET', `${path}/notices` + query({ limit: 20 }));
    clear(noticesBox).append(el('h2', { id: 'notices-h' }, 'Notices sent'),
      button('Refresh', () => drawNotices(), { id: 'notices-refresh', class: 'linkish' }));
    if (!r.ok) { noticesBox.append(el('p', { class: 'uk-err' }, errorMessage(r))); return; }
    const list = r.body.notices || [];
    if (!list.length) { noticesBox.append(el('p', { class: 'muted', id: 'notices-none' }, 'Nothing has been sent to this user.')); return; }
    const kinds = { 'password-reset-link': 'Reset link', 'password-temporary': 'Temporary password', 'password-changed': 'Password changed', 'job-finished': 'Job finished' };
    noticesBox.append(table([
      { label: 'What', cell: (n) => kinds[n.kind] || n.kind },
      { label: 'Status', cell: (n) => n.status },
      { label: 'Attempts', cell: (n) => String(n.attempts) },
      { label: 'Reason', cell: (n) => n.reason || '' },
      { label: 'Queued', cell: (n) => fmtDate(n.createdAt) },
      { label: 'Sent', cell: (n) => fmtDate(n.sentAt) },
    ], list, { id: 'notices-table', label: 'Notices sent' }));
  }

  async function drawLinks() {
    const r = await api('GET', `${path}/links`);
    clear(linksBox).append(el('h2', { id: 'links-h' }, 'Linked accounts'));
    if (!r.ok) { linksBox.append(el('p', { class: 'uk-err' }, errorMessage(r))); return; }
    const manages = r.body.manages || [];
    const managedBy = r.body.managedBy || [];
    if (!manages.length && !managedBy.length) { linksBox.append(el('p', { class: 'muted', id: 'links-none' }, 'No linked accounts.')); return; }
    const remove = (l) => button('Remove', async (e) => {
      const ok = await confirmDialog(`Remove the link with ${l.account.username}?`, 'Neither account can manage the other through this link any more; both are told library staff removed it.', [{ label: 'Remove link', value: 'remove', kind: 'danger' }]);
      if (ok !== 'remove') { e.currentTarget?.focus?.(); return; }
      const d = await api('DELETE', `${path}/links/${encodeURIComponent(l.id)}`);
      if (!d.ok) { bar('error', errorMessage(d)); return; }
      bar('ok', `Removed the link with ${l.account.username}.`);
      await Promise.all([drawLinks(), drawAudit()]);
    }, { 'data-test': `unlink-${l.account.username}` });
    const cols = [
      { label: 'Account', cell: (l) => el('a', { href: `#/users/${encodeURIComponent(l.account.id)}` }, l.account.username) },
      { label: 'Barcode', cell: (l) => l.account.barcode || '' },
      { label: 'Direction', cell: (l) => (l.direction === 'two_way' ? '2-way' : '1-way') },
      { label: 'State', cell: (l) => (l.awaitingConfirmation ? 'awaiting confirmation' : l.active ? 'active' : 'inactive') },
      { label: 'Since', cell: (l) => fmtDate(l.since) },
      { label: 'Action', cell: remove },
    ];
    if (manages.length) linksBox.append(table(cols, manages, { id: 'links-manages', caption: `${page.user.username} manages`, label: 'Accounts this user manages' }));
    if (managedBy.length) linksBox.append(table(cols, managedBy, { id: 'links-managed-by', caption: `${page.user.username} is managed by`, label: 'Accounts that manage this user' }));
  }

  async function drawAudit() {
    const r = await api('GET', '/v1/admin/audit' + query({ target: id, limit: 25 }));
    clear(auditBox).append(el('h2', { id: 'audit-h' }, 'Audit trail'));
    if (!r.ok) { auditBox.append(el('p', { class: 'uk-err' }, errorMessage(r))); return; }
    const list = r.body.events || [];
    if (!list.length) { auditBox.append(el('p', { class: 'muted' }, 'No events.')); return; }
    auditBox.append(table([
      { label: 'When', cell: (e) => fmtDate(e.at) },
      { label: 'Who', cell: (e) => e.actorUsername || e.actorId },
      { label: 'Action', cell: (e) => e.action },
      { label: 'Fields', cell: (e) => (e.fields || []).join(', ') },
      { label: 'Detail', cell: (e) => e.detail || '' },
    ], list, { id: 'audit-table', label: 'Audit trail of this user' }),
    el('p', { class: 'hint' }, r.body.nextCursor ? 'The newest 25 events; the Audit screen has them all.' : ''));
  }

  drawFacts(); drawLock(); drawStatus(); drawEdit(); drawPassword();
  await Promise.all([drawNotices(), drawLinks(), drawAudit()]);
}
