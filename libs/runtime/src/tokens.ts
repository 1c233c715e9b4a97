/** Injection tokens of the app shell. */
export const APP_ENV = Symbol('APP_ENV');
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');
export const REDIS = Symbol('REDIS');
