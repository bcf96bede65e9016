// Sets: itemized sets of users built from a file of IDs (the Alma-style
// "Add Members to Set"), their members, and the Update/Notify Users job on
// a set: every member gets a new password and the library's letter.
import { api, errorMessage, query } from '../shared/api.js';
import { el, clear, bar, field, button, busy, heading, table, fmtDate, confirmDialog } from '../shared/ui.js';

const SET_STATUS = { building: 'Adding members', ready: 'Ready', dry_run: 'Dry run (no members)' };

export async function render(root, params, ctx) {
  if (params && params.id) return renderSet(root, params.id, ctx);
  return renderList(root, ctx);
}

async function renderList(root, ctx) {
  heading(root, 'Sets');
  const add = button('Add a set from a file of IDs', () => { ctx.uploadPreset = { kind: 'set' }; ctx.go('/upload'); }, { id: 'sets-add' });
  root.append(el('p', { class: 'muted' }, 'A set is a list of existing users, built from a file with one column headed "User name" or "Primary ID". Run Update/Notify Users on a set to give every member a new password by e-mail.'),
    el('div', { class: 'actions' }, add));
  const res = await api('GET', '/v1/admin/sets');
  if (!res.ok) { bar('error', errorMessage(res)); return; }
  const sets = res.body.sets || [];
  if (!sets.length) { root.append(el('p', { 'data-test': 'sets-empty' }, 'No sets yet.')); return; }
  root.append(table([
    { label: 'Set', cell: (s) => el('a', { href: `#/sets/${encodeURIComponent(s.id)}`, 'data-test': `set-${s.name}` }, s.name) },
    { label: 'Status', cell: (s) => SET_STATUS[s.status] || s.status },
    { label: 'Members', cell: (s) => String(s.members) },
    { label: 'Created', cell: (s) => fmtDate(s.createdAt) },
    { label: 'Built by', cell: (s) => el('a', { href: `#/tasks/${encodeURIComponent(s.importId)}` }, 'its upload') },
  ], sets, { label: 'Sets', id: 'sets-table' }));
}

async function renderSet(root, id, ctx) {
  const path = `/v1/admin/sets/${encodeURIComponent(id)}`;
  const res = await api('GET', path + query({ limit: 50 }));
  if (!res.ok) { heading(root, 'Set'); bar('error', errorMessage(res)); root.append(el('a', { href: '#/sets' }, 'All sets')); return; }
  const set = res.body.set;
  heading(root, `Set "${set.name}"`);
  root.append(el('p', {}, el('a', { href: '#/sets' }, 'All sets')),
    el('dl', { class: 'facts', id: 'set-facts' },
      el('dt', {}, 'Status'), el('dd', { 'data-test': 'set-status' }, SET_STATUS[set.status] || set.status),
      el('dt', {}, 'Members'), el('dd', { 'data-test': 'set-members' }, String(set.members)),
      el('dt', {}, 'Created'), el('dd', {}, fmtDate(set.createdAt)),
      el('dt', {}, 'Built by'), el('dd', {}, el('a', { href: `#/tasks/${encodeURIComponent(set.importId)}` }, 'its upload in the task centre'))));

  // ---- Update/Notify Users
  const notify = el('section', { class: 'panel', 'aria-labelledby': 'notify-title' }, el('h2', { id: 'notify-title' }, 'Update/Notify Users'));
  if (set.status !== 'ready') {
    notify.append(el('p', {}, set.status === 'building' ? 'The set is still being built; come back when its upload is done.' : 'A dry run\'s set has no members to update.'));
  } else {
    const how = el('select', { id: 'notify-mode' },
      el('option', { value: 'temporary' }, 'Set a temporary password and e-mail it (Notify Password Change)'),
      el('option', { value: 'link' }, 'E-mail a reset link'));
    const go = el('button', { type: 'button', id: 'notify-start', class: 'jk-go' }, 'Update/Notify Users');
    go.addEventListener('click', () => busy(go, async () => {
      const choice = await confirmDialog('Update/Notify Users?', `Every member of "${set.name}" (${set.members}) gets a new password and an e-mail with the library's letter. Members without an e-mail address are left as they are and listed in the report.`,
        [{ label: 'Run the job', value: 'run', kind: 'primary' }]);
      if (choice !== 'run') return;
      const r = await api('POST', '/v1/admin/password-resets', { scope: 'set', setId: set.id, mode: how.value });
      if (!r.ok) { bar('error', errorMessage(r)); return; }
      ctx.flash('ok', `Successfully started Update/Notify Users on "${set.name}". Its progress is below.`);
      ctx.go(`/tasks/${r.body.jobId}`);
    }));
    notify.append(field('Task', how, 'The letter is the library\'s own: edit it under Letters.'), el('div', { class: 'actions' }, go));
  }
  root.append(notify);

  // ---- members
  const membersHost = el('div', { id: 'set-members-list' });
  const more = el('div', { class: 'actions' });
  let members = res.body.members || [];
  let cursor = res.body.nextCursor || '';
  const draw = () => {
    clear(membersHost); clear(more);
    if (!members.length) { membersHost.append(el('p', {}, 'No members.')); return; }
    membersHost.append(table([
      { label: 'Row', cell: (m) => String(m.row) },
      { label: 'Username', cell: (m) => el('a', { href: `#/users/${encodeURIComponent(m.userId)}` }, m.username) },
      { label: 'Primary ID', cell: (m) => m.primaryId || '' },
    ], members, { label: 'Members', id: 'set-members-table' }));
    if (cursor) {
      more.append(button('Show more members', (e) => busy(e.currentTarget, async () => {
        const r = await api('GET', path + query({ limit: 50, cursor }));
        if (!r.ok) { bar('error', errorMessage(r)); return; }
        members = members.concat(r.body.members || []);
        cursor = r.body.nextCursor || '';
        draw();
      }), { id: 'set-more' }));
    }
  };
  root.append(el('h2', {}, 'Members'), membersHost, more);
  draw();

  // ---- delete
  const del = button('Delete this set', (e) => busy(e.currentTarget, async () => {
    const choice = await confirmDialog('Delete this set?', `The set "${set.name}" is deleted; its users are not touched. This cannot be undone.`,
      [{ label: 'Delete the set', value: 'delete', kind: 'danger' }]);
    if (choice !== 'delete') return;
    const r = await api('DELETE', path);
    if (!r.ok) { bar('error', errorMessage(r)); return; }
    ctx.flash('ok', `Successfully deleted the set "${set.name}".`);
    ctx.go('/sets');
  }), { id: 'set-delete', class: 'btn-danger' });
  root.append(el('h2', {}, 'Delete'), el('div', { class: 'actions' }, del));
}
