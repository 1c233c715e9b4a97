export * from './runs.repository';
