#!/usr/bin/env node
// Runs the test tiers in order (unit, integration, e2e) and ends with the totals line
// CI reads: "N passed, N failed". Usage: node scripts/run-tests.mjs [unit|integration|e2e ...] [-- jest args]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const tiers = (dash === -1 ? argv : argv.slice(0, dash)).filter(Boolean);
const extra = dash === -1 ? [] : argv.slice(dash + 1);
const selected = tiers.length ? tiers : ['unit', 'integration', 'e2e'];

const startedPeers = selected.some((t) => t !== 'unit') && process.env.SKIP_TEST_PEERS !== '1';
if (startedPeers) {
  const peers = spawnSync('bash', ['scripts/test-peers.sh'], { stdio: 'inherit' });
  if (peers.status !== 0) {
    console.error('test peers did not start (scripts/test-peers.sh); see above');
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}

// The e2e tier runs the built apps as processes, as `npm start` does.
if (selected.includes('e2e') && process.env.SKIP_BUILD !== '1') {
  const build = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  if (build.status !== 0) {
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}

mkdirSync('tmp', { recursive: true });
let passed = 0;
let failed = 0;
let skipped = 0;
let exitCode = 0;
const workers = { unit: '50%', integration: '2', e2e: '1' };
for (const tier of selected) {
  const out = `tmp/jest-${tier}.json`;
  const res = spawnSync(
    'npx',
    // --forceExit: a library's lingering socket must not hang CI after the results are in.
    ['jest', '--selectProjects', tier, '--json', `--outputFile=${out}`, `--maxWorkers=${workers[tier] ?? '1'}`, '--passWithNoTests', '--forceExit', ...extra],
    { stdio: 'inherit', env: { ...process.env, NODE_OPTIONS: [process.env.NODE_OPTIONS, '--openssl-legacy-provider'].filter(Boolean).join(' ') } },
  );
  if (res.status !== 0) exitCode = 1;
  if (existsSync(out)) {
    const r = JSON.parse(readFileSync(out, 'utf8'));
    passed += r.numPassedTests;
    // A suite that failed to run (syntax error, failing beforeAll) counts as a failure too.
    failed += r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0);
    skipped += r.numPendingTests + (r.numTodoTests ?? 0);
    console.log(`[${tier}] ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped, suites with errors: ${r.numRuntimeErrorTestSuites ?? 0}`);
  } else {
    failed += 1;
    console.log(`[${tier}] jest produced no results`);
  }
}
// Peers this run started are stopped again: left running they hold the ports for another
// checkout (KEEP_TEST_PEERS=1 keeps them for the next run of this one).
if (startedPeers && process.env.KEEP_TEST_PEERS !== '1') spawnSync('bash', ['scripts/test-peers.sh', 'stop'], { stdio: 'inherit' });
if (failed > 0) exitCode = 1;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(exitCode);
