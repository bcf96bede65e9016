// Bulk password reset: on the left, search users and select some; on the
// right, the filter (all users, all except selected, all without role,
// selected only, or a set), how passwords are reset (a default password
// with no e-mail, or each user e-mailed) and a preview of how many users
// it reaches. Starting it goes to the job's page in the task centre.
import { api, errorMessage, query } from '../shared/api.js';
import { el, clear, bar, field, select, button, busy, heading, uid } from '../shared/ui.js';
import { isFinal, countsText, poller } from './jobkit.js';

const FILTERS = [
  ['all', 'All users', 'Every user of the library (you are never reset by your own job).'],
  ['all_except', 'All users except selected', 'Everyone but the users selected on the left, e.g. keep a few staff.'],
  ['no_role', 'All users without role', 'Patrons only: every library team member keeps their password.'],
  ['selected', 'Selected users only', 'Only the users selected on the left, e.g. new starters.'],
  ['set', 'The members of a set', 'A set built from a file of IDs (Upload CSV, kind set).'],
];

export async function render(root, params, ctx) {
  heading(root, 'Bulk password reset');
  const selected = new Map(); // id -> username

  // ---- left: find and select users
  const by = select([['prefix', 'Username starts with'], ['email', 'E-mail is'], ['barcode', 'Barcode is'], ['primaryId', 'Primary ID is']], { id: 'reset-search-by' });
  const q = el('input', { type: 'search', id: 'reset-search-q', autocomplete: 'off' });
  const role = select([['', 'Any role'], ['__none', 'No role'], ['staff', 'staff'], ['admin', 'admin']], { id: 'reset-search-role' });
  const results = el('div', { id: 'reset-results' });
  const chosen = el('ul', { class: 'jk-chosen', id: 'reset-selected', 'aria-label': 'Selected users' });
  const chosenNote = el('p', { id: 'reset-selected-count', role: 'status' });

  const drawChosen = () => {
    clear(chosen);
    for (const [id, name] of selected) {
      chosen.append(el('li', {}, el('span', {}, name), ' ',
        button('Remove', () => { selected.delete(id); drawChosen(); drawResults(lastUsers); }, { class: 'linkish', 'aria-label': `Remove ${name}`, 'data-test': `unselect-${name}` })));
    }
    chosenNote.textContent = selected.size ? `${selected.size} user${selected.size === 1 ? '' : 's'} selected.` : 'No users selected.';
  };
  let lastUsers = [];
  const drawResults = (users) => {
    lastUsers = users;
    clear(results);
    if (!users.length) { results.append(el('p', {}, 'No user matches.')); return; }
    const list = el('ul', { class: 'jk-picks' });
    for (const u of users) {
      const id = uid('pick');
      const box = el('input', { type: 'checkbox', id, checked: selected.has(u.id), 'data-test': `select-${u.username}` });
      box.addEventListener('change', () => { if (box.checked) selected.set(u.id, u.username); else selected.delete(u.id); drawChosen(); });
      const extra = [u.email, (u.roles || []).join(', '), u.status === 'inactive' ? 'inactive' : ''].filter(Boolean).join(' · ');
      list.append(el('li', { class: 'check' }, box, el('label', { for: id }, u.username, extra ? el('span', { class: 'muted' }, ` (${extra})`) : null)));
    }
    results.append(list);
  };
  let searches = 0;
  const search = async () => {
    const seq = ++searches;
    const params = { limit: 50 };
    if (q.value.trim()) params[by.value] = q.value.trim();
    if (role.value === '__none') params.noRole = 'true'; else if (role.value) params.role = role.value;
    // The old results go at once, so nothing is ticked in a list that is
    // about to change; only the latest search's answer is shown.
    clear(results).append(el('p', { role: 'status' }, 'Searching…'));
    const res = await api('GET', '/v1/admin/users' + query(params));
    if (seq !== searches) return;
    if (!res.ok) { clear(results); bar('error', errorMessage(res)); return; }
    drawResults(res.body.users || []);
  };
  const searchBtn = el('button', { type: 'submit', id: 'reset-search' }, 'Search');
  const left = el('section', { class: 'panel jk-left', 'aria-labelledby': 'reset-left-title' },
    el('h2', { id: 'reset-left-title' }, 'Select users'),
    el('form', { novalidate: true, on: { submit: (e) => { e.preventDefault(); busy(searchBtn, search); } } },
      field('Search by', by), field('Search for', q, 'Leave empty to list users by name.'), field('Role', role),
      el('div', { class: 'actions' }, searchBtn)),
    results, el('h3', {}, 'Selected'), chosenNote, chosen);

  // ---- right: filter, password, preview, start
  const filterName = uid('filter');
  const radios = {};
  const filterSet = el('fieldset', { class: 'jk-fieldset' }, el('legend', {}, 'Filter'));
  for (const [value, label, hint] of FILTERS) {
    const r = el('input', { type: 'radio', name: filterName, id: `reset-filter-${value}`, value, checked: value === 'no_role' });
    const hid = uid('h');
    r.setAttribute('aria-describedby', hid);
    radios[value] = r;
    filterSet.append(el('div', { class: 'jk-choice' }, el('div', { class: 'check' }, r, el('label', { for: r.id }, label)), el('p', { class: 'hint', id: hid }, hint)));
  }
  const setSelect = el('select', { id: 'reset-set' }, el('option', { value: '' }, 'Loading sets…'));
  const setField = field('Set', setSelect);
  filterSet.append(setField);

  const modeName = uid('mode');
  const modes = {};
  const modeSet = el('fieldset', { class: 'jk-fieldset' }, el('legend', {}, 'New passwords'));
  for (const [value, label] of [['temporary', 'E-mail each user a new password of their own'], ['default', 'Set one default password (no e-mail is sent)'], ['link', 'E-mail each user a reset link']]) {
    const r = el('input', { type: 'radio', name: modeName, id: `reset-mode-${value}`, value, checked: value === 'temporary' });
    modes[value] = r;
    modeSet.append(el('div', { class: 'check' }, r, el('label', { for: r.id }, label)));
  }
  const pw = el('input', { type: 'password', id: 'reset-default-password', autocomplete: 'new-password' });
  const pwField = field('Default password', pw, 'It must meet the library\'s password policy. Users must change it at their next sign-in.');
  const invalidate = el('input', { type: 'checkbox', id: 'reset-invalidate' });
  const invField = el('div', { class: 'check' }, invalidate, el('label', { for: invalidate.id }, 'The current password stops working at once'));
  modeSet.append(pwField, invField,
    el('p', { class: 'hint' }, 'Users without an e-mail address are not changed by an e-mailed reset: the report lists them, to tell by hand.'));

  const chosenFilter = () => Object.values(radios).find((r) => r.checked).value;
  const chosenMode = () => Object.values(modes).find((r) => r.checked).value;
  const sync = () => {
    setField.hidden = chosenFilter() !== 'set';
    pwField.hidden = chosenMode() !== 'default';
    invField.hidden = chosenMode() !== 'link';
  };
  for (const r of [...Object.values(radios), ...Object.values(modes)]) r.addEventListener('change', () => { sync(); clear(previewNote); });

  const request = (dryRun) => {
    const scope = chosenFilter();
    const mode = chosenMode();
    const body = { scope, mode };
    if (scope === 'selected' || scope === 'all_except') body.userIds = [...selected.keys()];
    if (scope === 'set') body.setId = setSelect.value;
    if (mode === 'default') body.defaultPassword = pw.value;
    if (mode === 'link' && invalidate.checked) body.invalidateCurrent = true;
    if (dryRun) body.dryRun = true;
    return body;
  };
  const check = (body) => {
    if (body.scope === 'selected' && !body.userIds.length) return 'Select the users to reset on the left first.';
    if (body.scope === 'set' && !body.setId) return 'Choose a set.';
    if (body.mode === 'default' && !body.defaultPassword) return 'Type the default password, or choose to e-mail each user.';
    return '';
  };

  const previewNote = el('p', { id: 'reset-preview', role: 'status' });
  const previewBtn = el('button', { type: 'button', id: 'reset-preview-btn' }, 'How many users? (dry run)');
  const startBtn = el('button', { type: 'button', id: 'reset-start', class: 'jk-go' }, 'Reset Passwords');

  previewBtn.addEventListener('click', () => busy(previewBtn, async () => {
    const body = request(true);
    const problem = check(body);
    if (problem) { bar('error', problem); return; }
    clear(previewNote).append('Counting…');
    const res = await api('POST', '/v1/admin/password-resets', body);
    if (!res.ok) { clear(previewNote); bar('error', errorMessage(res)); return; }
    const id = res.body.jobId;
    await new Promise((resolve) => {
      poller(previewNote, async () => {
        const r = await api('GET', `/v1/admin/jobs/${encodeURIComponent(id)}`);
        if (!r.ok) { bar('error', errorMessage(r)); resolve(); return true; }
        if (!isFinal(r.body.status)) return false;
        const c = r.body.counts || {};
        clear(previewNote).append(
          `This reset would change ${c.changed || 0} user${c.changed === 1 ? '' : 's'}`,
          c.noEmail ? `; ${c.noEmail} without e-mail would be left as they are` : '',
          `. (${countsText(r.body)}.) `,
          el('a', { href: `#/tasks/${encodeURIComponent(id)}` }, 'See who'));
        resolve();
        return true;
      }, 500);
    });
  }));

  startBtn.addEventListener('click', () => busy(startBtn, async () => {
    const body = request(false);
    const problem = check(body);
    if (problem) { bar('error', problem); return; }
    const res = await api('POST', '/v1/admin/password-resets', body);
    if (!res.ok) {
      if (res.body && res.body.error && res.body.error.field === 'defaultPassword') { pw.setAttribute('aria-invalid', 'true'); pw.focus(); }
      bar('error', errorMessage(res));
      return;
    }
    pw.value = '';
    ctx.flash('ok', 'Successfully started the password reset. Its progress is below.');
    ctx.go(`/tasks/${res.body.jobId}`);
  }));

  const right = el('section', { class: 'panel jk-right', 'aria-labelledby': 'reset-right-title' },
    el('h2', { id: 'reset-right-title' }, 'Reset'),
    filterSet, modeSet,
    el('div', { class: 'actions' }, previewBtn, startBtn), previewNote);

  root.append(el('div', { class: 'cols jk-split' }, left, right));
  drawChosen();
  sync();

  const sets = await api('GET', '/v1/admin/sets');
  clear(setSelect);
  const ready = sets.ok ? (sets.body.sets || []).filter((s) => s.status === 'ready') : [];
  setSelect.append(el('option', { value: '' }, ready.length ? 'Choose a set' : 'No set is ready'));
  for (const s of ready) setSelect.append(el('option', { value: s.id }, `${s.name} (${s.members} members)`));
  await search();
}
