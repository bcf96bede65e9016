// The console's sign-in: the shared form, for staff.
import { renderSignIn } from '../shared/signin.js';

// render(stage, {message}, ctx, onSignedIn): message is 'change' (signed in,
// but the password must be changed first) or 'not-staff'.
export async function render(stage, params, ctx, onSignedIn) {
  await renderSignIn(stage, {
    title: 'Staff sign-in',
    message: params && params.message,
    notAllowed: 'This account is not a library staff account: the staff console is for staff. Patrons sign in to "My library account".',
  }, onSignedIn);
}
