// The output printed in examples/README.md is what the example prints today with the shipped default models.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { currentBlock, renderBlock, runExample } from '../scripts/update-examples.ts';

test('examples/README.md shows the current output of examples/predict-ctgov.ts (regenerate: scripts/update-examples.ts)', () => {
  assert.equal(currentBlock(), renderBlock(runExample()));
});
