import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { APP_NAMES, DEPLOYMENT_REQUIRED } from '@pbx/config';
import { METRICS } from '@pbx/observability';

// deploy/: the alert rules, the Grafana dashboard and the systemd units (docs/deploy.md).
// promtool (Debian's prometheus) and systemd-analyze are required in CI (.ci/run installs them).
const DEPLOY = join(__dirname, '..', 'deploy');
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const needs = (cmd: string) => (has(cmd) || process.env.CI ? it : it.skip);

/** Metric names a PromQL text uses: every pbx_backup_* identifier, histogram suffixes removed. */
function metricNames(text: string): string[] {
  return [...new Set([...text.matchAll(/\bpbx_backup_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, '')))];
}

describe('deploy/prometheus', () => {
  needs('promtool')('promtool checks the alert rules and their unit tests pass', () => {
    for (const args of [['check', 'rules', 'pbx-backup.rules.yml'], ['test', 'rules', 'pbx-backup.rules.test.yml'], ['check', 'config', 'prometheus.yml']]) {
      const res = spawnSync('promtool', args, { cwd: join(DEPLOY, 'prometheus'), encoding: 'utf8' });
      expect({ args, status: res.status, out: res.status === 0 ? '' : res.stdout + res.stderr }).toEqual({ args, status: 0, out: '' });
    }
  });

  it('the rules and the dashboard name only metrics that exist (libs/observability METRICS)', () => {
    const known = new Set<string>(Object.values(METRICS));
    const rules = metricNames(readFileSync(join(DEPLOY, 'prometheus', 'pbx-backup.rules.yml'), 'utf8'));
    const dashboard = JSON.parse(readFileSync(join(DEPLOY, 'grafana', 'pbx-backup.json'), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
    const queried = metricNames(dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n'));
    expect(rules.length).toBeGreaterThan(4);
    expect(queried.length).toBeGreaterThan(10);
    expect([...rules, ...queried].filter((n) => !known.has(n))).toEqual([]);
  });
});

describe('deploy/systemd', () => {
  const dir = join(DEPLOY, 'systemd');
  const units = readdirSync(dir).filter((f) => f.endsWith('.service') || f.endsWith('.target'));

  it('one unit per app, each requiring the migrate oneshot, restarting on failure, hardened', () => {
    expect(units).toEqual(expect.arrayContaining([...APP_NAMES.map((a) => `pbx-backup-${a}.service`), 'pbx-backup-migrate.service']));
    for (const app of APP_NAMES) {
      const text = readFileSync(join(dir, `pbx-backup-${app}.service`), 'utf8');
      expect(text).toMatch(/^Requires=pbx-backup-migrate\.service$/m);
      expect(text).toMatch(/^Restart=on-failure$/m);
      expect(text).toMatch(/^EnvironmentFile=\/etc\/pbx-backup\/pbx-backup\.env$/m);
      for (const option of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'PrivateTmp=yes']) expect(text).toContain(option);
    }
    expect(readFileSync(join(dir, 'pbx-backup-migrate.service'), 'utf8')).toMatch(/^Type=oneshot$/m);
  });

  it('the example environment file sets every variable an app requires in a deployment', () => {
    const set = new Set([...readFileSync(join(dir, 'pbx-backup.env.example'), 'utf8').matchAll(/^([A-Z_0-9]+)=/gm)].map((m) => m[1]));
    expect(APP_NAMES.flatMap((app) => DEPLOYMENT_REQUIRED[app].filter((v) => !set.has(v)).map((v) => `${app}: ${v}`))).toEqual([]);
  });

  needs('systemd-analyze')('systemd-analyze verify accepts every unit without a warning', () => {
    const res = spawnSync('systemd-analyze', ['verify', ...units.map((u) => `./${u}`)], { cwd: dir, encoding: 'utf8' });
    expect({ status: res.status, out: (res.stdout + res.stderr).trim() }).toEqual({ status: 0, out: '' });
  });
});
