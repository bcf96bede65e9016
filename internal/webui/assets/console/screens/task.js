// #/tasks/<id>: one job's page, which tasks.js draws with the list.
export { render } from './tasks.js';
