// Small DOM builders. Nothing here parses HTML: API data only ever reaches
// the page as text nodes, so a name like "<img onerror=…>" stays a name.

let ids = 0;
export function uid(prefix = 'f') { ids += 1; return `${prefix}-${ids}`; }

// el(tag, attrs, ...children): attrs.on = {event: handler}; class, for,
// aria-*, data-* and boolean properties (checked, disabled, …) as given.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'on') {
      for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
    } else if (k === 'class') {
      node.className = v;
    } else if (k === 'for') {
      node.htmlFor = v;
    } else if (k === 'value' || k === 'checked' || k === 'selected' || k === 'disabled' || k === 'hidden' || k === 'required' || k === 'multiple') {
      node[k] = v;
    } else {
      node.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

// bar shows the green (ok), red (error) or neutral (info) message bar at the
// top of the page, as the library portals staff know do; role=alert makes a
// screen reader announce a failure at once.
export function bar(kind, message) {
  const host = document.getElementById('bars');
  if (!host) return;
  clear(host);
  if (!message) return;
  const b = el('div', { class: `bar bar-${kind}`, role: kind === 'error' ? 'alert' : 'status', 'data-test': `bar-${kind}` },
    el('span', { class: 'bar-text' }, message),
    el('button', { type: 'button', class: 'bar-close', 'aria-label': 'Dismiss message', on: { click: () => clear(host) } }, '×'));
  host.append(b);
  if (kind === 'error') b.focus?.();
}

// field wraps a control with its label (and an optional hint) and gives
// the control an id when it has none.
export function field(label, control, hint) {
  if (!control.id) control.id = uid('f');
  const parts = [el('label', { for: control.id }, label), control];
  if (hint) {
    const hid = uid('h');
    control.setAttribute('aria-describedby', hid);
    parts.push(el('p', { class: 'hint', id: hid }, hint));
  }
  return el('div', { class: 'field' }, ...parts);
}

export function input(attrs = {}) { return el('input', { type: 'text', ...attrs }); }

export function select(options, attrs = {}) {
  const s = el('select', attrs);
  for (const o of options) {
    const [value, label] = Array.isArray(o) ? o : [o, o];
    s.append(el('option', { value, selected: attrs.value === value }, label));
  }
  if (attrs.value !== undefined) s.value = attrs.value;
  return s;
}

export function button(label, onClick, attrs = {}) {
  return el('button', { type: 'button', ...attrs, on: { click: onClick, ...(attrs.on || {}) } }, label);
}

// busy disables the button while fn runs, so a double click is one request.
export async function busy(btn, fn) {
  if (btn.disabled) return undefined;
  btn.disabled = true;
  btn.setAttribute('aria-busy', 'true');
  try { return await fn(); } finally { btn.disabled = false; btn.removeAttribute('aria-busy'); }
}

// table(columns, rows): columns = [{label, cell(row) → Node|string}]; the
// wrapper scrolls sideways on a narrow screen instead of the page.
export function table(columns, rows, attrs = {}) {
  const head = el('tr', {}, columns.map((c) => el('th', { scope: 'col' }, c.label)));
  const body = rows.map((r) => el('tr', {}, columns.map((c) => el('td', {}, c.cell(r)))));
  return el('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': attrs.label || 'table' },
    el('table', attrs.id ? { id: attrs.id } : {}, attrs.caption ? el('caption', {}, attrs.caption) : null, el('thead', {}, head), el('tbody', {}, body)));
}

// confirmDialog asks in a modal <dialog> (focus trapped, Escape cancels) and
// resolves with the chosen action's value, or null when cancelled.
// actions = [{label, value, kind: 'danger'|'primary'|undefined}]
export function confirmDialog(title, message, actions) {
  return new Promise((resolve) => {
    const titleId = uid('dlg');
    const d = el('dialog', { class: 'dialog', 'aria-labelledby': titleId, 'data-test': 'dialog' });
    const done = (v) => { d.close(); d.remove(); resolve(v); };
    d.append(
      el('h2', { id: titleId }, title),
      el('p', {}, message),
      el('div', { class: 'actions' },
        actions.map((a) => button(a.label, () => done(a.value), { class: a.kind ? `btn-${a.kind}` : '', 'data-test': `dialog-${a.value}` })),
        button('Cancel', () => done(null), { 'data-test': 'dialog-cancel' })),
    );
    d.addEventListener('cancel', (e) => { e.preventDefault(); done(null); });
    document.body.append(d);
    d.showModal();
  });
}

export function download(filename, blob) {
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

export function fmtDate(s) {
  if (!s) return '';
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) return String(s);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

// heading sets the page's h1 and the document title together, and moves
// focus there so a keyboard or screen reader user lands on the new screen.
export function heading(root, text) {
  const h = el('h1', { tabindex: '-1', id: 'page-title' }, text);
  root.append(h);
  document.title = `${text} · ${document.body.dataset.app || 'Library accounts'}`;
  h.focus({ preventScroll: true });
  return h;
}

export function form(onSubmit, ...children) {
  const f = el('form', { novalidate: true, on: { submit: (e) => { e.preventDefault(); onSubmit(e, f); } } }, ...children);
  return f;
}
