// My activity: what was done on my account, and by whom (a linked account
// renewing for me shows here).
import { api, errorMessage } from '../shared/api.js';
import { el, bar, heading, table, fmtDate } from '../shared/ui.js';

export async function render(root) {
  heading(root, 'Activity on my account');
  const res = await api('GET', '/v1/me/activity');
  if (!res.ok) { bar('error', errorMessage(res)); return; }
  const list = res.body.activity || [];
  if (!list.length) { root.append(el('p', { id: 'activity-empty' }, 'Nothing has been done on your account yet.')); return; }
  root.append(table([
    { label: 'When', cell: (a) => fmtDate(a.at) },
    { label: 'Who', cell: (a) => (a.byMe ? 'You' : a.by) },
    { label: 'What', cell: (a) => a.action },
    { label: 'On', cell: (a) => a.subject || '' },
  ], list, { id: 'activity', label: 'Activity on my account' }));
}
