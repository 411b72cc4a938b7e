/**
 * On-disk, content-addressed cache of criteria-encoder outputs (float16).
 *
 * Key: sha256(encoder id + criteria text). The encoder id is itself a hash of the encoder's weights, config,
 * tokenizer and layer choice, so a new encoder never reads an old encoder's entries. One file per entry:
 *
 *   "CLDMEMB1" | u32 header length | JSON header | int32 tokens[n] | u8 segments[n] (padded to 4) |
 *   f16 levels[L][n][d] | sha256 of everything before (32 bytes)
 *
 * Entries are written atomically; a truncated or corrupted entry fails its checksum and is recomputed.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../runtime/atomic-write.ts';
import { float32ToHalf, halfToFloat32 } from '../runtime/float16.ts';
import type { EncodedCriteria } from './criteria-encoder.ts';

const MAGIC = Buffer.from('CLDMEMB1', 'ascii');

export class CacheEntryCorrupt extends Error {}

export function cacheKey(encoderId: string, text: string): string {
  return createHash('sha256').update(encoderId).update('\0').update(text).digest('hex');
}

export interface EmbeddingCacheOptions {
  /**
   * Treat the cache as an optimisation only (prediction): when it cannot be read or written (a read-only or
   * invalid directory, an entry replaced by a directory), warn once and go on without it, instead of failing the
   * run. Training keeps the default (false): it relies on entries it wrote being there.
   */
  bestEffort?: boolean;
  /** Where the one warning goes (default: stderr). */
  warn?: (message: string) => void;
}

export class EmbeddingCache {
  readonly dir: string;
  /** Set when a best-effort cache gave up: it then reads and writes nothing. */
  disabled: string | null = null;

  constructor(
    root: string,
    readonly encoderId: string,
    private readonly options: EmbeddingCacheOptions = {},
  ) {
    // One folder per encoder keeps `du` per encoder easy and lets a user delete one encoder's cache.
    this.dir = path.join(root, createHash('sha256').update(encoderId).digest('hex').slice(0, 16));
  }

  /** A best-effort cache stops at its first failure (with one warning); otherwise the error is thrown. */
  private failed(err: unknown, what: string): void {
    if (!this.options.bestEffort) throw err;
    const e = err as NodeJS.ErrnoException;
    this.disabled = `${what}: ${e.code ?? e.message}`;
    const message = `embedding cache ${this.dir} is unusable (${this.disabled}); continuing without it (set CLADMOP_CACHE to a writable directory, or pass --no-cache)`;
    (this.options.warn ?? ((m: string) => process.stderr.write(`cladmop: warning: ${m}\n`)))(message);
  }

  private file(key: string): string {
    return path.join(this.dir, key.slice(0, 2), `${key}.emb`);
  }

  /** The cached entry, or null when absent. A corrupt entry is deleted and reported as absent. */
  get(text: string): EncodedCriteria | null {
    if (this.disabled) return null;
    const key = cacheKey(this.encoderId, text);
    const file = this.file(key);
    if (!existsSync(file)) return null;
    try {
      return decodeEntry(readFileSync(file), this.encoderId, key);
    } catch (err) {
      if (err instanceof CacheEntryCorrupt) {
        try {
          rmSync(file, { force: true });
        } catch (rmErr) {
          this.failed(rmErr, 'cannot remove a corrupt entry');
        }
        return null;
      }
      this.failed(err, 'cannot read an entry');
      return null;
    }
  }

  /**
   * `entry` (this cache's entry for `text`) with its hidden states left on disk: `levels` reads and decodes the
   * entry again on every access (~4.5 ms per trial, read and checked), so a training run over thousands of trials holds only
   * their token ids in memory (the states are ~1 MB per trial in float32).
   */
  onDisk(text: string, entry: EncodedCriteria): EncodedCriteria {
    const { tokens, segments, dim } = entry;
    const read = () => {
      const v = this.get(text);
      if (!v) throw new Error(`the criteria states of a trial are no longer in the embedding cache ${this.dir} (deleted during the run?); run again to recompute them. Criteria begin: ${JSON.stringify(text.slice(0, 60))}`);
      return v.levels;
    };
    return {
      tokens,
      segments,
      dim,
      get levels() {
        return read();
      },
    };
  }

  has(text: string): boolean {
    return existsSync(this.file(cacheKey(this.encoderId, text)));
  }

  put(text: string, value: EncodedCriteria): void {
    if (this.disabled) return;
    const key = cacheKey(this.encoderId, text);
    const file = this.file(key);
    try {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileAtomic(file, encodeEntry(value, this.encoderId, key));
    } catch (err) {
      this.failed(err, 'cannot write an entry');
    }
  }

  /** Number of entries and bytes on disk. */
  size(): { entries: number; bytes: number } {
    let entries = 0;
    let bytes = 0;
    if (!existsSync(this.dir)) return { entries, bytes };
    for (const sub of readdirSync(this.dir)) {
      const d = path.join(this.dir, sub);
      if (!statSync(d).isDirectory()) continue;
      for (const f of readdirSync(d)) {
        if (!f.endsWith('.emb')) continue;
        entries++;
        bytes += statSync(path.join(d, f)).size;
      }
    }
    return { entries, bytes };
  }
}

export function encodeEntry(v: EncodedCriteria, encoderId: string, key: string): Buffer {
  const n = v.tokens.length;
  const d = v.dim;
  const header = Buffer.from(JSON.stringify({ version: 1, encoderId, key, n, d, levels: v.levels.length }), 'utf8');
  const headerLen = Buffer.alloc(4);
  headerLen.writeUInt32LE(header.length);
  const tokens = Buffer.from(Int32Array.from(v.tokens).buffer);
  const segPad = (4 - (n % 4)) % 4;
  const segments = Buffer.concat([Buffer.from(v.segments), Buffer.alloc(segPad)]);
  const levels = v.levels.map((l) => {
    if (l.length !== n * d) throw new Error(`level has ${l.length} values, expected ${n} x ${d}`);
    return Buffer.from(float32ToHalf(l).buffer);
  });
  const body = Buffer.concat([MAGIC, headerLen, header, tokens, segments, ...levels]);
  const digest = createHash('sha256').update(body).digest();
  return Buffer.concat([body, digest]);
}

export function decodeEntry(buf: Buffer, encoderId: string, key: string): EncodedCriteria {
  const corrupt = (why: string): never => {
    throw new CacheEntryCorrupt(`cache entry ${key.slice(0, 12)}: ${why}`);
  };
  if (buf.length < MAGIC.length + 4 + 32 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) corrupt('bad magic or truncated');
  const body = buf.subarray(0, buf.length - 32);
  const digest = createHash('sha256').update(body).digest();
  if (!digest.equals(buf.subarray(buf.length - 32))) corrupt('checksum mismatch');
  const headerLen = buf.readUInt32LE(MAGIC.length);
  let header: { version: number; encoderId: string; key: string; n: number; d: number; levels: number };
  try {
    header = JSON.parse(buf.subarray(MAGIC.length + 4, MAGIC.length + 4 + headerLen).toString('utf8'));
  } catch {
    return corrupt('bad header');
  }
  if (header.version !== 1 || header.encoderId !== encoderId || header.key !== key) corrupt('header does not match');
  const { n, d, levels } = header;
  let off = MAGIC.length + 4 + headerLen;
  const expected = off + 4 * n + n + ((4 - (n % 4)) % 4) + 2 * levels * n * d;
  if (expected !== body.length) corrupt(`length ${body.length} != expected ${expected}`);
  const copy = (bytes: number) => {
    const out = Uint8Array.prototype.slice.call(buf, off, off + bytes);
    off += bytes;
    return out.buffer;
  };
  const tokens = Array.from(new Int32Array(copy(4 * n)));
  const segments = new Uint8Array(copy(n));
  off += (4 - (n % 4)) % 4;
  const out: Float32Array[] = [];
  for (let l = 0; l < levels; l++) out.push(halfToFloat32(new Uint16Array(copy(2 * n * d))));
  return { levels: out, tokens, segments, dim: d };
}
