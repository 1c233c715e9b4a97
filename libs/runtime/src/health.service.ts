import { Inject, Injectable } from '@nestjs/common';
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

const timeout = <T>(p: Promise<T>, ms: number): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);

async function probe(fn: () => Promise<unknown>): Promise<DependencyHealth> {
  const started = Date.now();
  try {
    await timeout(fn(), 2000);
    return { up: true, latencyMs: Date.now() - started };
  } catch (err) {
    return { up: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/** Reachability of Postgres, RabbitMQ and Redis, as every app sees them. */
@Injectable()
export class HealthService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly amqp: AmqpConnection,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject('SERVICE_NAME') private readonly service: string,
  ) {}

  async check(): Promise<HealthReport> {
    const [postgres, redis] = await Promise.all([probe(() => this.dataSource.query('SELECT 1')), probe(() => this.redis.ping())]);
    const rabbitmq: DependencyHealth = this.amqp.isConnected() ? { up: true } : { up: false, error: 'not connected (reconnecting)' };
    const up = postgres.up && redis.up && rabbitmq.up;
    return { status: up ? 'ok' : 'degraded', service: this.service, uptimeS: Math.round(process.uptime()), checks: { postgres, rabbitmq, redis } };
  }
}
