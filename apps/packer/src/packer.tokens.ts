export const PBX_SOURCE = Symbol('PBX_SOURCE');
export const MAINTENANCE_LOCK = Symbol('MAINTENANCE_LOCK');
export const SECRET_BOX = Symbol('SECRET_BOX');
export const RESTORE_ENGINE = Symbol('RESTORE_ENGINE');
export const RESTORE_TARGET = Symbol('RESTORE_TARGET');
