export * from './eventually';
export * from './isolation';
export * from './peers';
export * from './amqp';
export * from './database';
export * from './dropbox-fake';
export * from './app-env';
export * from './query-plan';
