export * from './lock.errors';
export {
  MaintenanceLock,
  MaintenanceLease,
  MAINTENANCE_LOCK_KEY,
  type MaintenanceLockOptions,
  type AcquireOptions,
  type AcquireResult,
  type ExclusiveResult,
  type LockLogger,
} from './maintenance-lock';
