// Forgot username: the usernames at an address go to that address.
import { renderRecovery } from './recovery.js';

export async function render(root) {
  renderRecovery(root, {
    id: 'forgot-username', title: 'Forgot your username?', path: '/v1/auth/forgot-username', key: 'email',
    intro: 'We will e-mail the usernames of the accounts at this address, each with the end of its card barcode.',
    label: 'E-mail address', type: 'email', autocomplete: 'email',
  });
}
