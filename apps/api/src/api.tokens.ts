/** Injection tokens of the api. */
export const SECRET_BOX = Symbol('SECRET_BOX');
export { DESTINATION_REGISTRY } from '@pbx/destinations';
export const DROPBOX_CODE_EXCHANGE = Symbol('DROPBOX_CODE_EXCHANGE');
export const DROPBOX_AUTHORIZE_URL = Symbol('DROPBOX_AUTHORIZE_URL');
export const ADMIN_TOKEN = Symbol('ADMIN_TOKEN');

/** The PBX's time zone (DEFAULT_TIMEZONE): a new configuration's default, shown by the admin UI. */
export const DEFAULT_TIMEZONE = Symbol('DEFAULT_TIMEZONE');
