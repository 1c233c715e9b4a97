// The paging rule lives with the services the api shares with the ops CLI.
export { offsetOf, pageOf, type Page } from '@pbx/ops';
