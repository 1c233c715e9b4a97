import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, type MicroserviceOptions } from '@nestjs/microservices';
import type { DataSource } from 'typeorm';
import { createLogger } from '@pbx/observability';
import type { AmqpConnection } from './amqp-connection';
import { AmqpServer } from './amqp.server';

// The server is never started here: only its handler check runs (no broker needed).
const server = () =>
  new AmqpServer({
    connection: {} as AmqpConnection,
    dataSource: {} as DataSource,
    logger: createLogger({ service: 'test', level: 'silent' }),
    options: { amqpUrl: 'amqp://x', namespace: '', prefetch: 1, retry: { maxAttempts: 1, initialDelayMs: 1 }, databaseSchema: 'public' },
    queues: ['packer.jobs.v1'],
  });

async function handlersOf(...controllers: (new () => object)[]): Promise<AmqpServer> {
  @Module({ controllers })
  class M {}
  const s = server();
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(M, { strategy: s, logger: false });
  // Nest registers @EventPattern handlers on the strategy when the app initialises.
  await app.init();
  return s;
}

/** Every type the packer's queue receives (libs/contracts wire names). */
@Controller()
class Both {
  @EventPattern('backup.due') a(): void {}
  @EventPattern('archive.due') b(): void {}
  @EventPattern('restore.requested') r(): void {}
}
@Controller()
class OnlyBackup {
  @EventPattern('backup.due') a(): void {}
}
@Controller()
class SecondBackup {
  @EventPattern('backup.due') again(): void {}
}
@Controller()
class Stray {
  @EventPattern('backup.packed') c(): void {}
}

describe('AmqpServer boot check: every consumed type has exactly one handler', () => {
  it('accepts a complete handler map', async () => {
    await expect(handlersOf(Both).then((s) => s.verifyHandlers())).resolves.toBeUndefined();
  });
  it('refuses a consumed type without a handler', async () => {
    await expect(handlersOf(OnlyBackup).then((s) => s.verifyHandlers())).rejects.toThrow('no handler for "archive.due"');
  });
  it('refuses two handlers for one type', async () => {
    await expect(handlersOf(Both, SecondBackup).then((s) => s.verifyHandlers())).rejects.toThrow('more than one handler for "backup.due"');
  });
  it('refuses a handler for a type no consumed queue receives', async () => {
    await expect(handlersOf(Both, Stray).then((s) => s.verifyHandlers())).rejects.toThrow('handler for "backup.packed" but this app consumes no queue');
  });
});
