/**
 * A small seeded pseudo-random generator (mulberry32), so that a bootstrap run with a given seed draws the
 * same resamples on every machine and Node version — `Math.random` cannot be seeded.
 *
 * mulberry32 has a 32-bit state: it is fast and statistically fine for drawing resample indices, not for
 * cryptography. Seeds are reduced to 32 bits (ToUint32), so seeds that differ by a multiple of 2^32 give
 * the same stream. Changing this algorithm changes every published bootstrap number of the project.
 *
 * @returns a function returning doubles in [0, 1), multiples of 2^-32
 */
export function createRng(seed: number): () => number {
  if (!Number.isSafeInteger(seed)) {
    throw new Error(`createRng: seed is ${seed}, expected an integer`);
  }
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
