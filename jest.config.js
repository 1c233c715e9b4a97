// Three test tiers, one config: unit (*.spec.ts beside the code), integration
// (*.integration-spec.ts against real servers) and e2e (*.e2e-spec.ts, the whole pipeline).
// Select a tier with `jest --selectProjects unit|integration|e2e`.
const { readFileSync } = require('node:fs');
const { compilerOptions } = require('./tsconfig.base.json');

const swcrc = JSON.parse(readFileSync(`${__dirname}/.swcrc`, 'utf8'));
delete swcrc.$schema;

const moduleNameMapper = Object.fromEntries(
  Object.entries(compilerOptions.paths).map(([alias, [target]]) => [
    `^${alias.replace('/', '\\/')}$`,
    `<rootDir>/${target}`,
  ]),
);

const base = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest', swcrc], '^.+\\.js$': ['@swc/jest', swcrc] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper,
  // age-encryption and its @noble/@scure dependencies are ESM-only: swc turns them into CommonJS.
  transformIgnorePatterns: ['/node_modules/(?!(age-encryption|@noble|@scure)/)'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/var/'],
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/scripts', '<rootDir>/test'],
};

module.exports = {
  projects: [
    { ...base, displayName: 'unit', testMatch: ['**/*.spec.ts'] },
    { ...base, displayName: 'integration', testMatch: ['**/*.integration-spec.ts'], setupFilesAfterEnv: ['<rootDir>/libs/testing/src/jest-setup.ts'], slowTestThreshold: 30 },
    { ...base, displayName: 'e2e', testMatch: ['**/*.e2e-spec.ts'], setupFilesAfterEnv: ['<rootDir>/libs/testing/src/jest-setup.ts'], slowTestThreshold: 60 },
  ],
};
