import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../eval/rng.ts';
import { float32ToHalf, fromHalfBits, halfToFloat32, toHalfBits } from './float16.ts';

const hex = (h: number) => `0x${h.toString(16).padStart(4, '0')}`;

test('exact values: zeros, ones, the largest half, the smallest subnormal, infinities, NaN', () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-1, 0xbc00],
    [2, 0x4000],
    [0.5, 0x3800],
    [65504, 0x7bff], // largest finite half
    [-65504, 0xfbff],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [-(2 ** -24), 0x8001],
    [2 ** -14 - 2 ** -24, 0x03ff], // largest subnormal
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
  ];
  for (const [value, bits] of cases) {
    assert.equal(hex(toHalfBits(value)), hex(bits), `toHalfBits(${value})`);
    assert.ok(Object.is(fromHalfBits(bits), value), `fromHalfBits(${hex(bits)}) = ${fromHalfBits(bits)}, expected ${value}`);
  }
  // NaN stays NaN (a quiet NaN; a NaN that became Infinity would silently poison a cache entry).
  const nan = toHalfBits(NaN);
  assert.equal(nan & 0x7c00, 0x7c00);
  assert.notEqual(nan & 0x3ff, 0);
  assert.ok(Number.isNaN(fromHalfBits(nan)));
});

test('round to nearest, ties to even, in the normal range, at the overflow edge and in the subnormal range', () => {
  const ulp1 = 2 ** -10; // spacing of halves in [1, 2)
  // Exactly half-way between 1 (even mantissa) and 1 + ulp: ties to 1.
  assert.equal(hex(toHalfBits(1 + ulp1 / 2)), hex(0x3c00));
  // Half-way between 1 + ulp (odd) and 1 + 2 ulp (even): ties up to the even one.
  assert.equal(hex(toHalfBits(1 + 1.5 * ulp1)), hex(0x3c02));
  // Just above / below a tie go to the nearer neighbour (float32 can represent these exactly).
  assert.equal(hex(toHalfBits(1 + ulp1 / 2 + 2 ** -20)), hex(0x3c01));
  assert.equal(hex(toHalfBits(1 + ulp1 / 2 - 2 ** -20)), hex(0x3c00));
  // Mantissa carry into the exponent: the largest value below 2 rounds up to exactly 2.
  assert.equal(hex(toHalfBits(2 - 2 ** -12)), hex(0x4000));
  // Overflow: 65504 + half an ulp (ulp = 32) is a tie with an odd mantissa -> rounds up to Infinity;
  // anything below the tie stays at 65504.
  assert.equal(hex(toHalfBits(65520)), hex(0x7c00));
  assert.equal(hex(toHalfBits(65519)), hex(0x7bff));
  assert.equal(hex(toHalfBits(1e6)), hex(0x7c00));
  // Subnormals: 2^-25 is half of the smallest subnormal: a tie with 0 (even) -> 0; slightly more -> 2^-24.
  assert.equal(hex(toHalfBits(2 ** -25)), hex(0x0000));
  assert.equal(hex(toHalfBits(2 ** -25 * (1 + 2 ** -10))), hex(0x0001));
  assert.equal(hex(toHalfBits(1.5 * 2 ** -24)), hex(0x0002)); // tie between 1 (odd) and 2 (even) subnormal units
  assert.equal(hex(toHalfBits(2.5 * 2 ** -24)), hex(0x0002)); // tie between 2 (even) and 3
  assert.equal(hex(toHalfBits(1e-10)), hex(0x0000));
  assert.equal(hex(toHalfBits(-1e-10)), hex(0x8000));
  // A subnormal rounding up into the smallest normal.
  assert.equal(hex(toHalfBits(2 ** -14 - 2 ** -26)), hex(0x0400));
});

test('every finite half value survives half -> float32 -> half unchanged', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const back = float32ToHalf(halfToFloat32(all));
  for (let h = 0; h < 65536; h++) {
    const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
    if (isNaN) assert.ok(Number.isNaN(halfToFloat32(Uint16Array.of(h))[0]));
    else if (back[h] !== h) assert.fail(`${hex(h)} came back as ${hex(back[h])}`);
  }
});

test('relative error <= 2^-11 over random normal values (the bound the embedding cache relies on)', () => {
  const rng = createRng(11);
  const n = 200_000;
  const src = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    // Box-Muller, with a random scale so several binades are covered.
    const z = Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
    src[i] = z * 10 ** (4 * rng() - 2);
  }
  const back = halfToFloat32(float32ToHalf(src));
  let maxRel = 0;
  let checked = 0;
  for (let i = 0; i < n; i++) {
    // Below the smallest normal half, precision is absolute (2^-25), not relative.
    if (Math.abs(src[i]) < 2 ** -14) {
      assert.ok(Math.abs(back[i] - src[i]) <= 2 ** -25, `subnormal ${src[i]} -> ${back[i]}`);
      continue;
    }
    maxRel = Math.max(maxRel, Math.abs(back[i] - src[i]) / Math.abs(src[i]));
    checked++;
  }
  assert.ok(checked > 0.95 * n);
  assert.ok(maxRel <= 2 ** -11, `max relative error ${maxRel} > 2^-11`);
  // And the bound is nearly attained: the test would notice a coarser rounding (e.g. truncation, 2^-10).
  assert.ok(maxRel > 0.9 * 2 ** -11, `max relative error ${maxRel} suspiciously small`);
});
