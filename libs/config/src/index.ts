export * from './env';
export * from './deployment';
