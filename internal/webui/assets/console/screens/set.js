// #/sets/<id>: one set's page, which sets.js draws with the list.
export { render } from './sets.js';
