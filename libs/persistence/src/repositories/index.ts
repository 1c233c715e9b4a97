export * from './runs.repository';
export * from './destination-secrets';
