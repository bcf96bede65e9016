// Checkouts and holds: mine, and those of every account I manage. A linked
// holder may renew, cancel, change pickup and suspend for the other account,
// but never borrow or request for it: that fence is shown, not hidden.
import { api, errorMessage } from '../shared/api.js';
import { el, bar, clear, field, input, form, heading, busy, button, confirmDialog, fmtDate } from '../shared/ui.js';

const holdStatus = { pending: 'Waiting in the queue', in_transit: 'On its way to the pickup location', ready: 'Ready to pick up', finished: 'Finished' };

function fmtDay(s) {
  if (!s) return '';
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) return String(s);
  return d.toLocaleDateString(undefined, { dateStyle: 'medium' });
}

export async function render(root, params, ctx) {
  heading(root, 'Checkouts and holds');
  const links = await api('GET', '/v1/me/links');
  if (!links.ok) bar('error', errorMessage(links));
  const managed = links.ok ? (links.body.manages || []).filter((l) => l.active && l.iManage) : [];
  const accounts = [{ id: 'me', key: 'me', name: ctx.me.username, mine: true },
    ...managed.map((l) => ({ id: l.account.id, key: l.account.username, name: l.account.username, mine: false }))];
  if (managed.length) {
    root.append(el('nav', { 'aria-label': 'Accounts on this page' }, el('ul', { class: 'links' },
      accounts.map((a) => el('li', {}, el('a', { href: `#/loans`, 'data-jump': `acct-${a.key}`, on: { click: (e) => { e.preventDefault(); document.getElementById(`acct-${a.key}`)?.scrollIntoView(); document.getElementById(`acct-h-${a.key}`)?.focus(); } } },
        a.mine ? 'My account' : a.name))))));
  }
  const sections = accounts.map((a) => {
    const sec = el('section', { class: 'account-loans', id: `acct-${a.key}`, 'data-test': `account-${a.key}`, 'aria-labelledby': `acct-h-${a.key}` });
    root.append(sec);
    return renderAccount(sec, a);
  });
  await Promise.all(sections);
}

async function renderAccount(sec, a) {
  const [co, ho] = await Promise.all([
    api('GET', `/v1/patrons/${encodeURIComponent(a.id)}/checkouts`),
    api('GET', `/v1/patrons/${encodeURIComponent(a.id)}/holds`),
  ]);
  clear(sec);
  const again = () => renderAccount(sec, a);
  sec.append(el('h2', { id: `acct-h-${a.key}`, tabindex: '-1' }, a.mine ? 'My checkouts and holds' : `${a.name}'s checkouts and holds`));
  if (!a.mine) {
    sec.append(el('p', { class: 'fence', 'data-test': 'fence' },
      `You can renew ${a.name}'s checkouts and manage ${a.name}'s holds here. To borrow or place a request for ${a.name}, sign in to that account.`));
  }
  sec.append(el('h3', {}, 'Checkouts'));
  if (!co.ok) sec.append(el('p', { class: 'bar bar-error', role: 'alert' }, errorMessage(co)));
  else if (!co.body.checkouts.length) sec.append(el('p', { 'data-test': 'no-checkouts' }, 'Nothing checked out.'));
  else sec.append(el('ul', { class: 'items', 'data-test': 'checkouts' }, co.body.checkouts.map((c) => checkoutItem(a, c, again))));

  sec.append(el('h3', {}, 'Holds'));
  if (!ho.ok) sec.append(el('p', { class: 'bar bar-error', role: 'alert' }, errorMessage(ho)));
  else if (!ho.body.holds.length) sec.append(el('p', { 'data-test': 'no-holds' }, 'No holds.'));
  else sec.append(el('ul', { class: 'items', 'data-test': 'holds' }, ho.body.holds.map((h) => holdItem(a, h, again))));

  if (a.mine) sec.append(placeHoldForm(a, again));
}

function checkoutItem(a, c, again) {
  const facts = el('dl', { class: 'facts' },
    el('dt', {}, 'Due'), el('dd', { 'data-test': 'due' }, fmtDay(c.dueAt)),
    el('dt', {}, 'Renewals'), el('dd', { 'data-test': 'renewals' }, `${c.renewalsUsed} of ${c.renewalsAllowed} used`));
  if (c.othersWaiting) facts.append(el('dt', {}, 'Others waiting'), el('dd', {}, String(c.othersWaiting)));
  if (c.itemBarcode) facts.append(el('dt', {}, 'Item'), el('dd', {}, c.itemBarcode));
  return el('li', { class: 'item', 'data-test': `loan-${c.id}` },
    el('h4', {}, c.title),
    facts,
    el('div', { class: 'actions' }, button('Renew', async (e) => {
      await busy(e.target, async () => {
        const r = await api('POST', `/v1/patrons/${encodeURIComponent(a.id)}/checkouts/${encodeURIComponent(c.id)}/renew`);
        if (!r.ok) { bar('error', errorMessage(r)); return; }
        await again();
        bar('ok', `Renewed "${r.body.title}"${a.mine ? '' : ` for ${a.name}`}: now due ${fmtDay(r.body.dueAt)}.`);
      });
    }, { 'data-test': 'renew', 'aria-label': `Renew ${c.title}` })));
}

function holdItem(a, h, again) {
  const facts = el('dl', { class: 'facts' },
    el('dt', {}, 'Status'), el('dd', { 'data-test': 'status' }, holdStatus[h.status] || h.status),
    el('dt', {}, 'Placed'), el('dd', {}, fmtDay(h.placedAt)));
  if (h.status === 'pending' && h.queuePosition) facts.append(el('dt', {}, 'Place in queue'), el('dd', {}, String(h.queuePosition)));
  facts.append(el('dt', {}, 'Pickup at'), el('dd', { 'data-test': 'pickup' }, h.pickupLocation || '—'));
  if (h.expiresAt) facts.append(el('dt', {}, 'Expires'), el('dd', {}, fmtDay(h.expiresAt)));
  if (h.suspendedUntil) facts.append(el('dt', {}, 'Suspended until'), el('dd', { 'data-test': 'suspended' }, fmtDay(h.suspendedUntil)));
  const li = el('li', { class: 'item', 'data-test': `hold-${h.id}` }, el('h4', {}, h.title), facts);
  if (h.status === 'finished') return li;

  const patch = async (btn, body, ok) => busy(btn, async () => {
    const r = await api('PATCH', `/v1/patrons/${encodeURIComponent(a.id)}/holds/${encodeURIComponent(h.id)}`, body);
    if (!r.ok) { bar('error', errorMessage(r)); return; }
    await again();
    bar('ok', ok(r.body));
  });
  const actions = el('div', { class: 'actions' });
  actions.append(button('Cancel hold', async (e) => {
    const who = a.mine ? '' : ` for ${a.name}`;
    const v = await confirmDialog(`Cancel the hold on "${h.title}"${who}?`, 'The place in the queue is lost; a new request starts at the end.', [{ label: 'Cancel hold', value: 'cancel-hold', kind: 'danger' }]);
    if (v !== 'cancel-hold') return;
    await busy(e.target, async () => {
      const r = await api('DELETE', `/v1/patrons/${encodeURIComponent(a.id)}/holds/${encodeURIComponent(h.id)}`);
      if (!r.ok) { bar('error', errorMessage(r)); return; }
      await again();
      bar('ok', `Cancelled the hold on "${h.title}"${who}.`);
    });
  }, { 'data-test': 'cancel', class: 'btn-danger' }));
  if (h.suspendedUntil) {
    actions.append(button('Resume', (e) => patch(e.target, { resume: true }, (b) => `The hold on "${b.title}" is active again.`), { 'data-test': 'resume' }));
  }
  li.append(actions);

  // Less common changes fold away so the list stays short on a phone.
  const pickup = input({ 'data-test': 'pickup-input', value: h.pickupLocation || '', autocomplete: 'off' });
  const pickupBtn = el('button', { type: 'submit', 'data-test': 'pickup-save' }, 'Change pickup');
  const pickupForm = form(() => {
    if (!pickup.value.trim()) { bar('error', 'Enter a pickup location.'); pickup.focus(); return; }
    patch(pickupBtn, { pickupLocation: pickup.value.trim() }, (b) => `The hold on "${b.title}" will be ready at ${b.pickupLocation}.`);
  }, field('New pickup location', pickup), el('div', { class: 'actions' }, pickupBtn));
  const until = input({ type: 'date', 'data-test': 'suspend-input' });
  const suspendBtn = el('button', { type: 'submit', 'data-test': 'suspend-save' }, 'Suspend');
  const suspendForm = form(() => {
    if (!until.value) { bar('error', 'Choose the date the hold should wait until.'); until.focus(); return; }
    // The end of the chosen day where the patron is.
    const at = new Date(`${until.value}T23:59:59`);
    if (Number.isNaN(at.getTime())) { bar('error', 'That is not a date.'); until.focus(); return; }
    patch(suspendBtn, { suspendUntil: at.toISOString() }, (b) => `The hold on "${b.title}" is suspended until ${fmtDay(b.suspendedUntil)}.`);
  }, field('Suspend until', until, 'The hold keeps its place but is not filled before this date.'), el('div', { class: 'actions' }, suspendBtn));
  li.append(el('details', { class: 'more' }, el('summary', { 'data-test': 'more' }, 'Change pickup or suspend'), pickupForm, h.status === 'pending' ? suspendForm : null));
  return li;
}

function placeHoldForm(a, again) {
  const title = input({ id: 'request-title', autocomplete: 'off' });
  const item = input({ id: 'request-item', autocomplete: 'off', spellcheck: 'false' });
  const pickup = input({ id: 'request-pickup', autocomplete: 'off' });
  const submit = el('button', { type: 'submit', id: 'request-submit' }, 'Place request');
  const f = form(async () => {
    if (!title.value.trim() || !pickup.value.trim()) { bar('error', 'Enter the title and the pickup location.'); (title.value.trim() ? pickup : title).focus(); return; }
    await busy(submit, async () => {
      const r = await api('POST', '/v1/patrons/me/holds', { title: title.value.trim(), itemBarcode: item.value.trim(), pickupLocation: pickup.value.trim() });
      if (!r.ok) { bar('error', errorMessage(r)); return; }
      await again();
      bar('ok', `Requested "${r.body.title}".`);
    });
  },
  field('Title', title),
  field('Item barcode', item, 'From the catalogue record, if you have it.'),
  field('Pickup location', pickup),
  el('div', { class: 'actions' }, submit));
  f.id = 'request-form';
  return el('details', { class: 'more' }, el('summary', { id: 'request-open' }, 'Place a request for myself'), f);
}
