// Upload a CSV: users (a LibraryPass-style two-column file or an extended
// one) or a set (the Alma-style file of primary IDs). The file is checked
// first with a dry run whose report shows each row's problem, then imported
// for real. The file goes straight to the bucket's pre-signed URL (another
// origin); the page never holds it anywhere else.
import { api, errorMessage } from '../shared/api.js';
import { el, clear, bar, field, button, busy, heading } from '../shared/ui.js';
import { isFinal, countsText, progressView, poller, reportPanel, statusBadge } from './jobkit.js';

export async function render(root, params, ctx) {
  heading(root, 'Upload a CSV file');
  const preset = (ctx && ctx.uploadPreset) || {};
  if (ctx) ctx.uploadPreset = null;

  root.append(el('p', { class: 'muted' },
    'Users: two columns and no headings (username, password), or a header row naming the columns. ',
    'A set: one column headed "User name" or "Primary ID" (leading zeros are kept).'));

  const kindUsers = el('input', { type: 'radio', name: 'upload-kind', id: 'upload-kind-users', value: 'users', checked: preset.kind !== 'set' });
  const kindSet = el('input', { type: 'radio', name: 'upload-kind', id: 'upload-kind-set', value: 'set', checked: preset.kind === 'set' });
  const setName = el('input', { type: 'text', id: 'upload-set-name', maxlength: '100', autocomplete: 'off' });
  const mode = el('select', { id: 'upload-mode' },
    el('option', { value: 'create' }, 'Add new users; skip usernames that exist'),
    el('option', { value: 'upsert' }, 'Add new users and update existing ones'));
  const staff = el('input', { type: 'checkbox', id: 'upload-allow-staff' });
  const file = el('input', { type: 'file', id: 'upload-file', accept: '.csv,text/csv,text/plain' });

  const setField = field('Set name', setName, 'For example "Spring password resets".');
  const modeField = field('Existing usernames', mode);
  const staffField = el('div', { class: 'check' }, staff, el('label', { for: staff.id }, 'Rows may give the admin role (opens the staff console)'));
  const showKind = () => {
    const isSet = kindSet.checked;
    setField.hidden = !isSet;
    modeField.hidden = isSet;
    staffField.hidden = isSet;
  };
  kindUsers.addEventListener('change', showKind);
  kindSet.addEventListener('change', showKind);

  const checkBtn = el('button', { type: 'submit', id: 'upload-check' }, 'Check the file (dry run)');
  const importBtn = el('button', { type: 'button', id: 'upload-import', class: 'btn-primary', disabled: true }, 'Import for real');
  const hint = el('p', { class: 'hint', id: 'upload-import-hint' }, 'Check the file first: the dry run changes nothing and shows what would happen to each row.');
  importBtn.setAttribute('aria-describedby', hint.id);

  const result = el('section', { id: 'upload-result', 'aria-live': 'polite' });
  let checked = null; // the File that passed a dry run, with the options it ran with

  const options = () => {
    const kind = kindSet.checked ? 'set' : 'users';
    const o = { kind };
    if (kind === 'set') o.setName = setName.value.trim();
    else { o.mode = mode.value; if (staff.checked) o.allowStaffRoles = true; }
    return o;
  };
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  const invalidate = () => { checked = null; importBtn.disabled = true; };
  for (const c of [kindUsers, kindSet, setName, mode, staff, file]) c.addEventListener('change', invalidate);
  setName.addEventListener('input', invalidate);

  async function run(dryRun) {
    const f = file.files && file.files[0];
    if (!f) { bar('error', 'Choose a CSV file first.'); file.focus(); return; }
    const opts = options();
    if (opts.kind === 'set' && !opts.setName) { bar('error', 'Give the set a name.'); setName.setAttribute('aria-invalid', 'true'); setName.focus(); return; }
    setName.removeAttribute('aria-invalid');
    bar('', '');
    clear(result);
    const start = await api('POST', '/v1/admin/imports', { ...opts, dryRun });
    if (!start.ok) { bar('error', errorMessage(start)); return; }
    const { importId, uploadUrl, uploadHeaders } = start.body;
    const status = el('p', { 'data-test': 'upload-step' }, `Sending ${f.name}…`);
    const progressHost = el('div');
    result.append(el('h2', {}, dryRun ? `Dry run of ${f.name}` : `Import of ${f.name}`), status, progressHost);
    let put;
    try {
      // The URL is a credential: it is used here and nowhere else, and
      // the bucket needs no cookie.
      put = await fetch(uploadUrl, { method: 'PUT', headers: uploadHeaders, body: f, credentials: 'omit', mode: 'cors', referrerPolicy: 'no-referrer' });
    } catch (e) {
      status.textContent = 'The file could not be sent.';
      bar('error', 'The file could not be sent to the library system\'s storage. Check the connection and try again.');
      await api('POST', `/v1/admin/imports/${encodeURIComponent(importId)}/cancel`);
      return;
    }
    if (!put.ok) {
      status.textContent = 'The file was refused.';
      bar('error', `The storage refused the file (HTTP ${put.status}). Start the upload again.`);
      await api('POST', `/v1/admin/imports/${encodeURIComponent(importId)}/cancel`);
      return;
    }
    status.textContent = `${f.name} sent; the library system is reading it.`;
    const job = await follow(importId, progressHost, status);
    if (!job) return;
    if (dryRun) {
      if (job.status === 'failed') { invalidate(); return; }
      checked = { file: f, opts };
      importBtn.disabled = false;
      importBtn.focus();
    } else {
      invalidate();
    }
  }

  // follow polls the import until it ends and shows its progress, counts
  // and report; it resolves with the last job read.
  function follow(id, host, status) {
    return new Promise((resolve) => {
      const report = reportPanel(`/v1/admin/imports/${encodeURIComponent(id)}/report`, `import-${id}.csv`, { title: 'Report by row' });
      poller(host, async () => {
        const res = await api('GET', `/v1/admin/imports/${encodeURIComponent(id)}`);
        if (!res.ok) { bar('error', errorMessage(res)); resolve(null); return true; }
        const job = res.body;
        clear(host);
        host.append(progressView(job, 'upload-progress'),
          el('p', { id: 'upload-counts', 'data-test': 'upload-counts' }, statusBadge(job.status), ' ', countsText(job)),
          el('p', {}, el('a', { href: `#/tasks/${encodeURIComponent(id)}`, id: 'upload-task-link' }, 'Open in the task centre')));
        if (!isFinal(job.status)) return false;
        status.textContent = job.dryRun ? 'Dry run finished: nothing was changed.' : 'Import finished.';
        host.append(report.panel);
        if (job.status === 'failed') {
          bar('error', job.error ? `The file was refused: ${job.error}` : 'The import failed.');
        } else if (job.status === 'cancelled') {
          bar('error', 'The import was cancelled.');
        } else if (job.dryRun) {
          bar(job.status === 'completed' ? 'ok' : 'info', `Dry run finished: ${countsText(job)}. Nothing was changed; import the file for real when the report looks right.`);
        } else if (job.status === 'completed') {
          bar('ok', `Successfully imported ${job.kind === 'set' ? 'the set' : 'the file'}: ${countsText(job)}.`);
        } else {
          bar('error', `Imported, but some rows were not: ${countsText(job)}. The report below says which and why.`);
        }
        await report.show(false);
        resolve(job);
        return true;
      });
    });
  }

  const form = el('form', { id: 'upload-form', novalidate: true, on: { submit: (e) => { e.preventDefault(); busy(checkBtn, () => run(true)); } } },
    el('fieldset', { class: 'jk-fieldset' }, el('legend', {}, 'What the file holds'),
      el('div', { class: 'check' }, kindUsers, el('label', { for: kindUsers.id }, 'Users (create or update accounts)')),
      el('div', { class: 'check' }, kindSet, el('label', { for: kindSet.id }, 'A set of existing users (IDs, one per row)'))),
    setField, modeField, staffField,
    field('Choose file', file),
    el('div', { class: 'actions' }, checkBtn, importBtn), hint);
  importBtn.addEventListener('click', () => busy(importBtn, async () => {
    const f = file.files && file.files[0];
    if (!checked || checked.file !== f || !same(checked.opts, options())) { invalidate(); bar('error', 'Check this file with a dry run first.'); return; }
    await run(false);
  }).then(() => { importBtn.disabled = !checked; }));
  root.append(form, result);
  showKind();
}
