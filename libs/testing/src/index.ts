export * from './eventually';
export * from './isolation';
