// Runs a TypeScript module of this repo in a plain `node` child process (crash tests SIGKILL
// it): compiles .ts with @swc/core like jest does and resolves the @pbx/* path aliases.
// Usage: node ts-child.test-helper.js <module.ts> [args…]
const { readFileSync } = require('node:fs');
const Module = require('node:module');
const { join, resolve } = require('node:path');
const { transformSync } = require('@swc/core');

const root = resolve(__dirname, '../../..');
const { compilerOptions } = require(join(root, 'tsconfig.base.json'));
const swcrc = JSON.parse(readFileSync(join(root, '.swcrc'), 'utf8'));
delete swcrc.$schema;

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const alias = compilerOptions.paths[request];
  return resolveFilename.call(this, alias ? join(root, alias[0]) : request, ...rest);
};
require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(readFileSync(filename, 'utf8'), { ...swcrc, filename, sourceMaps: 'inline' });
  module._compile(code, filename);
};
require(resolve(process.argv[2]));
