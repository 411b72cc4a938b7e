#!/usr/bin/env node
// Runs a TypeScript file of this project with the Node 20 shim loaded: `node bin/run-ts.mjs FILE [args]`.
import '../src/runtime/node20-shim.mjs';
import { register } from 'tsx/esm/api';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

register();
const file = process.argv[2];
if (!file) {
  console.error('usage: node bin/run-ts.mjs FILE.ts [args...]');
  process.exit(2);
}
process.argv.splice(1, 1);
await import(pathToFileURL(path.resolve(file)).href);
