// #/users — the "User Maintenance" list: search, filters, pages, and
// select users → deactivate, reactivate, delete or reset passwords.
// The search lives in this module's memory, never in the URL, so coming
// back from a user's page finds the list as it was left.
import { api, errorMessage, query } from '../shared/api.js';
import { el, clear, bar, field, select, button, busy, heading, form, confirmDialog, uid } from '../shared/ui.js';
import { statusBadge, isLocked, srLabel, bulkOutcome, showList } from './userkit.js';

const PAGE = 50;

// state survives navigation within the console (not a reload).
const state = {
  by: 'prefix', q: '', role: '', noRole: false, status: '',
  cursors: [''], // cursors[i] is the cursor of page i; page 0 has none
  page: 0,
  selected: new Map(), // id -> username, across pages
};

const searchWays = [
  ['prefix', 'Username starts with'],
  ['email', 'E-mail address (exact)'],
  ['barcode', 'Barcode (exact)'],
  ['primaryId', 'Primary ID (exact)'],
];

export async function render(root, params, ctx) {
  heading(root, 'Users');
  const byCtl = select(searchWays, { id: 'user-search-by', name: 'by', value: state.by });
  const qCtl = el('input', { type: 'search', id: 'user-search-q', name: 'q', value: state.q, autocomplete: 'off', spellcheck: 'false' });
  const roleCtl = el('input', { type: 'text', id: 'user-filter-role', name: 'role', value: state.role, autocomplete: 'off' });
  const noRoleCtl = el('input', { type: 'checkbox', id: 'user-filter-norole', name: 'noRole', checked: state.noRole });
  const statusCtl = select([['', 'Any status'], ['active', 'Active'], ['inactive', 'Inactive']], { id: 'user-filter-status', name: 'status', value: state.status });
  const exactHint = el('p', { class: 'hint', id: 'user-search-note' });

  const syncControls = () => {
    const exact = byCtl.value !== 'prefix' && qCtl.value.trim() !== '';
    // An exact search ignores the filters (the API says so): show it.
    for (const c of [roleCtl, noRoleCtl, statusCtl]) c.disabled = exact;
    roleCtl.disabled = exact || noRoleCtl.checked;
    exactHint.textContent = exact ? 'An exact search finds every match and ignores the filters.' : '';
  };
  byCtl.addEventListener('change', syncControls);
  qCtl.addEventListener('input', syncControls);
  noRoleCtl.addEventListener('change', syncControls);

  const results = el('div', { id: 'users-results', 'aria-live': 'polite' });
  const selInfo = el('p', { id: 'selection-count', class: 'muted', 'aria-live': 'polite' });

  const searchForm = form(async () => {
    state.by = byCtl.value; state.q = qCtl.value.trim(); state.role = roleCtl.value.trim();
    state.noRole = noRoleCtl.checked; state.status = statusCtl.value;
    state.cursors = ['']; state.page = 0;
    await load();
  },
  el('div', { class: 'row' },
    field('Search by', byCtl),
    field('Search for', qCtl)),
  exactHint,
  el('div', { class: 'row' },
    field('Role', roleCtl, 'e.g. admin, staff'),
    field('Status', statusCtl)),
  el('div', { class: 'check' }, noRoleCtl, el('label', { for: 'user-filter-norole' }, 'Only users without a role')),
  el('div', { class: 'actions' },
    el('button', { type: 'submit', id: 'user-search-go' }, 'Search'),
    button('Clear', async () => {
      Object.assign(state, { by: 'prefix', q: '', role: '', noRole: false, status: '', cursors: [''], page: 0 });
      byCtl.value = 'prefix'; qCtl.value = ''; roleCtl.value = ''; noRoleCtl.checked = false; statusCtl.value = '';
      syncControls();
      await load();
    }, { id: 'user-search-clear' }),
    el('a', { href: '#/add-user', class: 'button' }, 'Add single user')));
  searchForm.setAttribute('role', 'search');
  searchForm.setAttribute('aria-label', 'Find users');
  searchForm.classList.add('wide');
  searchForm.id = 'users-search';

  const bulkButtons = [
    button('Deactivate', (e) => bulk(e.currentTarget, 'deactivate'), { id: 'bulk-deactivate' }),
    button('Reactivate', (e) => bulk(e.currentTarget, 'reactivate'), { id: 'bulk-reactivate' }),
    button('Reset passwords…', (e) => resetSelected(e.currentTarget), { id: 'bulk-reset' }),
    button('Delete…', (e) => bulk(e.currentTarget, 'delete'), { id: 'bulk-delete', class: 'btn-danger' }),
    button('Clear selection', () => { state.selected.clear(); renderRows(lastRows); }, { id: 'bulk-clear', class: 'linkish' }),
  ];
  const bulkBar = el('div', { class: 'panel wide uk-bulk', role: 'group', 'aria-label': 'With the selected users' },
    selInfo, el('div', { class: 'actions' }, bulkButtons));

  root.append(searchForm, bulkBar, results);
  syncControls();

  let lastRows = [];

  function showSelection() {
    const n = state.selected.size;
    selInfo.textContent = n ? `${n} user${n === 1 ? '' : 's'} selected: ${[...state.selected.values()].join(', ')}` : 'No user selected. Tick the users to act on.';
    for (const b of bulkButtons.slice(0, 4)) b.disabled = n === 0;
  }

  async function load() {
    const params = { limit: PAGE };
    if (state.q && state.by !== 'prefix') {
      params[state.by] = state.q;
    } else {
      if (state.q) params.prefix = state.q;
      if (state.noRole) params.noRole = 'true';
      else if (state.role) params.role = state.role;
      if (state.status) params.status = state.status;
      if (state.cursors[state.page]) params.cursor = state.cursors[state.page];
    }
    clear(results).append(el('p', { class: 'muted' }, 'Loading…'));
    const res = await api('GET', '/v1/admin/users' + query(params));
    if (!res.ok) {
      clear(results);
      bar('error', errorMessage(res));
      return;
    }
    lastRows = res.body.users || [];
    state.cursors[state.page + 1] = res.body.nextCursor || '';
    renderRows(lastRows);
  }

  function renderRows(rows) {
    clear(results);
    showSelection();
    if (!rows.length) {
      results.append(el('p', { id: 'users-empty' }, state.page ? 'No more users.' : 'No user matches.'));
    }
    const allId = uid('all');
    const all = el('input', { type: 'checkbox', id: allId, 'data-test': 'select-all', checked: rows.length > 0 && rows.every((u) => state.selected.has(u.id)) });
    all.addEventListener('change', () => {
      for (const u of rows) { if (all.checked) state.selected.set(u.id, u.username); else state.selected.delete(u.id); }
      renderRows(rows);
      document.getElementById(allId)?.focus();
    });
    const head = el('tr', {},
      el('th', { scope: 'col', class: 'uk-select' }, all, srLabel(allId, 'Select every user on this page')),
      ['Username', 'E-mail', 'Barcode', 'Primary ID', 'Roles', 'Status'].map((h) => el('th', { scope: 'col' }, h)));
    const body = rows.map((u) => {
      const cid = uid('sel');
      const box = el('input', { type: 'checkbox', id: cid, 'data-test': `select-${u.username}`, checked: state.selected.has(u.id) });
      box.addEventListener('change', () => {
        if (box.checked) state.selected.set(u.id, u.username); else state.selected.delete(u.id);
        all.checked = rows.every((r) => state.selected.has(r.id));
        showSelection();
      });
      return el('tr', { 'data-test': `row-${u.username}` },
        el('td', { class: 'uk-select' }, box, srLabel(cid, `Select ${u.username}`)),
        el('th', { scope: 'row' }, el('a', { href: `#/users/${encodeURIComponent(u.id)}`, 'data-test': `open-${u.username}` }, u.username)),
        el('td', {}, u.email || ''),
        el('td', {}, u.barcode || ''),
        el('td', {}, u.primaryId || ''),
        el('td', {}, showList(u.roles) || el('span', { class: 'muted' }, 'no role')),
        el('td', {}, statusBadge(u.status), isLocked(u) ? el('span', { class: 'badge badge-neutral uk-lock' }, 'Locked') : null));
    });
    if (rows.length) {
      results.append(el('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Users' },
        el('table', { id: 'users-table' }, el('thead', {}, head), el('tbody', {}, body))));
    }
    const exact = state.q && state.by !== 'prefix';
    if (!exact && (state.page > 0 || state.cursors[state.page + 1])) {
      results.append(el('nav', { class: 'actions', 'aria-label': 'Pages of users' },
        button('Previous page', async () => { state.page -= 1; await load(); }, { id: 'users-prev', disabled: state.page === 0 }),
        el('span', { class: 'muted uk-pageno' }, `Page ${state.page + 1}`),
        button('Next page', async () => { state.page += 1; await load(); }, { id: 'users-next', disabled: !state.cursors[state.page + 1] })));
    }
  }

  async function bulk(btn, action) {
    const ids = [...state.selected.keys()];
    const names = [...state.selected.values()];
    if (!ids.length) return;
    let confirm;
    if (action === 'delete') {
      const choice = await confirmDialog(`Delete ${names.length} user${names.length === 1 ? '' : 's'}?`,
        `Deleting is permanent and cannot be undone: ${names.join(', ')}. Deactivating turns off their access and can be reversed.`,
        [{ label: 'Deactivate instead', value: 'deactivate', kind: 'primary' }, { label: 'Delete permanently', value: 'delete', kind: 'danger' }]);
      if (!choice) { btn.focus(); return; }
      action = choice;
      confirm = action === 'delete' ? true : undefined;
    }
    const verb = { deactivate: 'deactivated', reactivate: 'reactivated', delete: 'deleted' }[action];
    await busy(btn, async () => {
      const res = await api('POST', '/v1/admin/users:bulk', { action, ids, confirm });
      if (!res.ok) { bar('error', errorMessage(res)); return; }
      const out = bulkOutcome(verb, res.body);
      for (const r of res.body.results || []) if (r.ok) state.selected.delete(r.id);
      await load();
      bar(out.kind, out.message);
    });
    showSelection(); // busy() re-enabled the button the new selection may disable
  }

  // resetSelected starts the bulk password reset job for the selected users
  // ("Selected users only") and follows it in the task centre, as the
  // bulk-reset screen does; a default password and the other filters are
  // on that screen.
  async function resetSelected(btn) {
    const ids = [...state.selected.keys()];
    if (!ids.length) return;
    const n = ids.length;
    const mode = await confirmDialog(`Reset the passwords of ${n} user${n === 1 ? '' : 's'}?`,
      'Each user with an e-mail address gets either a new temporary password (the old one stops working) or a single-use link to choose one (the old one works until then). Users without an e-mail address are listed in the report, to be told by hand. For one default password for everyone, use Password resets.',
      [{ label: 'E-mail temporary passwords', value: 'temporary', kind: 'primary' }, { label: 'E-mail reset links', value: 'link' }]);
    if (!mode) { btn.focus(); return; }
    await busy(btn, async () => {
      const res = await api('POST', '/v1/admin/password-resets', { scope: 'selected', userIds: ids, mode });
      if (!res.ok) { bar('error', errorMessage(res)); return; }
      state.selected.clear();
      ctx.flash('ok', `Password reset started for ${n} user${n === 1 ? '' : 's'}; follow it here in the task centre.`);
      ctx.go(`/tasks/${encodeURIComponent(res.body.jobId)}`);
    });
    showSelection();
  }

  await load();
}
