import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeSafetensors, encodeSafetensors, readSafetensors, SafetensorsError, writeSafetensors, type Tensor } from './safetensors.ts';

const concat = (chunks: Uint8Array[]) => new Uint8Array(Buffer.concat(chunks));

const sample = (): Record<string, Tensor> => ({
  'b.weight': { dtype: 'F32', shape: [2, 3], data: Float32Array.of(1, -2.5, 3e-8, Infinity, -0, 65504.125) },
  'a.ids': { dtype: 'I32', shape: [4], data: Int32Array.of(0, -1, 2147483647, -2147483648) },
  'c.half': { dtype: 'F16', shape: [3], data: Uint16Array.of(0x3c00, 0x7bff, 0x0001) },
  'd.mask': { dtype: 'U8', shape: [5], data: Uint8Array.of(0, 1, 255, 7, 128) },
  'e.scalar': { dtype: 'F32', shape: [], data: Float32Array.of(42) },
  'f.empty': { dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
});

/** A file from a hand-written header and data section (for the refusal cases). */
function rawFile(header: object | string, data: Uint8Array, headerLenOverride?: bigint): Uint8Array {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(headerLenOverride ?? BigInt(json.length));
  return new Uint8Array(Buffer.concat([prefix, json, data]));
}

function refuses(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => decodeSafetensors(bytes, 'x.safetensors'),
    (err: unknown) => {
      assert.ok(err instanceof SafetensorsError, `expected SafetensorsError, got ${String(err)}`);
      assert.match(err.message, /^x\.safetensors: /); // the message names the file
      assert.match(err.message, pattern);
      return true;
    },
  );
}

test('round trip of F32 / I32 / F16 / U8 tensors (incl. scalar and empty) with metadata, through a file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cladmop-st-'));
  try {
    const file = path.join(dir, 'm.safetensors');
    const tensors = sample();
    const metadata = { format: 'test', note: 'ünïcödé ≥ µ', state: JSON.stringify({ step: 3 }) };
    writeSafetensors(file, tensors, metadata);
    const back = readSafetensors(file);
    assert.deepEqual(back.metadata, metadata);
    assert.deepEqual(Object.keys(back.tensors).sort(), Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      const b = back.tensors[name];
      assert.equal(b.dtype, t.dtype, name);
      assert.deepEqual(b.shape, t.shape, name);
      assert.equal(b.data.constructor, t.data.constructor, name);
      // Bit-exact (covers -0 and Infinity, which deepEqual on numbers would also check, but bytes are the contract).
      assert.deepEqual(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength), name);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('header is padded to a multiple of 8 bytes, tensors are sorted by name and packed back to back', () => {
  for (let extra = 0; extra < 9; extra++) {
    // Names of varying length move the unpadded header length through every residue mod 8.
    const bytes = concat(encodeSafetensors({ ['t'.repeat(extra + 1)]: { dtype: 'U8', shape: [1], data: Uint8Array.of(9) } }));
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal(headerLen % 8, 0, `header length ${headerLen}`);
    assert.equal((8 + headerLen) % 8, 0); // the data section starts 8-aligned
    const json = Buffer.from(bytes.subarray(8, 8 + headerLen)).toString('utf8');
    assert.match(json, /^\{.*\} *$/); // padding is trailing spaces, which JSON parsers accept
  }
  const bytes = concat(encodeSafetensors(sample(), { k: 'v' }));
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLen)).toString('utf8'));
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  assert.deepEqual(names, [...names].sort());
  let pos = 0;
  for (const name of names) {
    assert.equal(header[name].data_offsets[0], pos, name);
    pos = header[name].data_offsets[1];
  }
  assert.equal(8 + headerLen + pos, bytes.length);
});

test('encode refuses data whose size does not match shape x dtype', () => {
  assert.throws(
    () => encodeSafetensors({ w: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } }),
    /tensor w: data has 12 bytes, shape \[2,2\] F32 needs 16/,
  );
});

test('refuses a truncated file, naming the problem', () => {
  const good = concat(encodeSafetensors(sample(), { a: 'b' }));
  refuses(good.subarray(0, 5), /5 bytes, too short.*truncated/);
  // Cut inside the header: the header length no longer fits.
  refuses(good.subarray(0, 20), /header length \d+ does not fit in a 20-byte file/);
  // Cut inside the data: the last tensor's offsets point past the end.
  refuses(good.subarray(0, good.length - 3), /data offsets \[\d+, \d+\] outside the \d+ data bytes \(truncated\?\)/);
});

test('refuses a bad header length and a header that is not JSON', () => {
  refuses(rawFile({}, new Uint8Array(0), 2n ** 40n), /header length 1099511627776 does not fit/);
  refuses(rawFile('{"a": ', new Uint8Array(0)), /header is not valid JSON/);
  // A too-short length cuts the JSON.
  refuses(rawFile({ w: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, Uint8Array.of(1), 10n), /header is not valid JSON/);
});

test('refuses a header that is JSON but not an object of tensors', () => {
  refuses(rawFile('null', new Uint8Array(0)), /header is not a JSON object/);
  refuses(rawFile('[1, 2]', new Uint8Array(0)), /header is not a JSON object/);
  refuses(rawFile({ __metadata__: { a: 1 } }, new Uint8Array(0)), /__metadata__ must map strings to strings/);
});

test('refuses overlapping and gapped offsets, naming the tensor', () => {
  const data = new Uint8Array(8);
  refuses(
    rawFile({ a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] }, b: { dtype: 'U8', shape: [4], data_offsets: [2, 6] } }, data.subarray(0, 6)),
    /tensor b: data does not start where the previous tensor ends \(2 != 4\)/,
  );
  refuses(
    rawFile({ a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] }, b: { dtype: 'U8', shape: [2], data_offsets: [6, 8] } }, data),
    /tensor b: data does not start where the previous tensor ends \(6 != 4\)/,
  );
  // Two tensors sharing the same bytes (aliasing) is also an overlap.
  refuses(
    rawFile({ a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] }, b: { dtype: 'U8', shape: [4], data_offsets: [0, 4] } }, data.subarray(0, 4)),
    /does not start where the previous tensor ends \(0 != 4\)/,
  );
});

test('an empty tensor may sit at the start offset of a non-empty one, in any header order (as the reference accepts)', () => {
  // Offsets are validated after sorting by (begin, end), like the Rust reference implementation; a header that
  // lists the empty tensor after the non-empty one at the same offset is valid.
  const file = rawFile(
    { a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] }, z: { dtype: 'F32', shape: [0], data_offsets: [0, 0] } },
    Uint8Array.of(1, 2, 3, 4),
  );
  const { tensors } = decodeSafetensors(file);
  assert.deepEqual([...tensors.a.data], [1, 2, 3, 4]);
  assert.equal(tensors.z.data.length, 0);
});

test('refuses a wrong byte size for shape x dtype, an unknown dtype and a bad shape', () => {
  const data = new Uint8Array(12);
  refuses(rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 12] } }, data), /tensor w: 12 bytes for shape \[2\] F32 \(expected 8\)/);
  refuses(rawFile({ w: { dtype: 'F16', shape: [3], data_offsets: [0, 12] } }, data), /tensor w: 12 bytes for shape \[3\] F16 \(expected 6\)/);
  refuses(rawFile({ w: { dtype: 'BF16', shape: [4], data_offsets: [0, 8] } }, data.subarray(0, 8)), /tensor w: unsupported dtype BF16/);
  // A dtype named like an Object.prototype member must not be mistaken for a known one.
  refuses(rawFile({ w: { dtype: 'toString', shape: [1], data_offsets: [0, 8] } }, data.subarray(0, 8)), /tensor w: unsupported dtype toString/);
  refuses(rawFile({ w: { dtype: 'U8', shape: [-1], data_offsets: [0, 0] } }, new Uint8Array(0)), /tensor w: bad shape/);
  refuses(rawFile({ w: { dtype: 'U8', shape: [1.5], data_offsets: [0, 1] } }, data.subarray(0, 1)), /tensor w: bad shape/);
  refuses(rawFile({ w: { dtype: 'U8', shape: [2], data_offsets: [2, 0] } }, data.subarray(0, 2)), /tensor w: data offsets \[2, 0\]/);
  refuses(rawFile({ w: { dtype: 'U8', shape: [2], data_offsets: 2 } }, data.subarray(0, 2)), /tensor w: data_offsets must be \[begin, end\]/);
  refuses(rawFile({ w: { dtype: 'U8', shape: [2] } }, data.subarray(0, 2)), /tensor w: data_offsets must be \[begin, end\]/);
});

test('refuses trailing bytes after the last tensor', () => {
  const good = concat(encodeSafetensors(sample()));
  refuses(concat([good, Uint8Array.of(0, 0, 0)]), /3 trailing bytes after the last tensor/);
});

test('decoded tensors are copies, aligned, and independent of the file buffer', () => {
  // An odd offset into a larger buffer: typed-array views over it would throw (misaligned) or alias the input.
  const good = concat(encodeSafetensors({ w: { dtype: 'F32', shape: [2], data: Float32Array.of(1.5, -2) } }));
  const big = new Uint8Array(good.length + 1);
  big.set(good, 1);
  const { tensors } = decodeSafetensors(big.subarray(1));
  assert.deepEqual([...tensors.w.data], [1.5, -2]);
  big.fill(0);
  assert.deepEqual([...tensors.w.data], [1.5, -2]);
});

test('readSafetensors names the file it cannot read', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cladmop-st-'));
  try {
    const missing = path.join(dir, 'none.safetensors');
    assert.throws(() => readSafetensors(missing), (err: unknown) => err instanceof SafetensorsError && err.message.startsWith(`${missing}: cannot read`));
    const bad = path.join(dir, 'bad.safetensors');
    writeFileSync(bad, readFileSync(new URL(import.meta.url)).subarray(0, 4));
    assert.throws(() => readSafetensors(bad), (err: unknown) => err instanceof SafetensorsError && err.message.startsWith(`${bad}: file is 4 bytes`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('F64 tensors round-trip bit for bit (forest thresholds are float64)', () => {
  const data = Float64Array.from([0.1, 1 / 3, -2.5e-300, Number.MAX_VALUE]);
  const bytes = Buffer.concat(encodeSafetensors({ t: { dtype: 'F64', shape: [4], data } }));
  const { tensors } = decodeSafetensors(bytes);
  assert.equal(tensors.t.dtype, 'F64');
  assert.deepEqual(tensors.t.data, data);
});
