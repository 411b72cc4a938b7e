/**
 * Reader and writer for the safetensors format (https://github.com/huggingface/safetensors): an 8-byte
 * little-endian header length, a JSON header `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__ }`
 * and the raw little-endian tensor bytes. Loading never executes anything from the file; every offset, shape
 * and length is checked so that a truncated or corrupted file is refused with a message saying what is wrong.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from './atomic-write.ts';

export type SafetensorsDType = 'F32' | 'F64' | 'F16' | 'I32' | 'U8';

export interface Tensor {
  dtype: SafetensorsDType;
  shape: number[];
  /** F32 -> Float32Array, F64 -> Float64Array, F16 -> Uint16Array (raw half bits), I32 -> Int32Array, U8 -> Uint8Array. */
  data: Float32Array | Float64Array | Uint16Array | Int32Array | Uint8Array;
}

const BYTES: Record<SafetensorsDType, number> = { F32: 4, F64: 8, F16: 2, I32: 4, U8: 1 };
const MAX_HEADER = 100 * 1024 * 1024;

export class SafetensorsError extends Error {}

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Serialises tensors (sorted by name, 8-byte aligned header as the reference implementation does). */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array[] {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    const bytes = numel(t.shape) * BYTES[t.dtype];
    if (t.data.byteLength !== bytes) {
      throw new SafetensorsError(`tensor ${name}: data has ${t.data.byteLength} bytes, shape [${t.shape}] ${t.dtype} needs ${bytes}`);
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.length));
  const chunks: Uint8Array[] = [prefix, headerBytes];
  for (const name of names) {
    const d = tensors[name].data;
    chunks.push(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  return chunks;
}

export function writeSafetensors(file: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

export interface SafetensorsFile {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors'): SafetensorsFile {
  const fail = (msg: string): never => {
    throw new SafetensorsError(`${source}: ${msg}`);
  };
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, too short for a safetensors header (truncated?)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > MAX_HEADER || 8 + headerLen > bytes.length) {
    fail(`header length ${headerLen} does not fit in a ${bytes.length}-byte file (truncated or not safetensors)`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLen)).toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    return fail(`header is not valid JSON (${(err as Error).message})`);
  }
  // `null`, a number or an array parse fine but are not a header (and `null` would crash below with a TypeError).
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const tensors: Record<string, Tensor> = {};
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata) || Object.values(metadata).some((v) => typeof v !== 'string')) {
    fail('__metadata__ must map strings to strings');
  }
  const ranges: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = entry as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
    // Object.hasOwn, not `in`: a dtype such as "toString" must not pass as a known one.
    if (!e || typeof e !== 'object' || typeof e.dtype !== 'string' || !Object.hasOwn(BYTES, e.dtype)) fail(`tensor ${name}: unsupported dtype ${String(e?.dtype)}`);
    if (!Array.isArray(e.shape) || e.shape.some((s) => !Number.isInteger(s) || s < 0)) fail(`tensor ${name}: bad shape`);
    if (!Array.isArray(e.data_offsets) || e.data_offsets.length !== 2) fail(`tensor ${name}: data_offsets must be [begin, end]`);
    const [begin, end] = e.data_offsets!;
    const dtype = e.dtype as SafetensorsDType;
    const expected = numel(e.shape!) * BYTES[dtype];
    if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 0 || end < begin || end > dataLen) {
      fail(`tensor ${name}: data offsets [${begin}, ${end}] outside the ${dataLen} data bytes (truncated?)`);
    }
    if (end - begin !== expected) fail(`tensor ${name}: ${end - begin} bytes for shape [${e.shape}] ${dtype} (expected ${expected})`);
    ranges.push([begin, end, name]);
    // Copy into an aligned buffer: the data section is not guaranteed to be aligned for typed-array views.
    // Uint8Array.prototype.slice copies; Buffer#slice would return a view of the whole file's buffer.
    const raw = Uint8Array.prototype.slice.call(bytes, dataStart + begin, dataStart + end);
    const buf = raw.buffer;
    const data =
      dtype === 'F32'
        ? new Float32Array(buf)
        : dtype === 'F64'
          ? new Float64Array(buf)
          : dtype === 'I32'
            ? new Int32Array(buf)
            : dtype === 'F16'
              ? new Uint16Array(buf)
              : new Uint8Array(buf);
    tensors[name] = { dtype, shape: e.shape!, data };
  }
  // By (begin, end), as the reference implementation does: an empty tensor sharing its begin with a non-empty one
  // must come first whatever the header order, or a valid file would be refused.
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let pos = 0;
  for (const [begin, end, name] of ranges) {
    if (begin !== pos) fail(`tensor ${name}: data does not start where the previous tensor ends (${begin} != ${pos})`);
    pos = end;
  }
  if (pos !== dataLen) fail(`${dataLen - pos} trailing bytes after the last tensor`);
  return { tensors, metadata };
}

export function readSafetensors(file: string): SafetensorsFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new SafetensorsError(`${file}: cannot read (${(err as Error).message})`);
  }
  return decodeSafetensors(bytes, file);
}
