// Operator services shared by the api (behind its controllers and guards) and the ops CLI:
// API tokens, the audit trail, dead letters, secret re-sealing, uploads for restores.
export * from './api-tokens.repository';
export * from './api-tokens.service';
export * from './audit.repository';
export * from './audit.service';
export * from './dead-letters.repository';
export * from './dead-letters.service';
export * from './ids';
export * from './pagination';
export * from './secrets.repository';
export * from './secrets-reseal.service';
export * from './upload-store';
