export * from './delivery-codes';
export * from './document';
export * from './format';
export * from './run-report.template';
export * from './stale-alert.template';
export * from './verification-alert.template';
export * from './restore-report.template';
export * from './webhook-bodies';
