// Pieces the job screens (upload, tasks, resets, sets) share: how a job
// reads in words, its progress bar, its report, and polling that stops when
// the librarian leaves the screen. Like ui.js it never parses HTML.
import { api, errorMessage } from '../shared/api.js';
import { el, clear, download, table } from '../shared/ui.js';

export const FINAL = new Set(['completed', 'completed_with_errors', 'failed', 'cancelled']);
export function isFinal(status) { return FINAL.has(status); }

const STATUS_WORDS = {
  pending: 'Waiting for its file', validating: 'Checking the file', running: 'Running',
  completed: 'Done', completed_with_errors: 'Done, with errors', failed: 'Failed', cancelled: 'Cancelled',
};
export function statusText(status) { return STATUS_WORDS[status] || status || ''; }

export function statusBadge(status) {
  let cls = 'badge-neutral';
  if (status === 'completed') cls = 'badge-active';
  else if (status === 'failed' || status === 'cancelled' || status === 'completed_with_errors') cls = 'badge-inactive';
  return el('span', { class: `badge ${cls}`, 'data-test': 'job-status' }, statusText(status));
}

const KIND_WORDS = { users: 'User upload', set: 'Set from an ID file', password_reset: 'Password reset' };
const SCOPE_WORDS = {
  all: 'all users', all_except: 'all users except selected', no_role: 'all users without role',
  selected: 'selected users only', set: 'the members of a set',
};
const MODE_WORDS = {
  create: 'new users only', upsert: 'create or update', temporary: 'e-mail each a new password',
  default: 'one default password, no e-mail', link: 'e-mail a reset link',
};
export function scopeText(scope) { return SCOPE_WORDS[scope] || scope || ''; }
export function modeText(mode) { return MODE_WORDS[mode] || mode || ''; }

// jobTitle names a job the way the task centre lists it.
export function jobTitle(job) {
  const kind = job.kind === 'password_reset' ? 'password_reset' : job.kind;
  let t = KIND_WORDS[kind] || kind;
  if (job.kind === 'set' && job.setName) t += ` "${job.setName}"`;
  if (job.kind === 'password_reset' && job.scope) {
    t += `: ${scopeText(job.scope)}`;
    if (job.scope === 'set' && job.setName) t += ` "${job.setName}"`;
  }
  if (job.dryRun) t += ' (dry run)';
  return t;
}

// countsText says a job's counts in words, by kind; a dry run says what
// would happen.
export function countsText(job) {
  const c = job.counts || {};
  const n = (v) => Number(v || 0);
  if (job.kind === 'password_reset') {
    const parts = [`${n(c.matched)} matched`, `${n(c.changed)} ${job.dryRun ? 'would change' : 'changed'}`,
      `${n(c.skipped)} skipped`, `${n(c.noEmail)} without e-mail`, `${n(c.failed)} failed`];
    return parts.join(', ');
  }
  if (job.kind === 'set') {
    return [`${n(c.rows)} rows`, `${n(c.added)} ${job.dryRun ? 'would be added' : 'added'}`,
      `${n(c.duplicates)} duplicates`, `${n(c.notFound)} not found`].join(', ');
  }
  return [`${n(c.rows)} rows`, `${n(c.created)} ${job.dryRun ? 'would be created' : 'created'}`,
    `${n(c.updated)} ${job.dryRun ? 'would be updated' : 'updated'}`, `${n(c.skipped)} skipped`, `${n(c.failed)} failed`].join(', ');
}

export function noticesText(job) {
  const m = job.notices;
  if (!m) return '';
  return `${m.sent || 0} sent, ${m.pending || 0} waiting, ${m.failed || 0} failed`;
}

// progressView is the job's bar with its percent in words beside it, so
// the number is there for those who cannot see the bar.
export function progressView(job, id = 'job-progress') {
  const pct = Math.max(0, Math.min(100, Number(job.percent || 0)));
  const labelId = `${id}-label`;
  return el('div', { class: 'progress jk-progress', 'data-test': 'progress' },
    el('span', { id: labelId, class: 'jk-progress-label' }, `${statusText(job.status)} · ${pct}%`),
    el('progress', { id, max: '100', value: String(pct), 'aria-labelledby': labelId }));
}

// poller calls fn every `every` ms until it returns true or `root` leaves
// the page (the librarian went to another screen); one call at a time.
export function poller(root, fn, every = 700) {
  let stopped = false;
  const tick = async () => {
    if (stopped || !root.isConnected) return;
    let done = false;
    try { done = await fn(); } catch (e) { done = false; }
    if (!done && !stopped && root.isConnected) setTimeout(tick, every);
  };
  tick();
  return () => { stopped = true; };
}

// parseCSV reads RFC 4180 text (the API's reports): quoted cells, doubled
// quotes, CRLF; a leading byte order mark dropped.
export function parseCSV(text) {
  const s = String(text || '').replace(/^\uFEFF/, '');
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < s.length; i += 1) {
    const ch = s[i];
    if (quoted) {
      if (ch === '"' && s[i + 1] === '"') { cell += '"'; i += 1; } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(cell); cell = ''; } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && s[i + 1] === '\n') i += 1;
      row.push(cell); rows.push(row); row = []; cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length) { row.push(cell); rows.push(row); }
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}

// fetchReport gets a job's report (following a large report's redirect to
// the bucket) and answers {ok, text, message}.
export async function fetchReport(path) {
  const res = await api('GET', path, undefined, { raw: true, headers: { Accept: 'text/csv' } });
  if (!res.ok) {
    let message = `The report could not be downloaded (HTTP ${res.status}).`;
    try {
      const j = JSON.parse(await res.body.text());
      message = errorMessage({ status: res.status, body: j });
    } catch (e) { /* not JSON: keep the plain message */ }
    return { ok: false, message };
  }
  return { ok: true, text: await res.body.text(), blob: res.body };
}

// reportPanel is the "Download report" button and, once fetched, the
// report's rows as a table (what went wrong, row by row) with a line saying
// what was saved.
export function reportPanel(path, filename, { title = 'Report', onlyProblems = false } = {}) {
  const note = el('p', { class: 'muted', 'data-test': 'report-note', role: 'status' });
  const rowsHost = el('div', { 'data-test': 'report-rows' });
  const show = async (save) => {
    const r = await fetchReport(path);
    clear(note); clear(rowsHost);
    if (!r.ok) { note.append(r.message); return; }
    const rows = parseCSV(r.text);
    const head = rows.shift() || [];
    const data = rows.filter((x) => !String(x[0] || '').startsWith('#'));
    if (save) {
      download(filename, new Blob([r.text], { type: 'text/csv' }));
      note.append(`Downloaded ${filename}: ${data.length} line${data.length === 1 ? '' : 's'}.`);
    }
    let shown = data;
    const oc = head.indexOf('outcome');
    if (onlyProblems && oc >= 0) shown = data.filter((x) => /failed|refused|not_found|duplicate|skipped|no_email/.test(x[oc] || ''));
    if (!shown.length) { rowsHost.append(el('p', { 'data-test': 'report-empty' }, onlyProblems ? 'No row has a problem.' : 'The report has no rows yet.')); return; }
    const cols = head.map((h, i) => ({ label: h, cell: (row) => row[i] || '' }));
    const t = table(cols, shown, { label: title, id: 'report-table' });
    if (oc >= 0) {
      const trs = t.querySelectorAll('tbody tr');
      shown.forEach((row, i) => { trs[i].classList.add(`jk-outcome-${String(row[oc]).replace(/[^a-z_]/g, '')}`); });
    }
    rowsHost.append(t);
  };
  const btn = el('button', { type: 'button', id: 'report-download', on: { click: () => show(true) } }, 'Download report');
  const panel = el('section', { class: 'jk-report', 'aria-label': title }, el('div', { class: 'actions' }, btn), note, rowsHost);
  return { panel, show };
}
