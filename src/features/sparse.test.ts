import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  csrFromDense,
  csrMatVec,
  csrSelectRows,
  csrToCsc,
  csrToDense,
  csrTransposeMatVec,
  validateCsr,
} from './sparse.ts';

const DENSE = [
  [0, 2, 0, 1],
  [0, 0, 0, 0],
  [3, 0, -1, 0],
];

test('dense -> CSR -> dense round-trips and drops zeros', () => {
  const x = csrFromDense(DENSE);
  validateCsr(x);
  assert.equal(x.indptr[x.rows], 4);
  assert.deepEqual([...x.indptr], [0, 2, 2, 4]);
  assert.deepEqual(csrToDense(x), DENSE);
});

test('row selection keeps order and repeats', () => {
  const x = csrSelectRows(csrFromDense(DENSE), [2, 0, 2]);
  validateCsr(x);
  assert.deepEqual(csrToDense(x), [DENSE[2], DENSE[0], DENSE[2]]);
  assert.throws(() => csrSelectRows(csrFromDense(DENSE), [3]));
});

test('CSC holds the same entries with rows increasing per column', () => {
  const c = csrToCsc(csrFromDense(DENSE));
  assert.deepEqual([...c.colptr], [0, 1, 2, 3, 4]);
  assert.deepEqual([...c.rowIndices], [2, 0, 2, 0]);
  assert.deepEqual([...c.data], [3, 2, -1, 1]);
});

test('matrix-vector products agree with dense arithmetic', () => {
  const x = csrFromDense(DENSE);
  assert.deepEqual([...csrMatVec(x, [1, 2, 3, 4], undefined, 0.5)], [8.5, 0.5, 0.5]);
  assert.deepEqual([...csrTransposeMatVec(x, [1, 5, 2])], [6, 2, -2, 1]);
});

test('validateCsr rejects unsorted or out-of-range columns', () => {
  const x = csrFromDense(DENSE);
  const bad = { ...x, indices: Int32Array.from([3, 1, 0, 2]) };
  assert.throws(() => validateCsr(bad), /out of order/);
  assert.throws(() => validateCsr({ ...x, cols: 3 }), /outside/);
});
