// The audit trail: who did what to whom and when, newest first, filtered
// by action, actor, target and dates, and exported as CSV by the API's own
// export (formula-like cells already neutralised there).
import { api, errorMessage, query } from '../shared/api.js';
import { el, clear, bar, field, select, button, busy, heading, table, fmtDate, download } from '../shared/ui.js';
import { parseCSV } from './jobkit.js';

const ACTIONS = [
  'user.create', 'user.update', 'user.password_reset', 'user.password_reset_link', 'user.deactivate', 'user.reactivate',
  'user.unlock', 'user.delete', 'settings.update', 'letter.update', 'tenant.bootstrap', 'job.password_reset',
  'recovery.requested', 'share_phrase.create', 'share_phrase.revoke', 'link.create', 'link.confirm', 'link.delete',
];

// userId finds the id of the user named exactly `name` (the API filters
// by id; staff know usernames). "operator" is the operator's command line.
async function userId(name) {
  if (!name || name === 'operator') return { id: name };
  const res = await api('GET', '/v1/admin/users' + query({ prefix: name, limit: 200 }));
  if (!res.ok) return { error: errorMessage(res) };
  const u = (res.body.users || []).find((x) => x.username.toLowerCase() === name.toLowerCase());
  return u ? { id: u.id } : { error: `No user is named "${name}".` };
}

// isoOrEmpty turns a date field's yyyy-mm-dd into the start (or, for `to`,
// the end) of that day in the librarian's time zone.
function isoOrEmpty(v, end) {
  if (!v) return '';
  const d = new Date(`${v}T${end ? '23:59:59.999' : '00:00:00'}`);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

export async function render(root) {
  heading(root, 'Audit trail');
  const action = select([['', 'Any action'], ...ACTIONS.map((a) => [a, a])], { id: 'audit-action' });
  const actor = el('input', { type: 'text', id: 'audit-actor', autocomplete: 'off' });
  const target = el('input', { type: 'text', id: 'audit-target', autocomplete: 'off' });
  const from = el('input', { type: 'date', id: 'audit-from' });
  const to = el('input', { type: 'date', id: 'audit-to' });
  const listHost = el('div', { id: 'audit-list' });
  const more = el('div', { class: 'actions' });
  const exportNote = el('p', { id: 'audit-export-note', role: 'status' });
  const summary = el('p', { id: 'audit-summary', role: 'status' });
  let events = [];
  let cursor = '';
  let current = null;

  const filters = async () => {
    const a = await userId(actor.value.trim());
    if (a.error) { actor.setAttribute('aria-invalid', 'true'); bar('error', `Done by: ${a.error}`); return null; }
    const t = await userId(target.value.trim());
    if (t.error) { target.setAttribute('aria-invalid', 'true'); bar('error', `Done to: ${t.error}`); return null; }
    actor.removeAttribute('aria-invalid'); target.removeAttribute('aria-invalid');
    return { action: action.value, actor: a.id, target: t.id, from: isoOrEmpty(from.value, false), to: isoOrEmpty(to.value, true) };
  };
  const load = async (append) => {
    if (!append) { current = await filters(); if (!current) return; }
    const res = await api('GET', '/v1/admin/audit' + query({ ...current, limit: 50, cursor: append ? cursor : '' }));
    if (!res.ok) { bar('error', errorMessage(res)); return; }
    events = append ? events.concat(res.body.events || []) : (res.body.events || []);
    cursor = res.body.nextCursor || '';
    draw();
  };
  const who = (id, name) => name || id || '';
  const draw = () => {
    clear(listHost); clear(more);
    summary.textContent = `Showing ${events.length} event${events.length === 1 ? '' : 's'}${cursor ? '; older ones follow' : ''}.`;
    if (!events.length) { listHost.append(el('p', { 'data-test': 'audit-empty' }, 'No event matches.')); return; }
    listHost.append(table([
      { label: 'When', cell: (e) => fmtDate(e.at) },
      { label: 'Who', cell: (e) => who(e.actorId, e.actorUsername) },
      { label: 'Action', cell: (e) => e.action },
      { label: 'To whom', cell: (e) => who(e.targetId, e.targetUsername) },
      { label: 'Fields changed', cell: (e) => (e.fields || []).join(', ') },
      { label: 'Detail', cell: (e) => e.detail || '' },
      { label: 'Request', cell: (e) => el('code', { class: 'jk-id' }, e.requestId) },
    ], events, { label: 'Audit events', id: 'audit-table' }));
    if (cursor) more.append(button('Show older events', (e) => busy(e.currentTarget, () => load(true)), { id: 'audit-more' }));
  };
  const exportBtn = button('Export CSV', () => busy(exportBtn, async () => {
    const f = await filters();
    if (!f) return;
    clear(exportNote).append('Exporting…');
    const res = await api('GET', '/v1/admin/audit' + query({ ...f, format: 'csv' }), undefined, { raw: true, headers: { Accept: 'text/csv' } });
    if (!res.ok) {
      clear(exportNote);
      let msg = `The export failed (HTTP ${res.status}).`;
      try { msg = errorMessage({ status: res.status, body: JSON.parse(await res.body.text()) }); } catch (e) { /* plain text */ }
      bar('error', msg);
      return;
    }
    const text = await res.body.text();
    const rows = parseCSV(text).filter((r) => !String(r[0] || '').startsWith('#'));
    const n = Math.max(0, rows.length - 1);
    download('audit.csv', new Blob([text], { type: 'text/csv' }));
    const stopped = text.split(/\r?\n/).find((l) => l.startsWith('# export'));
    clear(exportNote).append(`Downloaded audit.csv: ${n} event${n === 1 ? '' : 's'}.`, stopped ? ` ${stopped.replace(/^#\s*/, '')}` : '');
  }), { id: 'audit-export' });
  const searchBtn = el('button', { type: 'submit', id: 'audit-search' }, 'Show events');
  root.append(
    el('form', { class: 'row jk-filters', novalidate: true, on: { submit: (e) => { e.preventDefault(); busy(searchBtn, () => load(false)); } } },
      field('Action', action), field('Done by (username)', actor), field('Done to (username)', target),
      field('From', from), field('To', to),
      el('div', { class: 'field' }, searchBtn)),
    el('div', { class: 'actions' }, exportBtn), exportNote, summary, listHost, more);
  await load(false);
}
