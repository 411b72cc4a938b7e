import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { cacheKey, CacheEntryCorrupt, decodeEntry, EmbeddingCache, encodeEntry } from './embedding-cache.ts';
import { encodeWithCache, roundLikeCache, type CriteriaEncoder, type EncodedCriteria } from './criteria-encoder.ts';

const DIM = 4;

/** A deterministic fake output for a text: one token per character, values that depend on text, level and position. */
function fakeEncode(text: string): EncodedCriteria {
  const n = text.length;
  const tokens = Array.from(text, (ch) => ch.codePointAt(0)!);
  const segments = Uint8Array.from(tokens, (_, i) => (i >= n / 2 ? 1 : 0));
  const levels = [0, 1, 2].map((l) => Float32Array.from({ length: n * DIM }, (_, j) => Math.sin(tokens[Math.floor(j / DIM)] * 0.37 + j * 0.11 + l) * 10 ** (l - 1)));
  return { levels, tokens, segments, dim: DIM };
}

/** Counts which texts it was asked to encode, so tests can tell cache hits from computations. */
class FakeEncoder implements CriteriaEncoder {
  readonly name = 'fake';
  readonly dim = DIM;
  readonly layers = [1, 2, 3];
  readonly maxTokensPerSection = 1000;
  readonly calls: string[][] = [];
  constructor(readonly id: string) {}
  async encodeMany(criteria: string[]): Promise<EncodedCriteria[]> {
    this.calls.push([...criteria]);
    return criteria.map(fakeEncode);
  }
  get computed(): string[] {
    return this.calls.flat();
  }
}

function withDir(fn: (dir: string) => Promise<void> | void) {
  return async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cladmop-cache-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

/** Float16 round trip: relative error <= 2^-11 (plus an absolute floor for values near zero). */
function assertClose(actual: EncodedCriteria, expected: EncodedCriteria, label = '') {
  assert.deepEqual(actual.tokens, expected.tokens, label);
  assert.deepEqual([...actual.segments], [...expected.segments], label);
  assert.equal(actual.dim, expected.dim);
  assert.equal(actual.levels.length, expected.levels.length);
  expected.levels.forEach((lv, l) => {
    assert.equal(actual.levels[l].length, lv.length);
    for (let i = 0; i < lv.length; i++) {
      const err = Math.abs(actual.levels[l][i] - lv[i]);
      assert.ok(err <= Math.abs(lv[i]) * 2 ** -11 + 2 ** -24, `${label} level ${l}[${i}]: ${actual.levels[l][i]} vs ${lv[i]}`);
    }
  });
}

function entryFile(cache: EmbeddingCache, text: string): string {
  const key = cacheKey(cache.encoderId, text);
  return path.join(cache.dir, key.slice(0, 2), `${key}.emb`);
}

test(
  'put / get round trip within float16 tolerance; miss before put; size counts entries and bytes',
  withDir((dir) => {
    const cache = new EmbeddingCache(dir, 'enc-a');
    const texts = ['inclusion criteria:\n- age ≥ 18', 'x', 'ALT ≤ 2.5 x ULN; µmol/L'];
    assert.deepEqual(cache.size(), { entries: 0, bytes: 0 });
    for (const t of texts) {
      assert.equal(cache.get(t), null);
      assert.equal(cache.has(t), false);
    }
    for (const t of texts) cache.put(t, fakeEncode(t));
    for (const t of texts) {
      assert.equal(cache.has(t), true);
      assertClose(cache.get(t)!, fakeEncode(t), t);
    }
    const size = cache.size();
    assert.equal(size.entries, 3);
    const onDisk = texts.reduce((s, t) => s + readFileSync(entryFile(cache, t)).length, 0);
    assert.equal(size.bytes, onDisk);
    // float16 storage: levels take 2 bytes per value (the point of the format), plus a small header and checksum.
    const t = texts[0];
    const values = 3 * t.length * DIM;
    assert.ok(readFileSync(entryFile(cache, t)).length < 2 * values + 5 * t.length + 300);
    // Overwriting an entry keeps one entry.
    cache.put(t, fakeEncode(t));
    assert.equal(cache.size().entries, 3);
  }),
);

test(
  'an entry of zero tokens round-trips',
  withDir((dir) => {
    const cache = new EmbeddingCache(dir, 'enc-a');
    cache.put('', fakeEncode(''));
    assert.deepEqual(cache.get(''), { levels: [new Float32Array(0), new Float32Array(0), new Float32Array(0)], tokens: [], segments: new Uint8Array(0), dim: DIM });
  }),
);

test(
  'entries of another encoder id are not visible (separate folders, and the header is checked too)',
  withDir((dir) => {
    const a = new EmbeddingCache(dir, 'enc-a');
    const b = new EmbeddingCache(dir, 'enc-b');
    a.put('same text', fakeEncode('same text'));
    assert.notEqual(a.dir, b.dir);
    assert.equal(b.get('same text'), null);
    assert.equal(b.has('same text'), false);
    assert.deepEqual(b.size(), { entries: 0, bytes: 0 });
    // Even if an entry file is copied into the other encoder's place, its header (encoder id, key) refuses it.
    const bytes = readFileSync(entryFile(a, 'same text'));
    b.put('placeholder', fakeEncode('p'));
    writeFileSync(entryFile(b, 'placeholder'), bytes);
    assert.equal(b.get('placeholder'), null);
    assert.throws(() => decodeEntry(bytes, 'enc-b', cacheKey('enc-a', 'same text')), CacheEntryCorrupt);
    assert.throws(() => decodeEntry(bytes, 'enc-a', cacheKey('enc-a', 'other text')), /header does not match/);
    assert.ok(decodeEntry(bytes, 'enc-a', cacheKey('enc-a', 'same text')));
  }),
);

test(
  'a truncated entry and a flipped byte are detected: get returns null, deletes the file, and the entry is recomputed',
  withDir(async (dir) => {
    const cache = new EmbeddingCache(dir, 'enc-a');
    const enc = new FakeEncoder('enc-a');
    const texts = ['first criteria text', 'second criteria text', 'third criteria text'];
    await encodeWithCache(enc, cache, texts);
    assert.equal(enc.computed.length, 3);
    const truncated = entryFile(cache, texts[0]);
    truncateSync(truncated, readFileSync(truncated).length - 7);
    const flipped = entryFile(cache, texts[1]);
    const bytes = readFileSync(flipped);
    // A bit inside the float16 data (not the header): only the checksum can notice it.
    bytes[bytes.length - 40] ^= 0x01;
    writeFileSync(flipped, bytes);
    assert.throws(() => decodeEntry(bytes, 'enc-a', cacheKey('enc-a', texts[1])), /checksum mismatch/);
    assert.throws(() => decodeEntry(readFileSync(truncated), 'enc-a', cacheKey('enc-a', texts[0])), /checksum mismatch/);
    assert.throws(() => decodeEntry(Buffer.from('CLDMEMB1'), 'enc-a', 'k'), /bad magic or truncated/);

    const again = new FakeEncoder('enc-a');
    const { encoded, computed } = await encodeWithCache(again, cache, texts);
    assert.equal(computed, 2);
    assert.deepEqual(again.computed, [texts[0], texts[1]]);
    texts.forEach((t, i) => assertClose(encoded[i], fakeEncode(t), t));
    // The recomputed entries were written back, intact.
    for (const t of texts) assertClose(cache.get(t)!, fakeEncode(t), t);
    assert.equal(cache.size().entries, 3);
  }),
);

test(
  'get deletes a corrupt entry file', 
  withDir((dir) => {
    const cache = new EmbeddingCache(dir, 'enc-a');
    cache.put('t', fakeEncode('t'));
    const file = entryFile(cache, 't');
    writeFileSync(file, Buffer.from('garbage, not an entry at all, long enough to pass the length check'));
    assert.equal(cache.get('t'), null);
    assert.equal(cache.has('t'), false);
  }),
);

test(
  'encodeWithCache computes only the missing entries, duplicates once, and returns results in input order',
  withDir(async (dir) => {
    const cache = new EmbeddingCache(dir, 'enc-a');
    cache.put('b', fakeEncode('b'));
    cache.put('d', fakeEncode('d'));
    const enc = new FakeEncoder('enc-a');
    const texts = ['a', 'b', 'c', 'a', 'd', 'c', 'a', 'e'];
    const progress: [number, number][] = [];
    const { encoded, computed } = await encodeWithCache(enc, cache, texts, (done, total) => progress.push([done, total]));
    assert.equal(computed, 3);
    assert.deepEqual(enc.calls, [['a', 'c', 'e']]);
    assert.equal(encoded.length, texts.length);
    texts.forEach((t, i) => assertClose(encoded[i], fakeEncode(t), `${t}@${i}`));
    assert.deepEqual(progress, [[5, 8], [8, 8]]);
    // Everything is cached now: a second pass computes nothing.
    const enc2 = new FakeEncoder('enc-a');
    const second = await encodeWithCache(enc2, cache, texts);
    assert.equal(second.computed, 0);
    assert.deepEqual(enc2.calls, []);
    assert.equal(cache.size().entries, 5);
  }),
);

test('encodeWithCache without a cache still computes each distinct text once, in chunks of 64', async () => {
  const enc = new FakeEncoder('enc-a');
  const texts = Array.from({ length: 150 }, (_, i) => `t${i % 130}`);
  const { encoded, computed } = await encodeWithCache(enc, null, texts);
  assert.equal(computed, 130);
  assert.deepEqual(enc.calls.map((c) => c.length), [64, 64, 2]);
  assert.deepEqual(new Set(enc.computed).size, 130);
  // Rounded to float16 like cache entries even without a cache.
  texts.forEach((t, i) => assert.deepEqual(encoded[i], roundLikeCache(fakeEncode(t))));
});

test(
  'a result does not depend on the cache: computed, read back, and computed without a cache are bit-identical',
  withDir(async (dir) => {
    const cache = new EmbeddingCache(dir, 'enc-a');
    const texts = ['alpha criteria', 'beta criteria'];
    const computed = await encodeWithCache(new FakeEncoder('enc-a'), cache, texts);
    const read = await encodeWithCache(new FakeEncoder('enc-a'), cache, texts);
    const noCache = await encodeWithCache(new FakeEncoder('enc-a'), null, texts);
    assert.equal(computed.computed, 2);
    assert.equal(read.computed, 0);
    assert.deepEqual(read.encoded, computed.encoded);
    assert.deepEqual(noCache.encoded, computed.encoded);
    // The fake encoder's values are not float16-exact, so the rounding did happen.
    assert.notDeepEqual(computed.encoded[0].levels, fakeEncode(texts[0]).levels);
  }),
);

test('entry format: magic, checksum over the body, and a level of the wrong size is refused on write', () => {
  const v = fakeEncode('abcde');
  const key = cacheKey('enc-a', 'abcde');
  const buf = encodeEntry(v, 'enc-a', key);
  assert.equal(buf.subarray(0, 8).toString('ascii'), 'CLDMEMB1');
  assert.deepEqual(buf.subarray(buf.length - 32), createHash('sha256').update(buf.subarray(0, buf.length - 32)).digest());
  assertClose(decodeEntry(buf, 'enc-a', key), v);
  const bad = { ...v, levels: [v.levels[0], v.levels[1].subarray(1), v.levels[2]] };
  assert.throws(() => encodeEntry(bad, 'enc-a', key), /level has 19 values, expected 5 x 4/);
  // cacheKey separates encoder id and text (no ambiguity from concatenation).
  assert.notEqual(cacheKey('ab', 'c'), cacheKey('a', 'bc'));
});

test(
  'put leaves no temporary files behind',
  withDir((dir) => {
    const cache = new EmbeddingCache(dir, 'enc-a');
    for (let i = 0; i < 5; i++) cache.put(`t${i}`, fakeEncode(`t${i}`));
    const files = readdirSync(cache.dir, { recursive: true }).map(String).filter((f) => f.includes('.tmp-'));
    assert.deepEqual(files, []);
  }),
);

test(
  'onDisk: levels are read from the entry on each access (same values as get), and a deleted entry fails with a clear error',
  withDir((dir) => {
    const cache = new EmbeddingCache(dir, 'enc-a');
    const text = 'inclusion criteria:\n- HbA1c 7-10%';
    cache.put(text, fakeEncode(text));
    const eager = cache.get(text)!;
    const view = cache.onDisk(text, eager);
    assert.deepEqual(view.tokens, eager.tokens);
    assert.equal(view.dim, DIM);
    assert.deepEqual(view.levels, eager.levels);
    // Two reads are two fresh arrays: nothing is kept in memory between them.
    assert.notEqual(view.levels[0], view.levels[0]);
    rmSync(entryFile(cache, text));
    assert.throws(() => view.levels, /no longer in the embedding cache .*HbA1c/);
  }),
);
