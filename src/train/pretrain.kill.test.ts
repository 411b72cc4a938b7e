import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tree } from '@jax-js/jax';
import { PACKAGE_ROOT as REPO_ROOT } from '../settings.ts';
import { initJax } from '../runtime/jax-init.ts';
import { treeToTensors } from '../runtime/param-tree.ts';
import { readSafetensors } from '../runtime/safetensors.ts';
import { pretrain, type PretrainEpoch } from './pretrain.ts';
import { syntheticPretrainOptions, syntheticTrials } from './testing/synthetic-trials.ts';

await initJax();
const dir = mkdtempSync(path.join(os.tmpdir(), 'cladmop-kill-test-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const timeless = (h: PretrainEpoch[]) => h.map(({ seconds: _, ...rest }) => rest);

test('kill -9 during pre-training, then resume: the same history and weights as an uninterrupted run', { timeout: 240_000 }, async () => {
  const checkpoint = path.join(dir, 'pretrain.safetensors');
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/run-ts.mjs'), path.join(REPO_ROOT, 'src/train/testing/pretrain-child.ts'), checkpoint], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  // Wait until the child is inside epoch 2 (its checkpoint of epoch 1 is on disk), then SIGKILL it.
  const deadline = Date.now() + 200_000;
  while (!stderr.includes('stalled in epoch 2')) {
    if (Date.now() > deadline || child.exitCode !== null) assert.fail(`the child never reached epoch 2:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  assert.ok(existsSync(checkpoint));
  assert.equal(JSON.parse(readSafetensors(checkpoint).metadata.state).epoch, 1);

  const train = syntheticTrials(20, 1, 'NCT9');
  const heldOut = syntheticTrials(8, 2, 'NCT8');
  const steps: number[] = [];
  const resumed = await pretrain(train, heldOut, syntheticPretrainOptions({ checkpoint, onStep: (s) => steps.push(s) }));
  assert.deepEqual(steps, [3, 4], 'resumes at the first step of epoch 2');
  const reference = await pretrain(train, heldOut, syntheticPretrainOptions());
  assert.deepEqual(timeless(resumed.history), timeless(reference.history));
  const want = await treeToTensors(reference.params);
  const got = await treeToTensors(resumed.params);
  for (const name of Object.keys(want)) assert.deepEqual(got[name].data, want[name].data, `${name} differs after kill -9 and resume`);
  tree.dispose([reference.params, resumed.params]);
  // Only whole files in the directory: a temporary file the kill may have left is removed on resume.
  assert.deepEqual(readdirSync(dir), ['pretrain.safetensors']);
});
