import { Controller, Get, Post } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { Public } from '@pbx/runtime';
import { RequirePermission } from './access.decorators';
import { RouteAccessCheck } from './route-access.check';

@Controller('open')
class Covered {
  @Get()
  @Public()
  health(): string {
    return 'ok';
  }

  @Post()
  @RequirePermission('runs.start')
  start(): string {
    return 'started';
  }

  /** Not a route: needs no metadata. */
  helper(): string {
    return 'x';
  }
}

@Controller('forgotten')
class Forgotten {
  @Get()
  @RequirePermission('runs.read')
  list(): string[] {
    return [];
  }

  @Post()
  create(): string {
    return 'created';
  }
}

@Public()
@Controller('all-open')
class OpenController {
  @Get()
  anything(): string {
    return 'ok';
  }
}

const boot = (...controllers: Array<new () => unknown>) =>
  Test.createTestingModule({ imports: [DiscoveryModule], controllers, providers: [RouteAccessCheck] })
    .compile()
    .then((m) => m.init());

describe('RouteAccessCheck', () => {
  it('boots when every route is public or names a permission (method or controller level)', async () => {
    await expect(boot(Covered, OpenController)).resolves.toBeDefined();
  });

  it('refuses to boot with a route that has neither, naming it', async () => {
    await expect(boot(Covered, Forgotten)).rejects.toThrow('routes without @Public() or @RequirePermission(): Forgotten.create');
  });
});
