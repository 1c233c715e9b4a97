export * from './age-file';
