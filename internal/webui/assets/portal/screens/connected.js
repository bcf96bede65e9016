// Connected accounts: share phrases I give out, connecting my account to
// someone's phrase, and the links both ways.
import { api, errorMessage } from '../shared/api.js';
import { el, bar, clear, field, input, form, heading, busy, button, confirmDialog, fmtDate } from '../shared/ui.js';

const directions = {
  one_way: 'One-way: you will manage the account that connects',
  two_way: 'Two-way: you manage each other (the other account manages yours once you confirm)',
};

export async function render(root, params, ctx) {
  heading(root, 'Connected accounts');
  root.append(el('p', {}, 'A parent can manage a child\'s checkouts and holds, or two family members each other\'s. ',
    'The person who will manage gets a share phrase here and gives it, with their card barcode, to the person whose account will connect.'));
  const phrases = el('section', { 'aria-labelledby': 'h-phrases', id: 'phrases' });
  const connect = el('section', { 'aria-labelledby': 'h-connect', id: 'connect' });
  const links = el('section', { 'aria-labelledby': 'h-links', id: 'links' });
  root.append(phrases, connect, links);
  const refresh = async () => { await Promise.all([renderPhrases(phrases, ctx, refresh), renderLinks(links, refresh)]); };
  renderConnect(connect, refresh);
  await refresh();
}

async function renderPhrases(sec, ctx, refresh) {
  const res = await api('GET', '/v1/me/share-phrases');
  const shown = sec.querySelector('#phrase-shown'); // a new phrase stays until the patron leaves
  clear(sec);
  sec.append(el('h2', { id: 'h-phrases' }, 'Get a share phrase'));
  sec.append(el('p', {}, 'Your card barcode: ', el('strong', { id: 'my-barcode' }, ctx.me.barcode || 'none on file (ask the library)')));
  const fs = el('fieldset', {}, el('legend', {}, 'Which way?'));
  for (const [value, label] of Object.entries(directions)) {
    const id = `direction-${value}`;
    fs.append(el('div', { class: 'check' },
      el('input', { type: 'radio', name: 'direction', id, value, checked: value === 'one_way' }),
      el('label', { for: id }, label)));
  }
  const get = el('button', { type: 'submit', id: 'phrase-get' }, 'Get share phrase');
  const f = form(async () => {
    const dir = f.querySelector('input[name=direction]:checked').value;
    await busy(get, async () => {
      const r = await api('POST', '/v1/me/share-phrases', { direction: dir });
      if (!r.ok) { bar('error', errorMessage(r)); return; }
      await refresh();
      showPhrase(sec, r.body);
      bar('ok', 'Here is your share phrase. It is shown only this once.');
    });
  }, fs, el('div', { class: 'actions' }, get));
  f.id = 'phrase-form';
  sec.append(f);
  if (shown) sec.append(shown);
  if (!res.ok) { bar('error', errorMessage(res)); return; }
  const list = res.body.sharePhrases || [];
  sec.append(el('h3', {}, 'Your active share phrases'));
  if (!list.length) { sec.append(el('p', { id: 'phrases-empty' }, 'None. A phrase stays usable until you revoke it.')); return; }
  sec.append(el('ul', { class: 'items', id: 'phrase-list' }, list.map((p) => el('li', { class: 'item', 'data-test': `phrase-${p.id}` },
    el('span', {}, `${p.direction === 'two_way' ? 'Two-way' : 'One-way'} phrase, made ${fmtDate(p.createdAt)} `),
    button('Revoke', async (e) => {
      const ok = await confirmDialog('Revoke this share phrase?', 'Nobody will be able to connect with it any more. Accounts already connected with it stay connected.', [{ label: 'Revoke', value: 'revoke', kind: 'danger' }]);
      if (ok !== 'revoke') return;
      await busy(e.target, async () => {
        const r = await api('DELETE', `/v1/me/share-phrases/${encodeURIComponent(p.id)}`);
        if (!r.ok) { bar('error', errorMessage(r)); return; }
        await refresh();
        bar('ok', 'The share phrase was revoked.');
      });
    }, { 'data-test': 'revoke' })))));
}

function showPhrase(sec, p) {
  const old = sec.querySelector('#phrase-shown');
  if (old) old.remove();
  const text = el('p', { class: 'phrase', id: 'phrase-text' }, p.phrase);
  const status = el('span', { role: 'status', id: 'phrase-copied' });
  const box = el('div', { class: 'panel', id: 'phrase-shown' },
    el('h3', {}, p.direction === 'two_way' ? 'Your two-way share phrase' : 'Your one-way share phrase'),
    text,
    el('div', { class: 'actions' },
      button('Copy', async () => {
        try {
          await navigator.clipboard.writeText(p.phrase);
          status.textContent = 'Copied.';
        } catch {
          status.textContent = 'This browser would not copy it: select the words and copy them yourself.';
        }
      }, { id: 'phrase-copy' }),
      status),
    el('p', { class: 'hint', id: 'phrase-note' }, p.note || ''));
  const anchor = sec.querySelector('#phrase-form');
  anchor.after(box);
}

function renderConnect(sec, refresh) {
  sec.append(el('h2', { id: 'h-connect' }, 'Connect my account to someone who will manage it'),
    el('p', {}, 'Enter the card barcode and the share phrase the other person gave you. They will then see and renew your checkouts and manage your holds.'));
  const barcode = input({ id: 'connect-barcode', autocomplete: 'off', inputmode: 'numeric', spellcheck: 'false' });
  const phrase = input({ id: 'connect-phrase', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false' });
  const submit = el('button', { type: 'submit', id: 'connect-submit' }, 'Connect account');
  const f = form(async () => {
    if (!barcode.value.trim() || !phrase.value.trim()) { bar('error', 'Enter both the card barcode and the share phrase.'); (barcode.value.trim() ? phrase : barcode).focus(); return; }
    await busy(submit, async () => {
      const r = await api('POST', '/v1/me/links', { barcode: barcode.value.trim(), phrase: phrase.value });
      if (!r.ok) { bar('error', errorMessage(r)); return; }
      barcode.value = ''; phrase.value = '';
      const who = r.body.account ? r.body.account.username : 'the other account';
      await refresh();
      bar('ok', `Connected: ${who} can now manage your account.${r.body.note ? ' ' + r.body.note : ''}`);
    });
  },
  field('Their card barcode', barcode),
  field('Share phrase', phrase, 'Six words; capitals and spacing do not matter.'),
  el('div', { class: 'actions' }, submit));
  f.id = 'connect-form';
  sec.append(f);
}

async function renderLinks(sec, refresh) {
  const res = await api('GET', '/v1/me/links');
  clear(sec);
  sec.append(el('h2', { id: 'h-links' }, 'Connections'));
  if (!res.ok) { bar('error', errorMessage(res)); return; }
  const { manages = [], managedBy = [] } = res.body;
  sec.append(el('h3', {}, 'Accounts I manage'), linkList(manages, 'manages', refresh),
    el('h3', {}, 'Accounts that manage mine'), linkList(managedBy, 'managed-by', refresh));
}

function linkList(list, kind, refresh) {
  if (!list.length) return el('p', { 'data-test': `${kind}-empty` }, 'None.');
  return el('ul', { class: 'items', 'data-test': kind }, list.map((l) => {
    const state = !l.active ? 'Not active (an account was deactivated or the library turned linking off)'
      : l.awaitingConfirmation ? 'Awaiting confirmation' : 'Active';
    const actions = el('div', { class: 'actions' });
    // Only the phrase's owner can confirm, and the owner is the side that
    // already manages while it waits.
    if (l.awaitingConfirmation && l.iManage) {
      actions.append(button('Confirm', async (e) => {
        await busy(e.target, async () => {
          const r = await api('POST', `/v1/me/links/${encodeURIComponent(l.id)}/confirm`);
          if (!r.ok) { bar('error', errorMessage(r)); return; }
          await refresh();
          bar('ok', `Confirmed: ${l.account.username} can now manage your account too.`);
        });
      }, { 'data-test': 'confirm', class: 'btn-primary' }));
    }
    actions.append(button('Unlink', async (e) => {
      const ok = await confirmDialog(`Unlink ${l.account.username}?`, 'Neither account will manage the other any more. Both get an e-mail saying so.', [{ label: 'Unlink', value: 'unlink', kind: 'danger' }]);
      if (ok !== 'unlink') return;
      await busy(e.target, async () => {
        const r = await api('DELETE', `/v1/me/links/${encodeURIComponent(l.id)}`);
        if (!r.ok) { bar('error', errorMessage(r)); return; }
        await refresh();
        bar('ok', `Unlinked ${l.account.username}.`);
      });
    }, { 'data-test': 'unlink' }));
    return el('li', { class: 'item', 'data-test': `link-${l.account.username}` },
      el('h4', {}, l.account.username, ' ', el('span', { class: 'muted' }, `card ${l.account.barcode}`)),
      el('p', {}, `${l.direction === 'two_way' ? 'Two-way' : 'One-way'} · since ${fmtDate(l.since)} · `, el('strong', { 'data-test': 'state' }, state)),
      l.note ? el('p', { class: 'hint' }, l.note.replace(/ \(POST [^)]*\)/, '')) : null,
      actions);
  }));
}
