/**
 * The ops CLI as an operator runs it (the built dist/scripts/ops.js): tokens are created with
 * a role, listed with it, revoked, and each change is in the audit trail as the CLI's user.
 */
import { spawnSync } from 'node:child_process';
import { Client } from 'pg';
import { testUrls } from '@pbx/testing';
import { createE2eEnv, type E2eEnv } from './e2e-env';

describe('ops CLI: tokens with roles, audited', () => {
  let e: E2eEnv;
  let db: Client;

  const ops = (...args: string[]) => {
    const res = spawnSync(process.execPath, ['dist/scripts/ops.js', ...args], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', USER: 'e2e-operator', DATABASE_URL: testUrls.database, DATABASE_SCHEMA: e.schema, LOG_LEVEL: 'warn' },
    });
    return { code: res.status, out: res.stdout, err: res.stderr };
  };

  beforeAll(async () => {
    e = await createE2eEnv('ops');
    db = new Client({ connectionString: testUrls.database });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await e?.teardown();
  });

  it('creates a token with a role (printed once, stored hashed), lists it with its role, revokes it; both changes are audited', async () => {
    const created = ops('tokens', 'create', 'nightly-reader', '--role', 'viewer');
    expect(created).toMatchObject({ code: 0 });
    const token = created.out.trim().split('\n').pop() as string;
    expect(token).toMatch(/^pbx_[A-Za-z0-9_-]{40,}$/);
    const { rows } = await db.query(`SELECT id, role, token_hash FROM "${e.schema}".api_tokens WHERE name = 'nightly-reader'`);
    expect(rows).toEqual([{ id: expect.any(String), role: 'viewer', token_hash: expect.stringMatching(/^[0-9a-f]{64}$/) }]);

    const list = ops('tokens', 'list');
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/nightly-reader\s+viewer/);
    expect(list.out).not.toContain(token);

    expect(ops('tokens', 'revoke', 'nightly-reader')).toMatchObject({ code: 0 });
    const audit = await db.query(`SELECT action, token_name, target_id, outcome, detail FROM "${e.schema}".audit_events ORDER BY at`);
    expect(audit.rows).toEqual([
      { action: 'token.create', token_name: 'cli:e2e-operator', target_id: rows[0].id, outcome: 'ok', detail: { name: 'nightly-reader', role: 'viewer' } },
      { action: 'token.revoke', token_name: 'cli:e2e-operator', target_id: rows[0].id, outcome: 'ok', detail: { name: 'nightly-reader', role: 'viewer' } },
    ]);
  });

  it('a token needs a known role: no --role is a usage error (64), an unknown one is refused; nothing is stored', async () => {
    expect(ops('tokens', 'create', 'no-role')).toMatchObject({ code: 64, err: expect.stringContaining('--role') });
    expect(ops('tokens', 'create', 'too-mighty', '--role', 'root')).toMatchObject({ code: 1, err: expect.stringContaining('role: must be one of admin, operator, viewer') });
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM "${e.schema}".api_tokens WHERE name IN ('no-role', 'too-mighty')`);
    expect(rows[0].n).toBe(0);
  });

  it('--help prints the usage and exits 0 (with no environment); an unknown command is still a usage error (64)', () => {
    for (const help of ['--help', '-h', 'help']) {
      const res = spawnSync(process.execPath, ['dist/scripts/ops.js', help], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
      expect({ code: res.status, out: res.stdout }).toEqual({ code: 0, out: expect.stringContaining('usage: npm run ops') });
    }
    expect(ops('frobnicate')).toMatchObject({ code: 64, err: expect.stringContaining('usage: npm run ops') });
  });

  it('pbx:seed: -h prints the usage; seeding a PBX that has data says to pass --reset', () => {
    const seed = (...args: string[]) =>
      spawnSync(process.execPath, ['dist/scripts/pbx-seed.js', '--database-url', testUrls.database, '--schema', e.pbxSchema, '--data-dir', `${e.dir}/seeded`, ...args], { encoding: 'utf8' });
    const help = spawnSync(process.execPath, ['dist/scripts/pbx-seed.js', '-h'], { encoding: 'utf8' });
    expect({ code: help.status, out: help.stdout }).toEqual({ code: 0, out: expect.stringContaining('--reset') });
    const tiny = ['--users', '2', '--cdr', '5', '--voicemails', '0', '--announcements', '0'];
    expect(seed(...tiny).status).toBe(0);
    expect(seed(...tiny)).toMatchObject({ status: 1, stderr: expect.stringContaining('the PBX already has data: pass --reset to replace it') });
    expect(seed(...tiny, '--reset').status).toBe(0);
    expect(seed('stray')).toMatchObject({ status: 64, stderr: expect.stringContaining('usage: npm run pbx:seed') });
  });
});
