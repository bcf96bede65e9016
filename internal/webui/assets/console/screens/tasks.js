// The task centre: every job of the library (uploads, sets, password
// resets), newest first, and one job's page with its progress, counts,
// report and a way to stop it.
import { api, errorMessage, query } from '../shared/api.js';
import { el, clear, bar, field, select, button, busy, heading, table, fmtDate, confirmDialog } from '../shared/ui.js';
import {
  isFinal, statusBadge, jobTitle, countsText, noticesText, progressView, poller, reportPanel, scopeText, modeText,
} from './jobkit.js';

export async function render(root, params, ctx) {
  if (params && params.id) return renderJob(root, params.id, ctx);
  return renderList(root);
}

async function renderList(root) {
  heading(root, 'Task centre');
  root.append(el('p', { class: 'muted' }, 'Every upload, set and password reset, newest first. Open a job to follow it, download its report or stop it.'));
  const kind = select([['', 'Every kind'], ['users', 'User uploads'], ['set', 'Sets from ID files'], ['password_reset', 'Password resets']], { id: 'tasks-kind' });
  const status = select([['', 'Any status'], ['pending', 'Waiting for its file'], ['validating', 'Checking the file'], ['running', 'Running'],
    ['completed', 'Done'], ['completed_with_errors', 'Done, with errors'], ['failed', 'Failed'], ['cancelled', 'Cancelled']], { id: 'tasks-status' });
  const listHost = el('div', { id: 'tasks-list' });
  const more = el('div', { class: 'actions' });
  let cursor = '';
  let rows = [];

  const load = async (append) => {
    const res = await api('GET', '/v1/admin/jobs' + query({ kind: kind.value, status: status.value, limit: 50, cursor: append ? cursor : '' }));
    if (!res.ok) { bar('error', errorMessage(res)); return false; }
    const next = append ? rows.concat(res.body.jobs || []) : (res.body.jobs || []);
    const changed = JSON.stringify(next) !== JSON.stringify(rows) || !listHost.firstChild;
    rows = next;
    cursor = res.body.nextCursor || '';
    // Redrawn only when a job moved, so a keyboard user's place in the
    // table survives the refresh.
    if (changed) draw();
    return !rows.some((j) => !isFinal(j.status));
  };
  const draw = () => {
    clear(listHost); clear(more);
    if (!rows.length) { listHost.append(el('p', { 'data-test': 'tasks-empty' }, 'No jobs yet.')); return; }
    listHost.append(table([
      { label: 'Job', cell: (j) => el('a', { href: `#/tasks/${encodeURIComponent(j.id)}`, 'data-test': `task-${j.id}` }, jobTitle(j)) },
      { label: 'Status', cell: (j) => statusBadge(j.status) },
      { label: 'Progress', cell: (j) => `${j.percent || 0}%` },
      { label: 'Counts', cell: (j) => countsText(j) },
      { label: 'Started by', cell: (j) => (j.startedBy && (j.startedBy.username || j.startedBy.id)) || '—' },
      { label: 'Created', cell: (j) => fmtDate(j.createdAt) },
    ], rows, { label: 'Jobs', id: 'tasks-table' }));
    if (cursor) more.append(button('Show older jobs', (e) => busy(e.currentTarget, () => load(true)), { id: 'tasks-more' }));
  };
  const filters = el('form', { class: 'row', novalidate: true, on: { submit: (e) => { e.preventDefault(); load(false); } } },
    field('Kind', kind), field('Status', status),
    el('div', { class: 'field' }, el('button', { type: 'submit', id: 'tasks-filter' }, 'Show')));
  root.append(filters, listHost, more);
  // Running jobs move: keep the list current until every job shown ends.
  poller(listHost, () => load(false), 2000);
}

async function renderJob(root, id, ctx) {
  const path = `/v1/admin/jobs/${encodeURIComponent(id)}`;
  const title = heading(root, 'Job');
  const crumbs = el('p', {}, el('a', { href: '#/tasks' }, 'Task centre'));
  const facts = el('dl', { class: 'facts', id: 'job-facts' });
  const progressHost = el('div', { id: 'job-progress-host' });
  const cancelBtn = button('Cancel this job', () => busy(cancelBtn, cancel), { id: 'job-cancel', class: 'btn-danger', hidden: true });
  const actions = el('div', { class: 'actions' }, cancelBtn);
  const report = reportPanel(`${path}/report`, `job-${id}.csv`, { title: 'Report' });
  root.append(crumbs, progressHost, facts, actions, el('h2', {}, 'Report'), report.panel);

  let last = null;
  let announced = false;
  let reportShown = false;
  const fact = (label, value, test) => [el('dt', {}, label), el('dd', { 'data-test': test }, value)];
  const draw = (job) => {
    title.textContent = jobTitle(job);
    document.title = `${jobTitle(job)} · Staff console`;
    clear(progressHost).append(progressView(job));
    clear(facts).append(
      ...fact('Status', statusBadge(job.status), 'job-status-fact'),
      ...fact('Counts', countsText(job), 'job-counts'),
      ...(job.notices ? fact('E-mails', noticesText(job), 'job-notices') : []),
      ...(job.scope ? fact('Who', scopeText(job.scope) + (job.setName ? ` "${job.setName}"` : ''), 'job-scope') : []),
      ...(job.mode ? fact('How', modeText(job.mode), 'job-mode') : []),
      ...(job.error ? fact('Why it failed', job.error, 'job-error') : []),
      ...fact('Started by', (job.startedBy && (job.startedBy.username || job.startedBy.id)) || '—', 'job-by'),
      ...fact('Created', fmtDate(job.createdAt), 'job-created'),
      ...(job.finishedAt ? fact('Finished', fmtDate(job.finishedAt), 'job-finished') : []),
    );
    if (job.setId && job.kind === 'set') facts.append(...fact('Set', el('a', { href: `#/sets/${encodeURIComponent(job.setId)}` }, job.setName || 'Open the set'), 'job-set'));
    // The button stays the same node while the job runs, so a keyboard
    // user's focus on it survives each refresh.
    cancelBtn.hidden = isFinal(job.status);
  };
  const cancel = async () => {
    const choice = await confirmDialog('Stop this job?', 'What it has done so far stays; the rest is not done. This cannot be undone.',
      [{ label: 'Stop the job', value: 'stop', kind: 'danger' }]);
    if (choice !== 'stop') return;
    const res = await api('POST', `${path}/cancel`);
    if (!res.ok) { bar('error', errorMessage(res)); return; }
    announced = true;
    last = res.body;
    draw(res.body);
    bar('ok', 'Successfully cancelled the job.');
    await report.show(false);
  };
  poller(progressHost, async () => {
    const res = await api('GET', path);
    if (!res.ok) { bar('error', errorMessage(res)); return true; }
    const job = res.body;
    const was = last;
    last = job;
    draw(job);
    if (!isFinal(job.status)) return false;
    // A reset's e-mails go out after its users are changed: keep counting
    // them until none is waiting.
    const mailing = job.notices && job.notices.pending > 0;
    if (!announced && was && !isFinal(was.status)) {
      // Only a job seen finishing here is announced: opening an old job
      // keeps whatever bar brought the librarian here.
      announced = true;
      if (job.status === 'completed') bar('ok', `The job is done: ${countsText(job)}.`);
      else if (job.status === 'cancelled') bar('ok', 'Successfully cancelled the job.');
      else bar('error', job.error ? `The job failed: ${job.error}` : `The job ended with errors: ${countsText(job)}.`);
    }
    // The report once the job ends, and again when its last e-mail has
    // gone (a reset's report has each notice's status).
    if (!reportShown || !mailing) { reportShown = true; await report.show(false); }
    return !mailing;
  }, 700);
}
