/**
 * Child process of the kill -9 test (pretrain.kill.test.ts): synthetic pre-training with a checkpoint, which
 * stalls at the first step of epoch 2 so the parent can SIGKILL it mid-epoch.
 *   node bin/run-ts.mjs src/train/testing/pretrain-child.ts CHECKPOINT
 */
import { initJax } from '../../runtime/jax-init.ts';
import { pretrain } from '../pretrain.ts';
import { syntheticPretrainOptions, syntheticTrials } from './synthetic-trials.ts';

await initJax();
const checkpoint = process.argv[2];
await pretrain(
  syntheticTrials(20, 1, 'NCT9'),
  syntheticTrials(8, 2, 'NCT8'),
  syntheticPretrainOptions({
    checkpoint,
    onStep: (s) => {
      if (s === 3) {
        process.stderr.write('stalled in epoch 2\n');
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
      }
    },
  }),
);
process.stderr.write('finished (the parent should have killed this process)\n');
