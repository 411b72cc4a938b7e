/**
 * Shared pieces of the benchmark files: argument parsing, timing, statistics and the child-process protocol.
 *
 * Protocol: every benchmark file runs as its own process (`node bin/run-ts.mjs bench/<file>.ts --json [...]`).
 * Progress goes to stderr; with `--json` the last line of stdout is the result object (`BenchResult`), else a
 * readable summary is printed. Peak RSS is the process's own maximum resident set (getrusage), which covers the
 * jax-js wasm heap and its worker threads.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../src/settings.ts';

export interface BenchArgs {
  quick: boolean;
  json: boolean;
  /** `--name value` options. */
  options: Record<string, string>;
}

export function parseArgs(argv = process.argv.slice(2)): BenchArgs {
  const out: BenchArgs = { quick: false, json: false, options: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') out.quick = true;
    else if (a === '--json') out.json = true;
    else if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) out.options[a.slice(2, eq)] = a.slice(eq + 1);
      else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) out.options[a.slice(2)] = argv[++i];
      else out.options[a.slice(2)] = 'true';
    }
  }
  return out;
}

export function numberOption(args: BenchArgs, name: string, fallback: number): number {
  const v = args.options[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got ${JSON.stringify(v)}`);
  return n;
}

export type Status = 'ok' | 'unavailable' | 'error';

export interface BenchResult {
  name: string;
  status: Status;
  /** Why the benchmark is unavailable or failed. */
  reason?: string;
  /** How the numbers were measured (shown in the report). */
  method: string;
  quick: boolean;
  startedAt: string;
  /** Wall-clock seconds of the whole benchmark process (including compilation and warm-up). */
  seconds: number;
  /** Peak resident set of the benchmark process, MB (1e6 bytes). */
  peakRssMB: number;
  /** Memory at the end (MB): resident set, V8 heap, and ArrayBuffers (the wasm heap is one of them). */
  memoryAtEndMB?: { rss: number; heapUsed: number; external: number; arrayBuffers: number };
  /** 1-minute load average before and after (other processes competing for the cores). */
  loadAverage: { before: number; after: number };
  metrics: Record<string, unknown>;
  notes: string[];
}

export interface Stats {
  n: number;
  min: number;
  median: number;
  p95: number;
  mean: number;
  max: number;
}

/** Linear-interpolated quantile of a sample (q in [0, 1]). */
export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

export function stats(xs: number[]): Stats {
  return {
    n: xs.length,
    min: Math.min(...xs),
    median: quantile(xs, 0.5),
    p95: quantile(xs, 0.95),
    mean: xs.reduce((a, b) => a + b, 0) / xs.length,
    max: Math.max(...xs),
  };
}

export const nowMs = () => performance.now();

/**
 * Runs `fn` `warmup` times untimed, then `repeats` times timed. Returns the timed durations in milliseconds.
 * `fn` must itself wait for its results (e.g. `await array.data()`), so each sample is a complete call.
 */
export async function timeIt(fn: () => Promise<unknown>, o: { warmup: number; repeats: number; log?: (s: string) => void; label?: string }): Promise<number[]> {
  for (let i = 0; i < o.warmup; i++) {
    const t = nowMs();
    await fn();
    o.log?.(`${o.label ?? 'run'} warm-up ${i + 1}/${o.warmup}: ${(nowMs() - t).toFixed(1)} ms (rss ${rssMB()} MB)`);
  }
  const out: number[] = [];
  for (let i = 0; i < o.repeats; i++) {
    const t = nowMs();
    await fn();
    out.push(nowMs() - t);
    o.log?.(`${o.label ?? 'run'} ${i + 1}/${o.repeats}: ${out[i].toFixed(1)} ms (rss ${rssMB()} MB)`);
  }
  return out;
}

export const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/** Current RSS of this process, MB. */
export const rssMB = () => Math.round(process.memoryUsage.rss() / 1e6);

/** Peak RSS of this process so far, MB. */
export function peakRssMB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1000);
}

export const round = (x: number, digits = 3) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);

/** Wraps a benchmark body: timing, peak RSS, load, error capture, and the `--json` output. */
export async function runBench(
  name: string,
  body: (args: BenchArgs, ctx: { notes: string[] }) => Promise<{ method: string; metrics: Record<string, unknown>; status?: Status; reason?: string }>,
): Promise<void> {
  const args = parseArgs();
  const started = Date.now();
  const loadBefore = os.loadavg()[0];
  const notes: string[] = [];
  let result: BenchResult;
  try {
    const r = await body(args, { notes });
    result = {
      name,
      status: r.status ?? 'ok',
      ...(r.reason ? { reason: r.reason } : {}),
      method: r.method,
      quick: args.quick,
      startedAt: new Date(started).toISOString(),
      seconds: round((Date.now() - started) / 1000, 1),
      peakRssMB: peakRssMB(),
      memoryAtEndMB: memoryAtEnd(),
      loadAverage: { before: round(loadBefore, 2), after: round(os.loadavg()[0], 2) },
      metrics: r.metrics,
      notes,
    };
  } catch (err) {
    const e = err as Error;
    log(`${name} failed: ${e.stack ?? e.message}`);
    result = {
      name,
      status: 'error',
      reason: oneLine(e.message ?? String(err)),
      method: '',
      quick: args.quick,
      startedAt: new Date(started).toISOString(),
      seconds: round((Date.now() - started) / 1000, 1),
      peakRssMB: peakRssMB(),
      loadAverage: { before: round(loadBefore, 2), after: round(os.loadavg()[0], 2) },
      metrics: {},
      notes,
    };
  }
  if (args.json) process.stdout.write(JSON.stringify(result) + '\n');
  else process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  // jax-js keeps worker threads referenced in some states; the result is out, so leave now.
  process.exit(result.status === 'error' ? 1 : 0);
}

function memoryAtEnd() {
  const m = process.memoryUsage();
  return { rss: Math.round(m.rss / 1e6), heapUsed: Math.round(m.heapUsed / 1e6), external: Math.round(m.external / 1e6), arrayBuffers: Math.round(m.arrayBuffers / 1e6) };
}

export function oneLine(s: string, max = 300): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? t.slice(0, max - 1) + '…' : t;
}

/** Is this error jax-js / wasm running out of its 4 GiB heap? */
export function isOutOfMemory(err: unknown): boolean {
  const m = String((err as Error)?.message ?? err);
  return /out of memory|memory32 limit|exceeds the .*memory|memory access out of bounds|Cannot allocate|allocation failed|WebAssembly\.Memory|could not allocate/i.test(m);
}

/** Float32 array of uniform values in [-scale, scale) from a small seeded generator (deterministic inputs). */
export function randomFloats(n: number, seed: number, scale = 1): Float32Array<ArrayBuffer> {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/** The model bundle the predict and load benchmarks use unless --bundle is given. */
export const DEFAULT_BUNDLE = [path.join(PACKAGE_ROOT, 'models/phase-I'), path.join(PACKAGE_ROOT, '.scratch/smoke/phase_I/model')].find((d) => existsSync(path.join(d, 'config.json'))) ?? path.join(PACKAGE_ROOT, 'models/phase-I');

/** Median / min / max (ms, rounded) and count of a timing sample: the `ms` field of every timed benchmark. */
export function msSummary(s: Stats): { median: number; min: number; max: number; n: number } {
  return { median: round(s.median, 1), min: round(s.min, 1), max: round(s.max, 1), n: s.n };
}
