export * from './runs.repository';
export * from './destination-secrets';
export * from './restores.repository';
