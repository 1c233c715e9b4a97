import { NotFoundException } from '@nestjs/common';
import type { Request } from 'express';
import { DomainError, ERROR_CODES } from '@pbx/contracts';
import { createLogger } from '@pbx/observability';
import { Writable } from 'node:stream';
import { ProblemDetailsFilter } from './problem-details.filter';
import { STATUS_OF } from './problem-details';

const req = { method: 'GET', path: '/api/v1/x', originalUrl: '/api/v1/x' } as Request;

describe('ProblemDetailsFilter', () => {
  const lines: string[] = [];
  const filter = new ProblemDetailsFilter(createLogger({ service: 't', destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) }));

  it('maps every DomainError code to a status', () => {
    for (const code of Object.values(ERROR_CODES)) {
      const p = filter.toProblem(new DomainError(code, 'm'), req);
      expect(p.status).toBe(STATUS_OF[code]);
      expect(p).toMatchObject({ type: expect.stringContaining('urn:pbx-backup:problem:'), title: expect.any(String), detail: 'm' });
    }
  });

  it('validation problems list the fields', () => {
    expect(filter.toProblem(new DomainError('validation', 'bad', [{ field: 'name', message: 'is required' }]), req)).toMatchObject({
      status: 400,
      errors: [{ field: 'name', message: 'is required' }],
    });
  });

  it('keeps HttpException statuses', () => {
    expect(filter.toProblem(new NotFoundException(), req).status).toBe(404);
  });

  it('unknown errors → 500 without internals in the body', () => {
    const p = filter.toProblem(new Error('connection to db-secret-host:5432 refused'), req);
    expect(p.status).toBe(500);
    expect(JSON.stringify(p)).not.toContain('db-secret-host');
    expect(lines.join('')).toContain('unhandled error');
  });
});
