#!/usr/bin/env node
// `npm run build` (also run by `npm ci` / `npm pack` through `prepare`): compiles src/ to dist/ (JavaScript +
// .d.ts) with tsconfig.build.json, then copies the files the code reads beside itself (the Node 20 shim, the
// web page and its examples), which tsc does not copy. dist/ is rebuilt from scratch so a deleted source
// cannot leave a stale module behind.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'src');
const dist = path.join(root, 'dist');
const started = Date.now();

rmSync(dist, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (tsc.status !== 0) {
  console.error('build: tsc failed');
  process.exit(tsc.status ?? 1);
}

// Every non-TypeScript file under src/ except tests and test helpers travels as it is.
let copied = 0;
function copyAssets(dir) {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) {
      if (name !== 'testing') copyAssets(full);
      continue;
    }
    if (name.endsWith('.ts')) continue;
    const dest = path.join(dist, path.relative(src, full));
    mkdirSync(path.dirname(dest), { recursive: true });
    cpSync(full, dest);
    copied++;
  }
}
copyAssets(src);
console.log(`build: dist/ written in ${((Date.now() - started) / 1000).toFixed(1)} s (${copied} asset files copied)`);
