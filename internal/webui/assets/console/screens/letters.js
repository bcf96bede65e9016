// Letters: the words of every notice the library sends. Pick one, edit
// its subject and body with the placeholders it may use, preview it with
// sample data (nothing is sent), and save it with the version read.
import { api, errorMessage } from '../shared/api.js';
import { el, clear, bar, field, busy, heading, select, table, fmtDate } from '../shared/ui.js';

const KIND_WORDS = {
  'password-reset-link': 'Reset link sent by staff',
  'password-temporary': 'Temporary password (Notify Password Change)',
  'password-changed': 'Password changed',
  'password-recovery': 'Forgot password',
  'username-reminder': 'Forgot username',
  'job-finished': 'Job finished (to the staff member who started it)',
};
const kindText = (k) => KIND_WORDS[k] || k;

export async function render(root) {
  heading(root, 'Letters');
  const res = await api('GET', '/v1/admin/letters');
  if (!res.ok) { bar('error', errorMessage(res)); return; }
  const letters = res.body.letters || [];
  if (!letters.length) { root.append(el('p', {}, 'No letters.')); return; }
  const pick = select(letters.map((l) => [l.kind, `${kindText(l.kind)}${l.custom ? ' — the library\'s own' : ' — default'}`]), { id: 'letter-kind' });
  const editor = el('div', { id: 'letter-editor' });
  pick.addEventListener('change', () => open(editor, pick.value, pick));
  root.append(field('Letter', pick), editor);
  await open(editor, letters[0].kind, pick);
}

let opening = 0;

async function open(host, kind, pick) {
  // The librarian may pick another letter before this one has loaded:
  // only the last one picked is shown.
  const seq = ++opening;
  const path = `/v1/admin/letters/${encodeURIComponent(kind)}`;
  const res = await api('GET', path);
  if (seq !== opening) return;
  clear(host);
  if (!res.ok) { bar('error', errorMessage(res)); return; }
  const letter = res.body;
  let etag = res.etag || `"${letter.version}"`;

  const subject = el('input', { type: 'text', id: 'letter-subject', value: letter.subject, maxlength: '200', autocomplete: 'off' });
  const body = el('textarea', { id: 'letter-body', rows: '14', spellcheck: 'true' });
  body.value = letter.body;
  const state = el('p', { class: 'muted', 'data-test': 'letter-state' },
    letter.custom ? `The library's own text, version ${letter.version}${letter.updatedBy ? `, last edited by ${letter.updatedBy}` : ''}${letter.updatedAt ? ` on ${fmtDate(letter.updatedAt)}` : ''}.` : 'The default text: saving makes it the library\'s own.');
  const previewHost = el('section', { id: 'letter-preview', 'aria-live': 'polite', 'aria-label': 'Preview' });
  const fields = { subject, body };

  const problem = (r) => {
    for (const c of Object.values(fields)) c.removeAttribute('aria-invalid');
    const f = r.body && r.body.error && r.body.error.field;
    if (fields[f]) { fields[f].setAttribute('aria-invalid', 'true'); fields[f].focus(); }
    bar('error', errorMessage(r));
  };
  const previewBtn = el('button', { type: 'button', id: 'letter-preview-btn' }, 'Preview');
  previewBtn.addEventListener('click', () => busy(previewBtn, async () => {
    const r = await api('POST', `${path}/preview`, { subject: subject.value, body: body.value });
    clear(previewHost);
    if (!r.ok) { problem(r); return; }
    bar('', '');
    previewHost.append(el('h2', {}, 'Preview with sample data'),
      el('p', {}, el('strong', {}, 'Subject: '), el('span', { 'data-test': 'preview-subject' }, r.body.subject)),
      el('div', { class: 'preview', 'data-test': 'preview-body' }, r.body.body),
      el('p', { class: 'hint' }, 'Nothing was sent or saved.'));
  }));
  const save = el('button', { type: 'submit', id: 'letter-save' }, 'Save letter');
  const form = el('form', { id: 'letter-form', novalidate: true, on: { submit: (e) => { e.preventDefault(); busy(save, async () => {
    const r = await api('PUT', path, { subject: subject.value, body: body.value }, { ifMatch: etag });
    if (!r.ok) { problem(r); return; }
    etag = r.etag || `"${r.body.version}"`;
    await open(host, kind, pick);
    const opt = [...pick.options].find((o) => o.value === kind);
    if (opt) opt.textContent = `${kindText(kind)} — the library's own`;
    bar('ok', `Successfully Updated Letter "${kindText(kind)}"`);
  }); } } },
    el('h2', {}, kindText(kind)), state,
    field('Subject', subject, 'One line, at most 200 characters. A link or password may not be in the subject.'),
    field('Body', body, 'Plain text. Placeholders are written {{name}}; those this letter may use are listed below.'),
    el('div', { class: 'actions' }, previewBtn, save));
  const ph = table([
    { label: 'Placeholder', cell: (p) => el('code', {}, `{{${p.name}}}`) },
    { label: 'Stands for', cell: (p) => p.description },
    { label: 'Required', cell: (p) => (p.required ? 'Yes' : '') },
  ], letter.placeholders || [], { label: 'Placeholders', id: 'letter-placeholders', caption: 'Placeholders' });
  host.append(form, ph, previewHost);
}
