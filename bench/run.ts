/**
 * `npm run bench [-- --quick] [-- --only NAME[,NAME]]`: runs the benchmark suite and writes
 * bench/results/<YYYY-MM-DD>.json and bench/results/<YYYY-MM-DD>.md (see bench/README.md).
 *
 * Every benchmark runs in its own child process (`node bin/run-ts.mjs bench/<file>.ts --json`), one after
 * another: jax-js's wasm heap never shrinks and fragments across shapes, and a benchmark must not compete with
 * another for the two cores. A benchmark may list several attempts (e.g. smaller batches after an out-of-memory);
 * the first that succeeds is kept and the failed ones are recorded.
 *
 * Options:
 *   --quick            tiny repeat counts (and smaller batches where marked): checks the suite in ~2 minutes
 *   --only a,b         run only these benchmarks (a name or a prefix: `lm` = lm-forward + lm-train, `cladmop`);
 *                      their results replace those entries in today's file, other entries are kept
 *   --out DIR          results directory (default bench/results)
 *   --list             print the benchmark names and exit
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../src/settings.ts';
import { writeFileAtomic } from '../src/runtime/atomic-write.ts';
import { parseArgs, oneLine, type BenchResult } from './common.ts';
import { busyProcesses, cpuBusyFraction, machineInfo } from './machine.ts';
import { derive, evaluateTargets, renderMarkdown, type Attempt, type BenchDocument, type BenchEntry } from './report.ts';

interface BenchSpec {
  name: string;
  file: string;
  /** Argument sets tried in order until one succeeds. */
  attempts: string[][];
  /** Argument sets in quick mode (default: `attempts`). */
  quickAttempts?: string[][];
  timeoutMinutes: number;
}

export const BENCHMARKS: BenchSpec[] = [
  { name: 'matmul', file: 'bench/matmul.ts', attempts: [[]], timeoutMinutes: 10 },
  {
    name: 'lm-forward',
    file: 'bench/lm.ts',
    // The issue's 16 x 512 (onnxruntime; the jax-js comparison runs at most 4 rows).
    attempts: [['--part', 'forward', '--batch', '16']],
    quickAttempts: [['--part', 'forward', '--batch', '4']],
    timeoutMinutes: 30,
  },
  { name: 'lm-train', file: 'bench/lm.ts', attempts: [['--part', 'train', '--batch', '2']], timeoutMinutes: 30 },
  {
    name: 'cladmop-pretrain',
    file: 'bench/cladmop-train.ts',
    attempts: [['--part', 'pretrain', '--batch', '16']],
    quickAttempts: [['--part', 'pretrain', '--batch', '2']],
    timeoutMinutes: 30,
  },
  { name: 'cladmop-finetune', file: 'bench/cladmop-train.ts', attempts: [['--part', 'finetune', '--batch', '16']], timeoutMinutes: 15 },
  {
    name: 'torch',
    file: 'bench/torch.ts',
    attempts: [['--batch', '16']],
    // Same shapes as the quick cladmop-pretrain, so the ratio still compares like with like.
    quickAttempts: [['--batch', '2']],
    timeoutMinutes: 60,
  },
  { name: 'predict', file: 'bench/predict.ts', attempts: [[]], timeoutMinutes: 30 },
  { name: 'load', file: 'bench/load.ts', attempts: [[]], timeoutMinutes: 10 },
  { name: 'hostile', file: 'bench/hostile.ts', attempts: [[]], timeoutMinutes: 20 },
  { name: 'reproduce', file: 'bench/reproduce.ts', attempts: [[]], timeoutMinutes: 2 },
];

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

function runChild(spec: BenchSpec, args: string[], quick: boolean): Promise<BenchResult> {
  const childArgs = [path.join(PACKAGE_ROOT, 'bin/run-ts.mjs'), spec.file, '--json', ...(quick ? ['--quick'] : []), ...args];
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, childArgs, { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => (stdout += s));
    const timer = setTimeout(() => {
      log(`${spec.name}: no result after ${spec.timeoutMinutes} min, stopping it`);
      child.kill('SIGKILL');
    }, spec.timeoutMinutes * 60_000);
    const fail = (reason: string): BenchResult => ({
      name: spec.name,
      status: 'error',
      reason,
      method: '',
      quick,
      startedAt: new Date(started).toISOString(),
      seconds: Math.round((Date.now() - started) / 100) / 10,
      peakRssMB: 0,
      loadAverage: { before: NaN, after: os.loadavg()[0] },
      metrics: {},
      notes: [],
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve(fail(`could not start: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        const r = JSON.parse(last) as BenchResult;
        resolve({ ...r, name: spec.name });
      } catch {
        resolve(fail(`process ended without a result (${signal ? `signal ${signal}` : `exit code ${code}`})${signal === 'SIGKILL' ? ': killed (timeout or out of memory)' : ''}`));
      }
    });
  });
}

async function runSpec(spec: BenchSpec, quick: boolean): Promise<BenchEntry> {
  const attempts: Attempt[] = [];
  const list = (quick && spec.quickAttempts) || spec.attempts;
  let result: BenchResult | null = null;
  let args: string[] = [];
  for (const a of list) {
    args = a;
    log(`${spec.name}: node bin/run-ts.mjs ${spec.file} --json${quick ? ' --quick' : ''} ${a.join(' ')}`);
    result = await runChild(spec, a, quick);
    attempts.push({ args: a, status: result.status, ...(result.reason ? { reason: oneLine(result.reason, 200) } : {}), seconds: result.seconds, peakRssMB: result.peakRssMB });
    if (result.status !== 'error') break;
    log(`${spec.name}: ${result.reason}`);
  }
  return { ...result!, file: spec.file, args, ...(list.length > 1 ? { attempts } : {}) };
}

function selected(only: string | undefined): BenchSpec[] {
  if (!only) return BENCHMARKS;
  const names = only.split(',').map((s) => s.trim()).filter(Boolean);
  const out = BENCHMARKS.filter((b) => names.some((n) => b.name === n || b.name.startsWith(n + '-')));
  const unknown = names.filter((n) => !BENCHMARKS.some((b) => b.name === n || b.name.startsWith(n + '-')));
  if (unknown.length) throw new Error(`unknown benchmark(s) ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
  return out;
}

const args = parseArgs();
if (args.options.list) {
  for (const b of BENCHMARKS) console.log(`${b.name}\t${b.file} ${b.attempts[0].join(' ')}`);
  process.exit(0);
}
let specs: BenchSpec[];
try {
  specs = selected(args.options.only);
} catch (err) {
  console.error((err as Error).message);
  process.exit(2);
}
const outDir = path.resolve(args.options.out ?? path.join(PACKAGE_ROOT, 'bench/results'));
const startedAt = new Date();
const date = startedAt.toISOString().slice(0, 10);
const jsonFile = path.join(outDir, `${date}.json`);
const mdFile = path.join(outDir, `${date}.md`);

const cpuBusyBefore = await cpuBusyFraction(1000);
const loadAverageBefore = os.loadavg().map((x) => Math.round(x * 100) / 100);
const busy = busyProcesses();
const underLoad = (cpuBusyBefore ?? 0) > 0.25 || loadAverageBefore[0] > 0.5 * os.availableParallelism();
log(`${specs.length} benchmark(s)${args.quick ? ' in quick mode' : ''}; CPU busy before start: ${cpuBusyBefore === null ? '?' : Math.round(cpuBusyBefore * 100) + '%'}, load ${loadAverageBefore.join(' ')}${underLoad ? ' (UNDER LOAD: numbers will be slow)' : ''}`);

// With --only, keep today's other entries (from the same mode).
let previous: BenchDocument | null = null;
if (args.options.only && existsSync(jsonFile)) {
  try {
    previous = JSON.parse(readFileSync(jsonFile, 'utf8')) as BenchDocument;
    if (previous.quick !== args.quick) previous = null;
  } catch {
    previous = null;
  }
}
const benchmarks: Record<string, BenchEntry> = {};
for (const b of BENCHMARKS) if (previous?.benchmarks[b.name]) benchmarks[b.name] = previous.benchmarks[b.name];
for (const spec of specs) {
  const entry = await runSpec(spec, args.quick);
  benchmarks[spec.name] = entry;
  log(`${spec.name}: ${entry.status}${entry.reason ? ` (${entry.reason})` : ''} in ${entry.seconds} s, peak RSS ${entry.peakRssMB} MB`);
}
// Keep the suite's order.
const ordered: Record<string, BenchEntry> = {};
for (const b of BENCHMARKS) if (benchmarks[b.name]) ordered[b.name] = benchmarks[b.name];

const derived = derive(ordered);
const machine = { ...machineInfo(), torch: ((ordered.torch?.metrics ?? {}) as { torch?: string }).torch ?? null };
const doc: BenchDocument = {
  schema: 'cladmop-bench-v1',
  date,
  quick: args.quick,
  command: `npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`,
  startedAt: previous?.startedAt ?? startedAt.toISOString(),
  finishedAt: new Date().toISOString(),
  machine,
  // With --only, the kept entries may come from a busier moment: the flag covers both.
  load: { cpuBusyBefore, loadAverageBefore, busyProcesses: busy, underLoad: underLoad || (previous?.load.underLoad ?? false) },
  benchmarks: ordered,
  derived,
  targets: evaluateTargets(ordered, derived),
};
mkdirSync(outDir, { recursive: true });
writeFileAtomic(jsonFile, JSON.stringify(doc, null, 1) + '\n');
writeFileAtomic(mdFile, renderMarkdown(doc));
log(`wrote ${path.relative(process.cwd(), jsonFile)} and ${path.relative(process.cwd(), mdFile)}`);
for (const t of doc.targets) log(`target ${t.target}: ${t.status} (${t.measured})`);
