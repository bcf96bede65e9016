// My account: who the library knows me as.
import { el, heading, fmtDate } from '../shared/ui.js';

export async function render(root, params, ctx) {
  const res = await ctx.reload();
  const u = res.ok ? res.body : ctx.me;
  heading(root, 'My account');
  const facts = el('dl', { class: 'facts', id: 'account-facts' });
  const fact = (label, value, test) => facts.append(el('dt', {}, label), el('dd', { 'data-test': test }, value || '—'));
  fact('Username', u.username, 'username');
  fact('Library card barcode', u.barcode || 'none on file', 'barcode');
  fact('E-mail address', u.email || 'none on file: ask the library to add one, so you can reset a forgotten password', 'email');
  fact('Library code', u.tenant, 'tenant');
  if (u.lastLoginAt) fact('Last sign-in', fmtDate(u.lastLoginAt), 'last-login');
  root.append(facts,
    el('p', { class: 'hint' }, 'To change your e-mail address or card, contact the library.'),
    el('h2', {}, 'What you can do here'),
    el('ul', { class: 'links' },
      el('li', {}, el('a', { href: '#/loans' }, 'See and renew checkouts, manage holds')),
      el('li', {}, el('a', { href: '#/connected' }, 'Connect a family member\'s account')),
      el('li', {}, el('a', { href: '#/password' }, 'Change your password')),
      el('li', {}, el('a', { href: '#/activity' }, 'See what was done on your account'))));
}
