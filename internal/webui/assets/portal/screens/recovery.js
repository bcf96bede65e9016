// The two public "forgot" screens share one shape: a library code and one
// identifier, then the API's neutral answer (the same whether or not an
// account matched).
import { api, errorMessage } from '../shared/api.js';
import { el, bar, clear, field, input, form, heading, busy } from '../shared/ui.js';

const TENANT_KEY = 'libaccounts.libraryCode';

function rememberedTenant() {
  try { return localStorage.getItem(TENANT_KEY) || ''; } catch { return ''; }
}

function rememberTenant(t) {
  try { localStorage.setItem(TENANT_KEY, t); } catch { /* private mode: just not remembered */ }
}

// renderRecovery: o = {title, intro, path, key, label, hint, type, autocomplete, id}
export function renderRecovery(root, o) {
  heading(root, o.title);
  root.append(el('p', {}, o.intro));
  const tenant = input({ id: `${o.id}-tenant`, autocomplete: 'organization', autocapitalize: 'none', spellcheck: 'false', value: rememberedTenant() });
  const ident = input({ id: `${o.id}-identifier`, type: o.type || 'text', autocomplete: o.autocomplete, autocapitalize: 'none', spellcheck: 'false' });
  const submit = el('button', { type: 'submit', id: `${o.id}-submit` }, 'Send');
  const done = el('div', { id: `${o.id}-done`, hidden: true });
  const f = form(async () => {
    const t = tenant.value.trim();
    const v = ident.value.trim();
    if (!t) { bar('error', 'Enter your library code.'); tenant.focus(); return; }
    if (!v) { bar('error', `Enter your ${o.label.toLowerCase()}.`); ident.focus(); return; }
    await busy(submit, async () => {
      const res = await api('POST', o.path, { tenant: t, [o.key]: v }, { quiet401: true });
      if (!res.ok) { bar('error', errorMessage(res)); return; }
      rememberTenant(t);
      bar('ok', (res.body && res.body.message) || 'Request sent.');
      f.hidden = true;
      clear(done).append(
        el('p', {}, 'Look for the e-mail in your inbox (and in the spam folder). A link in it works for a limited time and only once.'),
        el('p', {}, el('a', { href: '#/account', id: `${o.id}-signin` }, 'Back to sign in')));
      done.hidden = false;
    });
  },
  field('Library code', tenant, 'The short code your library gave you, such as kpu.'),
  field(o.label, ident, o.hint),
  el('div', { class: 'actions' }, submit, el('a', { href: '#/account', class: 'button', id: `${o.id}-back` }, 'Back to sign in')));
  f.id = `${o.id}-form`;
  f.classList.add('signin');
  root.append(f, done);
  (tenant.value ? ident : tenant).focus();
}
