import { Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckService, HealthIndicatorService, type HealthCheckResult, type HealthIndicatorResult } from '@nestjs/terminus';
import type Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { AmqpConnection } from '@pbx/messaging';
import { REDIS } from './tokens';

export interface DependencyHealth {
  up: boolean;
  latencyMs?: number;
  error?: string;
}
export interface HealthReport {
  status: 'ok' | 'degraded';
  service: string;
  uptimeS: number;
  checks: { postgres: DependencyHealth; rabbitmq: DependencyHealth; redis: DependencyHealth };
}
type Dependency = keyof HealthReport['checks'];

const PROBE_TIMEOUT_MS = 2000;

const timeout = <T>(p: Promise<T>, ms: number): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);

/**
 * Reachability of Postgres, RabbitMQ and Redis, as every app sees them: terminus runs the
 * three indicators; the report keeps this service's shape (`checks.<name>.up`, latency, error).
 */
@Injectable()
export class HealthService {
  constructor(
    private readonly terminus: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly dataSource: DataSource,
    private readonly amqp: AmqpConnection,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject('SERVICE_NAME') private readonly service: string,
  ) {}

  async check(): Promise<HealthReport> {
    const result = await this.terminus
      .check([
        () => this.probe('postgres', () => this.dataSource.query('SELECT 1')),
        () => this.probe('redis', () => this.redis.ping()),
        () => this.rabbitmq(),
      ])
      // terminus answers a failed check by throwing 503 with the same result inside.
      .catch((err: unknown) => {
        if (err instanceof ServiceUnavailableException) return err.getResponse() as HealthCheckResult;
        throw err;
      });
    const dependency = (name: Dependency): DependencyHealth => {
      const { status, ...rest } = result.details[name] ?? { status: 'down', error: 'not checked' };
      return { up: status === 'up', ...rest };
    };
    return {
      status: result.status === 'ok' ? 'ok' : 'degraded',
      service: this.service,
      uptimeS: Math.round(process.uptime()),
      checks: { postgres: dependency('postgres'), rabbitmq: dependency('rabbitmq'), redis: dependency('redis') },
    };
  }

  private async probe(name: Dependency, fn: () => Promise<unknown>): Promise<HealthIndicatorResult> {
    const session = this.indicators.check(name);
    const started = Date.now();
    try {
      await timeout(fn(), PROBE_TIMEOUT_MS);
      return session.up({ latencyMs: Date.now() - started });
    } catch (err) {
      return session.down({ error: err instanceof Error ? err.message : String(err) });
    }
  }

  // The connection manager knows without a round trip; it reconnects on its own.
  private rabbitmq(): HealthIndicatorResult {
    const session = this.indicators.check('rabbitmq');
    return this.amqp.isConnected() ? session.up() : session.down({ error: 'not connected (reconnecting)' });
  }
}
