import { TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { AmqpConnection } from '@pbx/messaging';
import { HealthService } from './health.service';
import { REDIS } from './tokens';

async function health(deps: { query: () => Promise<unknown>; connected: boolean; ping: () => Promise<unknown> }): Promise<HealthService> {
  const moduleRef = await Test.createTestingModule({
    imports: [TerminusModule.forRoot({ logger: false })],
    providers: [
      HealthService,
      { provide: DataSource, useValue: { query: deps.query } },
      { provide: AmqpConnection, useValue: { isConnected: () => deps.connected } },
      { provide: REDIS, useValue: { ping: deps.ping } },
      { provide: 'SERVICE_NAME', useValue: 'probe' },
    ],
  }).compile();
  return moduleRef.get(HealthService);
}

describe('HealthService (terminus)', () => {
  it('reports ok with every dependency up, with latencies', async () => {
    const service = await health({ query: async () => [{ '?column?': 1 }], connected: true, ping: async () => 'PONG' });
    expect(await service.check()).toEqual({
      status: 'ok',
      service: 'probe',
      uptimeS: expect.any(Number),
      checks: { postgres: { up: true, latencyMs: expect.any(Number) }, rabbitmq: { up: true }, redis: { up: true, latencyMs: expect.any(Number) } },
    });
  });

  it('reports degraded naming what is down, and the others still up', async () => {
    const service = await health({ query: async () => Promise.reject(new Error('connection refused')), connected: false, ping: async () => 'PONG' });
    const report = await service.check();
    expect(report.status).toBe('degraded');
    expect(report.checks).toEqual({
      postgres: { up: false, error: 'connection refused' },
      rabbitmq: { up: false, error: 'not connected (reconnecting)' },
      redis: { up: true, latencyMs: expect.any(Number) },
    });
  });
});
