/**
 * Regenerates the console output shown in examples/README.md by running the example against the shipped default
 * models, so the README never shows output the code does not print (test/examples.test.ts checks it is current).
 *
 *   node bin/run-ts.mjs scripts/update-examples.ts          # rewrite the block
 *   node bin/run-ts.mjs scripts/update-examples.ts --check  # exit 1 when the README is stale
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT as REPO_ROOT } from '../src/settings.ts';
import { writeFileAtomic } from '../src/runtime/atomic-write.ts';

export const EXAMPLE_COMMAND = 'node bin/run-ts.mjs examples/predict-ctgov.ts';
const README = path.join(REPO_ROOT, 'examples/README.md');
const BEGIN = '<!-- begin output: predict-ctgov.ts (scripts/update-examples.ts) -->';
const END = '<!-- end output -->';

/** The example's stdout, as the README shows it. */
export function runExample(): string {
  const r = spawnSync(process.execPath, ['bin/run-ts.mjs', 'examples/predict-ctgov.ts'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the example failed (exit ${r.status}):\n${r.stderr}`);
  return r.stdout.trimEnd();
}

export function renderBlock(output: string): string {
  return `${BEGIN}\n\`\`\`console\n$ ${EXAMPLE_COMMAND}\n${output}\n\`\`\`\n${END}`;
}

/** The block currently in the README (null when the markers are missing). */
export function currentBlock(): string | null {
  const text = readFileSync(README, 'utf8');
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  return a < 0 || b < a ? null : text.slice(a, b + END.length);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(REPO_ROOT, 'scripts/update-examples.ts')) {
  const block = renderBlock(runExample());
  const now = currentBlock();
  if (process.argv.includes('--check')) {
    if (now !== block) {
      console.error('examples/README.md is stale: run node bin/run-ts.mjs scripts/update-examples.ts');
      process.exit(1);
    }
    console.log('examples/README.md is current');
  } else {
    if (now === null) throw new Error(`examples/README.md has no ${BEGIN} ... ${END} block`);
    const text = readFileSync(README, 'utf8');
    writeFileAtomic(README, text.replace(now, block));
    console.log(block);
  }
}
