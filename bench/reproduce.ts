/**
 * Benchmark 6: end-to-end `cladmop reproduce --phase I` time. Not run here (it takes many minutes): the number
 * is read from the newest `runs/* /metrics.json` or `results/phase_I/metrics.json` that has a top-level
 * `seconds` field (written by src/train/reproduce.ts), else "not measured". The result says which file, its
 * date, which phases it covered and whether it was a `--quick` run, since only a full phase-I-only run
 * answers the target.
 *
 *   node bin/run-ts.mjs bench/reproduce.ts [--json]
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../src/settings.ts';
import { round, runBench } from './common.ts';
import { answersTarget, type ReproduceRun } from './reproduce-run.ts';

export function candidateFiles(root = PACKAGE_ROOT): string[] {
  const out: string[] = [];
  const runs = path.join(root, 'runs');
  if (existsSync(runs)) {
    for (const d of readdirSync(runs)) {
      const f = path.join(runs, d, 'metrics.json');
      if (existsSync(f)) out.push(f);
    }
  }
  const phaseI = path.join(root, 'results/phase_I/metrics.json');
  if (existsSync(phaseI)) out.push(phaseI);
  return out;
}

await runBench('reproduce', async () => {
  const found: ReproduceRun[] = [];
  for (const file of candidateFiles()) {
    try {
      const m = JSON.parse(readFileSync(file, 'utf8'));
      if (typeof m.seconds !== 'number') continue;
      const phases = Array.isArray(m.phases) ? m.phases.map((p: { phase?: string }) => String(p?.phase)) : [];
      found.push({
        file,
        mtime: statSync(file).mtimeMs,
        seconds: m.seconds,
        phases,
        quick: typeof m.quick === 'boolean' ? m.quick : null,
        options: m.options ?? null,
        pretrainCached: typeof m.pretraining?.cached === 'boolean' ? m.pretraining.cached : null,
        stageSeconds: m.stageSeconds ?? null,
      });
    } catch {
      // not a reproduce metrics file
    }
  }
  found.sort((a, b) => b.mtime - a.mtime);
  const method =
    'read from the newest runs/*/metrics.json or results/phase_I/metrics.json with a `seconds` field (src/train/reproduce.ts writes it), preferring a full phase-I run with the default options; not run by the bench';
  const newest = found.find(answersTarget) ?? found[0];
  if (!newest) return { status: 'unavailable', reason: 'not measured: no runs/*/metrics.json or results/phase_I/metrics.json with a `seconds` field', method, metrics: { measured: false } };
  return {
    method,
    metrics: {
      measured: true,
      file: path.relative(PACKAGE_ROOT, newest.file),
      date: new Date(newest.mtime).toISOString(),
      seconds: round(newest.seconds, 1),
      minutes: round(newest.seconds / 60, 2),
      phases: newest.phases,
      quick: newest.quick,
      /** Whether pre-training ran in this run (false) or its cached weights were reused (true); null = not recorded. */
      pretrainCached: newest.pretrainCached,
      stageSeconds: newest.stageSeconds,
      answersTarget: answersTarget(newest),
    },
  };
});
