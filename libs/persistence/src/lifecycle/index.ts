export * from './run-lifecycle';
export * from './run-lifecycle.repository';
export * from './run-transitions';
export * from './progress-throttle';
export * from './cancel-watch';
