import type { LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { currentCorrelationId } from './correlation';

/** Field names whose values never reach a log line, at any depth we log. */
export const REDACTED_KEYS = [
  'password',
  'privateKey',
  'passphrase',
  'authorizationCode',
  'refreshToken',
  'accessToken',
  'access_token',
  'refresh_token',
  'token',
  'secret',
  'authorization',
  'cookie',
  'SECRETS_KEY',
  'ADMIN_API_TOKEN',
  'secretAccessKey',
  'S3_SECRET_ACCESS_KEY',
];

const redactPaths = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`, `req.headers.${k}`]);

export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  service: string;
  level?: string;
  /** LOG_FORMAT; unset: pretty when writing to stdout and it is a terminal, JSON lines otherwise (log collectors). */
  format?: LogFormat;
  destination?: DestinationStream;
}

/**
 * JSON (or, for a terminal, pino-pretty) logs: service name in every line, the run id as
 * `correlationId`, secrets redacted — redaction happens before formatting, so in both.
 */
export function createLogger({ service, level = 'info', format, destination }: LoggerOptions): Logger {
  // A given destination is a program reading the lines (tests, collectors): JSON unless asked.
  const chosen = format ?? (destination === undefined && process.stdout.isTTY ? 'pretty' : 'json');
  // Synchronous, in this thread: a fatal line before process.exit is not lost in a worker.
  const out = chosen === 'pretty' ? pretty({ sync: true, destination: destination ?? 1, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' }) : destination;
  return pino(
    {
      level,
      base: { service },
      redact: { paths: redactPaths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: () => {
        const correlationId = currentCorrelationId();
        return correlationId ? { correlationId } : {};
      },
    },
    out,
  );
}

/** Adapts pino to Nest's LoggerService so framework messages are JSON lines too. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    this.write('info', message, context);
  }
  error(message: unknown, traceOrContext?: string, context?: string): void {
    const ctx = context ?? traceOrContext;
    const trace = context ? traceOrContext : undefined;
    if (message instanceof Error) this.logger.error({ err: message, context: ctx }, message.message);
    else this.logger.error({ context: ctx, trace }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.write('warn', message, context);
  }
  debug(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: string): void {
    this.write('trace', message, context);
  }

  private write(level: 'info' | 'warn' | 'debug' | 'trace', message: unknown, context?: string): void {
    if (typeof message === 'object' && message !== null) this.logger[level]({ context, ...message });
    else this.logger[level]({ context }, String(message));
  }
}
