export { DESTINATION_REGISTRY } from '@pbx/destinations';
export const SECRET_BOX = Symbol('SECRET_BOX');

/** The time the dispatcher judges upload windows by; tests move it (DispatcherModule.forRoot's `clock`). */
export const CLOCK = Symbol('CLOCK');
export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };
