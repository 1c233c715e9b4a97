export * from './schedule';
export * from './runs';
export * from './language';
export * from './delivery-codes';
export * from './fields';
export * from './destinations';
export * from './encryption';
export * from './verification';
