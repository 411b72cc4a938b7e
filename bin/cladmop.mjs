#!/usr/bin/env node
// Entry point of the `cladmop` command. Loads the Node 20 shim for @jax-js/jax first, then hands over to the CLI:
//  - installed package (no src/ shipped): the built JavaScript in dist/;
//  - a checkout (src/cli/main.ts beside this file): the TypeScript sources through tsx (a dev dependency), so
//    `npx cladmop` never runs a stale dist/ after an edit. CLADMOP_USE_DIST=1 runs dist/ there too (after
//    `npm run build`), which is what the installed package does.
import { existsSync } from 'node:fs';

const fromSources = process.env.CLADMOP_USE_DIST !== '1' && existsSync(new URL('../src/cli/main.ts', import.meta.url));
if (fromSources) {
  await import('../src/runtime/node20-shim.mjs');
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../src/cli/main.ts');
  await main(process.argv);
} else {
  await import('../dist/runtime/node20-shim.mjs');
  const { main } = await import('../dist/cli/main.js');
  await main(process.argv);
}
