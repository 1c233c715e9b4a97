import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { PATH_METADATA } from '@nestjs/common/constants';
import { PUBLIC_ROUTE } from '@pbx/runtime';
import { REQUIRED_PERMISSION } from './access.decorators';

/**
 * Boot fails when a route has neither `@Public()` nor `@RequirePermission()`: the guard
 * would deny it anyway, but a route nobody can reach is a mistake to catch before users do.
 */
@Injectable()
export class RouteAccessCheck implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    const missing = routesWithoutAccess(this.discovery, this.scanner, this.reflector);
    if (missing.length) throw new Error(`routes without @Public() or @RequirePermission(): ${missing.join(', ')}`);
  }
}

export function routesWithoutAccess(discovery: DiscoveryService, scanner: MetadataScanner, reflector: Reflector): string[] {
  const missing: string[] = [];
  for (const wrapper of discovery.getControllers()) {
    const instance = wrapper.instance as object | undefined;
    if (!instance) continue;
    const proto = Object.getPrototypeOf(instance) as Record<string, unknown>;
    const controller = instance.constructor;
    for (const name of scanner.getAllMethodNames(proto)) {
      const handler = proto[name] as (...args: unknown[]) => unknown;
      if (reflector.get(PATH_METADATA, handler) === undefined) continue; // not a route
      const open = reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [handler, controller]);
      const permission = reflector.getAllAndOverride<string>(REQUIRED_PERMISSION, [handler, controller]);
      if (!open && !permission) missing.push(`${controller.name}.${name}`);
    }
  }
  return missing;
}
