import { SetMetadata } from '@nestjs/common';

/** Route metadata key: the route answers without a token (health, metrics). */
export const PUBLIC_ROUTE = 'pbx:public-route';

/**
 * Marks a route (or a controller) as open to everyone. The api's access guard denies every
 * route that has neither this nor a permission: access is decided by metadata, never by path.
 */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE, true);
