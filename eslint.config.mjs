// Lint: typescript-eslint's recommended rules plus Nx module boundaries by tag.
//   type:app       -> may use libs, contracts, testing (tests only)
//   type:lib       -> may use libs and contracts, never apps
//   type:contracts -> imports nothing of ours and no framework or I/O package
//   type:testing   -> helpers for tests; never imported by production code
//   type:tool      -> scripts/ (CLIs, migrations, demo): libs and contracts, never apps
//   type:bench     -> bench/: libs, contracts, testing; never apps
//   type:ui        -> apps/admin (browser): imports nothing of ours; its API types are generated
//                     from apps/api/openapi.json into the app itself
// An app reached by relative path is refused by the same rule ("relative or absolute path").
// Which files may import @pbx/testing is a file-level rule (no-restricted-imports below):
// project tags cannot tell a spec from the code beside it. A test helper beside the specs
// (*.test-helper.ts) counts as a test file, and production code may not import one.
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

export default [
  { ignores: ['**/dist', '**/node_modules', '**/var', '**/tmp', '**/coverage', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration once at boot (apps/*/src/main.ts or a script entry).' }],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          // @pbx/testing builds on persistence and messaging, and those libs' own tests use
          // it: a cycle through test files only, never through production code.
          ignoredCircularDependencies: [
            ['testing', 'persistence'],
            ['testing', 'messaging'],
            ['testing', 'pbx-source'],
          ],
          depConstraints: [
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib', 'type:contracts', 'type:testing'] },
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib', 'type:contracts', 'type:testing'] },
            { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:lib', 'type:contracts'] },
            // End-to-end tests drive the built apps as processes; they import libs, never apps.
            { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:lib', 'type:contracts', 'type:testing'] },
            { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:lib', 'type:contracts', 'type:testing'] },
            { sourceTag: 'type:bench', onlyDependOnLibsWithTags: ['type:lib', 'type:contracts', 'type:testing'] },
            { sourceTag: 'type:ui', onlyDependOnLibsWithTags: [] },
            {
              sourceTag: 'type:contracts',
              onlyDependOnLibsWithTags: [],
              bannedExternalImports: ['@nestjs/*', 'typeorm', 'pg', 'pg-*', 'amqplib', 'amqp-connection-manager', 'ioredis', 'redlock', 'express', 'nodemailer', 'ssh2*', 'dropbox', 'yauzl', 'pino', 'fs', 'node:*', 'net', 'http', 'child_process'],
            },
          ],
        },
      ],
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: '@pbx/testing', message: 'Test helpers are for tests (*.spec, *.integration-spec, *.e2e-spec, *.test-helper, test/, bench/), never production code.' }],
          patterns: [{ group: ['**/*.test-helper', '**/*.test-helper.ts'], message: 'A *.test-helper is for tests (*.spec, *.integration-spec, *.e2e-spec, *.test-helper), never production code.' }],
        },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.integration-spec.ts', '**/*.e2e-spec.ts', '**/*.test-helper.ts', 'libs/testing/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // Tests and one-shot entry points may read the environment and use test helpers.
    files: ['**/*.spec.ts', '**/*.integration-spec.ts', '**/*.e2e-spec.ts', '**/*.test-helper.ts', 'apps/*/src/main.ts', 'scripts/**/*.ts', 'bench/**/*.ts', 'libs/testing/**/*.ts', 'test/**/*.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
];
