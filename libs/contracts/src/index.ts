export * from './wire-names';
export * from './messages';
export * from './errors';
export * from './access';
export * from './canonical';
export * from './domain';
