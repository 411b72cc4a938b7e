#!/usr/bin/env node
// `npm test`: runs every *.test.ts under src/, test/ and bench/ with node's test runner, through tsx, with the
// Node 20 shim that @jax-js/jax needs. Node 20 cannot glob test files itself, hence this script.
// Extra arguments are passed to `node --test` (e.g. `npm test -- --test-name-pattern=csv`).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
function collect(dir) {
  const out = [];
  let entries = [];
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries.sort()) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...collect(full));
    else if (name.endsWith('.test.ts')) out.push(path.relative(root, full));
  }
  return out;
}
const files = ['src', 'test', 'bench'].flatMap((dir) => collect(path.join(root, dir)));
const filter = process.env.TEST_FILES;
const selected = filter ? files.filter((f) => f.includes(filter)) : files;
const args = [
  '--import', 'tsx',
  '--import', './src/runtime/node20-shim.mjs',
  '--test', '--test-concurrency=2',
  ...process.argv.slice(2),
  ...selected,
];
// Type-check first (a second or two): a type error fails the suite like a failing test.
if (!filter) {
  const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--noEmit'], { cwd: root, stdio: 'inherit' });
  if (tsc.status !== 0) {
    console.error('type-check failed');
    process.exit(tsc.status ?? 1);
  }
}
const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
