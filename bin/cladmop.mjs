#!/usr/bin/env node
// Entry point of the `cladmop` command. Loads the Node 20 shim for @jax-js/jax, registers tsx so the
// TypeScript sources run as they are, then hands over to the CLI.
import '../src/runtime/node20-shim.mjs';
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
