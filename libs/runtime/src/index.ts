export * from './bootstrap';
export * from './core.module';
export * from './health.service';
export * from './tokens';
export * from './factories';
export * from './public-route.decorator';
export * from './state-metrics';
export * from './lifecycle-metrics';
