export { DESTINATION_REGISTRY } from '@pbx/destinations';
export const SECRET_BOX = Symbol('SECRET_BOX');
