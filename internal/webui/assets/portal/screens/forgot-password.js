// Forgot password: a link to choose a new one goes to the account's e-mail.
import { renderRecovery } from './recovery.js';

export async function render(root) {
  renderRecovery(root, {
    id: 'forgot-password', title: 'Forgot your password?', path: '/v1/auth/forgot-password', key: 'identifier',
    intro: 'We will e-mail a link to choose a new password to the address the library has for your account.',
    label: 'Username, card barcode or e-mail address', autocomplete: 'username',
  });
}
