import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256Hex } from './hash.ts';

test('sha256Hex: the FIPS 180-2 test vector, for text and for bytes alike', () => {
  const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
  assert.equal(sha256Hex('abc'), abc);
  assert.equal(sha256Hex(new TextEncoder().encode('abc')), abc);
});
