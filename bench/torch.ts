/**
 * Benchmark 4: the CLaDMoP pre-training step in PyTorch on the CPU (bench/torch_cladmop_step.py, a mirror of
 * src/model/cladmop.ts), 2 threads, median step time. The mirror is checked by comparing its parameter counts,
 * part by part, with the TypeScript model's.
 *
 * PyTorch comes from Debian (`python3-torch`), run with Debian's interpreter /usr/bin/python3 (a pyenv or venv
 * python3 on PATH does not see Debian's packages). When it is missing and we are root with apt-get, this
 * installs it (`apt-get update && apt-get install -y python3-torch`); BENCH_NO_INSTALL=1 disables that. When
 * it still cannot be imported the result is "unavailable: <reason>". BENCH_TORCH_OPENBLAS=1 also installs Debian's
 * libopenblas0-pthread (Debian's torch otherwise runs on the reference BLAS: see bench/README.md).
 *
 * The step is timed with 2 threads (the main number) and, as a diagnostic, with 1 thread: on a machine where
 * other processes hold a core, PyTorch's OpenMP threads stall each other (measured under load: 12 s per step
 * with 2 threads, 1.2 s with 1), and the faster of the two is then PyTorch's honest time on this machine.
 *
 *   node bin/run-ts.mjs bench/torch.ts [--quick] [--json] [--batch 16] [--criteria 512]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { init } from '@jax-js/jax';
import { PACKAGE_ROOT } from '../src/settings.ts';
import { log, numberOption, oneLine, round, runBench } from './common.ts';
import { BENCH_BATCH, BENCH_CRITERIA, benchConfig, parameterCounts } from './synthetic.ts';

const SCRIPT = path.join(PACKAGE_ROOT, 'bench/torch_cladmop_step.py');

function pythonCandidates(): string[] {
  const out: string[] = [];
  if (process.env.BENCH_PYTHON) out.push(process.env.BENCH_PYTHON);
  if (existsSync('/usr/bin/python3')) out.push('/usr/bin/python3');
  out.push('python3');
  return [...new Set(out)];
}

function torchVersion(python: string): string | null {
  const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 120_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

let aptUpdated = false;

/** `apt-get install -y PACKAGES` (after one `apt-get update`); null on success, else why not. */
function aptInstall(packages: string[]): string | null {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' }).status === 0;
  if (!isRoot || !hasApt) return `cannot install ${packages.join(' ')} here (${!hasApt ? 'no apt-get' : 'not root'})`;
  log(`apt-get install -y ${packages.join(' ')} (may take a few minutes)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    const upd = spawnSync('apt-get', ['update', '-qq'], { encoding: 'utf8', env, timeout: 600_000 });
    if (upd.status !== 0) return `apt-get update failed: ${oneLine(upd.stderr || String(upd.error ?? ''))}`;
    aptUpdated = true;
  }
  const inst = spawnSync('apt-get', ['install', '-y', '-q', ...packages], { encoding: 'utf8', env, timeout: 1_800_000 });
  if (inst.status !== 0) return `apt-get install ${packages.join(' ')} failed: ${oneLine(inst.stderr || String(inst.error ?? ''))}`;
  return null;
}

const isInstalled = (pkg: string) => spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' }).stdout?.includes('install ok installed') ?? false;

/** A python with torch importable, installing Debian's python3-torch if needed. Returns [python, null] or [null, reason]. */
export function ensureTorch(notes: string[]): [string | null, string | null] {
  const noInstall = process.env.BENCH_NO_INSTALL === '1';
  if (process.env.BENCH_TORCH_OPENBLAS === '1' && !noInstall && !isInstalled('libopenblas0-pthread')) {
    const err = aptInstall(['libopenblas0-pthread']);
    notes.push(err ? `BENCH_TORCH_OPENBLAS=1: ${err}` : 'installed libopenblas0-pthread (BENCH_TORCH_OPENBLAS=1)');
  }
  for (const py of pythonCandidates()) if (torchVersion(py)) return [py, null];
  if (noInstall) return [null, 'PyTorch is not installed (BENCH_NO_INSTALL=1: not installing python3-torch)'];
  const err = aptInstall(['python3-torch']);
  if (err) return [null, `PyTorch is not installed and ${err}; install Debian's python3-torch`];
  notes.push('installed python3-torch with apt-get for this run');
  for (const py of pythonCandidates()) if (torchVersion(py)) return [py, null];
  return [null, 'python3-torch was installed but `import torch` still fails'];
}

interface TorchRun {
  torch: string;
  threads: number;
  parameters: Record<string, number>;
  blas: string[];
  stepMs: { median: number; min: number; max: number; n: number };
  matmul1024Gflops: number;
}

function runScript(python: string, o: { B: number; L: number; icdVocab: number; threads: number; warmup: number; repeats: number }): TorchRun {
  log(`running ${path.relative(PACKAGE_ROOT, SCRIPT)} with ${python}: batch ${o.B}, ${o.L} criteria tokens, ${o.threads} thread(s)`);
  const r = spawnSync(
    python,
    [SCRIPT, '--batch', String(o.B), '--criteria', String(o.L), '--icd-vocab', String(o.icdVocab), '--threads', String(o.threads), '--warmup', String(o.warmup), '--repeats', String(o.repeats)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 3_600_000, maxBuffer: 1 << 24 },
  );
  if (r.status !== 0) throw new Error(`torch_cladmop_step.py failed (${r.signal ?? r.status}): ${oneLine(String(r.error ?? ''))}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchRun;
}

await runBench('torch', async (args, { notes }) => {
  const { config: c } = benchConfig();
  const B = numberOption(args, 'batch', BENCH_BATCH);
  const L = numberOption(args, 'criteria', BENCH_CRITERIA);
  const warmup = 1;
  const repeats = args.quick ? 1 : 10;
  await init('wasm');
  const tsCounts = parameterCounts(c);
  const [python, reason] = ensureTorch(notes);
  if (!python) return { status: 'unavailable', reason: `unavailable: ${reason}`, method: '', metrics: { batch: B, criteriaTokens: L, tsParameters: tsCounts } };
  const out = runScript(python, { B, L, icdVocab: c.icdVocab, threads: 2, warmup, repeats });
  const one = runScript(python, { B, L, icdVocab: c.icdVocab, threads: 1, warmup, repeats: args.quick ? 1 : Math.ceil(repeats / 2) });
  if (one.stepMs.median < out.stepMs.median) {
    notes.push(
      `PyTorch was faster on 1 thread (${one.stepMs.median.toFixed(0)} ms) than on 2 (${out.stepMs.median.toFixed(0)} ms): other processes hold a core and ` +
        'its OpenMP threads wait for each other. The target is checked against the faster one.',
    );
  }
  const torchCounts = out.parameters;
  const mismatches = Object.entries(torchCounts).filter(([k, v]) => tsCounts[k] !== v).map(([k, v]) => `${k}: torch ${v} vs TS ${tsCounts[k]}`);
  log(`parameters: PyTorch ${torchCounts.total}, TypeScript ${tsCounts.total - tsCounts.lora} (+ ${tsCounts.lora} LoRA, not used in pre-training)`);
  const blas = out.blas.map((p) => path.basename(p));
  const referenceBlas = out.blas.some((p) => /\/blas\/libblas\.so/.test(p)) && !out.blas.some((p) => /openblas|mkl|blis/.test(p));
  if (referenceBlas) {
    notes.push(
      `PyTorch runs on Debian's reference BLAS (${blas.join(', ')}; ${out.matmul1024Gflops.toFixed(1)} GFLOP/s on a 1024^3 matmul, single-threaded): a slow baseline. ` +
        'Installing Debian\'s libopenblas0-pthread switches the libblas.so.3 alternative to OpenBLAS.',
    );
  }
  return {
    ...(mismatches.length ? { status: 'error' as const, reason: `PyTorch mirror differs from the TypeScript model: ${mismatches.join('; ')}` } : {}),
    method:
      `bench/torch_cladmop_step.py: the pre-training step (pairLogits over ${B}x${B} pairs + symmetric InfoNCE + backward + clipping + AdamW) ` +
      `mirrored in PyTorch ${out.torch} (eager, float32, torch.set_num_threads(2)) on a synthetic batch of the same shapes (inputs built once); ` +
      `${warmup} warm-up step, median of ${repeats}; again with 1 thread as a diagnostic (its median is \`oneThread\`). Mirror check: parameter counts per part equal the TypeScript model's.`,
    metrics: {
      python,
      torch: out.torch,
      threads: out.threads,
      blas,
      referenceBlas,
      matmul1024Gflops: round(out.matmul1024Gflops, 2),
      batch: B,
      criteriaTokens: L,
      ms: { median: round(out.stepMs.median, 1), min: round(out.stepMs.min, 1), max: round(out.stepMs.max, 1), n: out.stepMs.n },
      oneThread: { median: round(one.stepMs.median, 1), min: round(one.stepMs.min, 1), n: one.stepMs.n },
      /** The faster of the 2-thread and 1-thread medians: PyTorch's time on this machine as it was. */
      bestMs: round(Math.min(out.stepMs.median, one.stepMs.median), 1),
      parameters: { torch: torchCounts, typescript: tsCounts, match: mismatches.length === 0 },
    },
  };
});
