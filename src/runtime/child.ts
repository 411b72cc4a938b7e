/**
 * Runs a `cladmop` sub-command in a child process and waits for it.
 *
 * Why: jax-js's wasm heap never shrinks and reuses a freed buffer only for the same size class, so the criteria
 * LM's forward passes and CLaDMoP pre-training in one process fragment the 4 GiB heap until allocation fails
 * (measured). Each memory-heavy stage therefore runs in its own process, sharing results through files.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { PACKAGE_ROOT } from '../settings.ts';

export function runCladmopChild(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(PACKAGE_ROOT, 'bin/cladmop.mjs'), ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`cladmop ${args[0]} failed (${signal ? `signal ${signal}` : `exit code ${code}`})`));
    });
  });
}
