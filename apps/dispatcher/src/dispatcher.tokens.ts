export const DESTINATIONS = Symbol('DESTINATIONS');
export const SECRET_BOX = Symbol('SECRET_BOX');
