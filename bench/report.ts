/** Derived numbers, target checks and the Markdown summary of a benchmark run (pure functions). */
import type { BenchResult } from './common.ts';
import type { MachineInfo } from './machine.ts';

export interface Attempt {
  args: string[];
  status: string;
  reason?: string;
  seconds: number;
  peakRssMB: number;
}

/** The configured sizes (DEFAULT_PRETRAIN batch, LM encoder batch asked for by the issue). */
export const CONFIGURED_BATCH = { pretrain: 16, lmForward: 16 };

export type BenchEntry = BenchResult & { file: string; args: string[]; attempts?: Attempt[] };

export interface TargetCheck {
  target: string;
  threshold: string;
  measured: string;
  status: 'pass' | 'miss' | 'not measured' | 'not comparable';
  note?: string;
}

export interface BenchDocument {
  schema: 'cladmop-bench-v1';
  date: string;
  quick: boolean;
  command: string;
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo & { torch?: string | null };
  load: { cpuBusyBefore: number | null; loadAverageBefore: number[]; busyProcesses: { pid: number; cpuPercent: number; rssMB: number; command: string }[]; underLoad: boolean };
  benchmarks: Record<string, BenchEntry>;
  derived: Record<string, number | string | null>;
  targets: TargetCheck[];
}

/** 4 GB as in the issue (4e9 bytes), in the MB (1e6 bytes) the benchmarks report. */
export const RSS_LIMIT_MB = 4000;
export const RSS_BENCHMARKS = ['lm-forward', 'lm-train', 'cladmop-pretrain', 'cladmop-finetune', 'predict'];

// Loosely typed access to a benchmark's metrics.
type M = Record<string, any>;
const ok = (b: BenchEntry | undefined): boolean => !!b && b.status === 'ok';
const m = (b: BenchEntry | undefined): M => (b?.metrics ?? {}) as M;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

export function derive(benchmarks: Record<string, BenchEntry>): Record<string, number | string | null> {
  const d: Record<string, number | string | null> = {};
  const mm = benchmarks.matmul;
  const ceiling: number | undefined = ok(mm) ? m(mm).onnxruntime?.gflops : undefined;
  d.matmulCeilingGflops = ceiling ?? null;
  d.jaxMatmulGflops = ok(mm) ? (m(mm).jax?.gflops ?? null) : null;
  for (const [key, name] of [['lmForward', 'lm-forward'], ['lmTrain', 'lm-train']] as const) {
    const b = benchmarks[name];
    d[`${key}TokensPerSecond`] = ok(b) ? m(b).tokensPerSecond : null;
    d[`${key}Gflops`] = ok(b) ? m(b).gflops : null;
    d[`${key}FractionOfCeiling`] = ok(b) && ceiling ? r3(m(b).gflops / ceiling) : null;
  }
  const pre = benchmarks['cladmop-pretrain'];
  const torch = benchmarks.torch;
  d.pretrainStepMs = ok(pre) ? m(pre).ms.median : null;
  d.finetuneStepMs = ok(benchmarks['cladmop-finetune']) ? m(benchmarks['cladmop-finetune']).ms.median : null;
  // PyTorch's time: the faster of its 2-thread run (the main number) and its 1-thread diagnostic run.
  d.torchPretrainStepMs = ok(torch) ? (m(torch).bestMs ?? m(torch).ms.median) : null;
  d.torchPretrainStepMs2Threads = ok(torch) ? m(torch).ms.median : null;
  d.torchPretrainStepMs1Thread = ok(torch) ? (m(torch).oneThread?.median ?? null) : null;
  if (ok(pre) && ok(torch)) {
    const same = m(pre).batch === m(torch).batch && m(pre).criteriaTokens === m(torch).criteriaTokens;
    d.typescriptOverTorch = same ? r3(m(pre).ms.median / (d.torchPretrainStepMs as number)) : null;
    d.typescriptOverTorch2Threads = same ? r3(m(pre).ms.median / m(torch).ms.median) : null;
    if (!same) d.typescriptOverTorchNote = `shapes differ: TypeScript batch ${m(pre).batch}x${m(pre).criteriaTokens}, PyTorch ${m(torch).batch}x${m(torch).criteriaTokens}`;
    d.torchBlas = m(torch).referenceBlas ? 'reference BLAS' : (m(torch).blas ?? []).join(', ');
  } else d.typescriptOverTorch = null;
  const rss = RSS_BENCHMARKS.map((n) => benchmarks[n]).filter((b): b is BenchEntry => !!b && b.peakRssMB > 0 && b.status === 'ok');
  const worst = rss.sort((a, b) => b.peakRssMB - a.peakRssMB)[0];
  d.peakRssMB = worst ? worst.peakRssMB : null;
  d.peakRssBenchmark = worst ? worst.name : null;
  return d;
}

const fmt = (x: number, digits = 1) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function evaluateTargets(benchmarks: Record<string, BenchEntry>, d: Record<string, number | string | null>): TargetCheck[] {
  const out: TargetCheck[] = [];
  // 1. Train step vs PyTorch.
  const ratio = d.typescriptOverTorch as number | null;
  const torch = benchmarks.torch;
  if (ratio === null) {
    out.push({
      target: 'CLaDMoP pre-training step vs PyTorch',
      threshold: '<= 1.5x PyTorch',
      measured: '–',
      status: 'not measured',
      note: (d.typescriptOverTorchNote as string | undefined) ?? (torch && torch.status !== 'ok' ? torch.reason : 'a benchmark is missing'),
    });
  } else {
    out.push({
      target: 'CLaDMoP pre-training step vs PyTorch',
      threshold: '<= 1.5x PyTorch',
      measured:
        `${fmt(ratio, 2)}x (${fmt(d.pretrainStepMs as number, 0)} vs ${fmt(d.torchPretrainStepMs as number, 0)} ms` +
        (d.torchPretrainStepMs1Thread !== null ? `; PyTorch 2 threads ${fmt(d.torchPretrainStepMs2Threads as number, 0)} ms, 1 thread ${fmt(d.torchPretrainStepMs1Thread as number, 0)} ms)` : ')'),
      status: ratio <= 1.5 ? 'pass' : 'miss',
      note: [
        m(benchmarks['cladmop-pretrain']).batch !== CONFIGURED_BATCH.pretrain ? `at batch ${m(benchmarks['cladmop-pretrain']).batch}, not the configured ${CONFIGURED_BATCH.pretrain}` : '',
        m(torch).referenceBlas
          ? `PyTorch here runs on Debian's reference BLAS (${fmt(m(torch).matmul1024Gflops, 1)} GFLOP/s on 1024^3, vs ${fmt((d.matmulCeilingGflops as number) ?? NaN, 1)} for onnxruntime): a slow baseline, so this ratio flatters TypeScript`
          : '',
      ]
        .filter(Boolean)
        .join('; ') || undefined,
    });
  }
  // 2-3. Predict.
  const pr = benchmarks.predict;
  if (ok(pr)) {
    const p95 = m(pr).singleTrialMs.p95 as number;
    out.push({ target: 'Single-trial predict p95 (warm)', threshold: '<= 50 ms', measured: `${fmt(p95, 1)} ms (p50 ${fmt(m(pr).singleTrialMs.p50, 1)})`, status: p95 <= 50 ? 'pass' : 'miss', note: `per trial: ${m(pr).singleTrialWhere}` });
    const tps = m(pr).bestBatchTrialsPerSecond as number;
    const b = m(pr).batch;
    out.push({
      target: 'Batch predict throughput',
      threshold: '>= 200 trials/s',
      measured: `${fmt(tps, 1)} trials/s`,
      status: tps >= 200 ? 'pass' : 'miss',
      note: `batch of ${m(pr).trials}: ${fmt(b.cached.trialsPerSecond, 1)} trials/s with a warm embedding cache, ${fmt(b.uncached.trialsPerSecond, 1)} without (${m(pr).batchWhere})`,
    });
  } else {
    const why = pr?.reason ?? 'not run';
    out.push({ target: 'Single-trial predict p95 (warm)', threshold: '<= 50 ms', measured: '–', status: 'not measured', note: why });
    out.push({ target: 'Batch predict throughput', threshold: '>= 200 trials/s', measured: '–', status: 'not measured', note: why });
  }
  // 4. Reproduce.
  const rp = benchmarks.reproduce;
  if (ok(rp) && m(rp).measured) {
    const min = m(rp).minutes as number;
    out.push({
      target: 'reproduce --phase I end to end',
      threshold: '<= 15 min',
      measured: `${fmt(min, 1)} min (${m(rp).file})`,
      status: m(rp).answersTarget ? (min <= 15 ? 'pass' : 'miss') : 'not comparable',
      note: m(rp).answersTarget
        ? m(rp).pretrainCached === true
          ? 'pre-training reused from the cache'
          : m(rp).pretrainCached === false
            ? 'pre-training included'
            : undefined
        : `that run was not a default phase I run (phases ${(m(rp).phases as string[]).join(', ') || '?'}${m(rp).quick ? ', --quick' : ''})`,
    });
  } else out.push({ target: 'reproduce --phase I end to end', threshold: '<= 15 min', measured: '–', status: 'not measured', note: rp?.reason ?? 'not run' });
  // 4b. The service under hostile input (issue 16).
  const ho = benchmarks.hostile;
  if (ok(ho)) {
    const h = m(ho).healthzDuringExplainMs;
    out.push({
      target: '/healthz p99 while the heaviest allowed explanation runs',
      threshold: '<= 100 ms',
      measured: `${fmt(h.p99, 1)} ms (p50 ${fmt(h.p50, 1)}, max ${fmt(h.max, 1)}, n ${h.n})`,
      status: h.p99 <= 100 ? 'pass' : 'miss',
      note: `the explanation took ${fmt(m(ho).heaviestExplain.seconds, 1)} s (status ${m(ho).heaviestExplain.status})`,
    });
    const r = m(ho).rssMb;
    out.push({
      target: `Server RSS after ${m(ho).requests} hostile requests`,
      threshold: 'within 10% of the start',
      measured: `${fmt(r.ratio, 3)}x (${r.start} -> peak ${r.peak} -> ${r.end} MB)`,
      status: Math.abs(r.ratio - 1) <= 0.1 ? 'pass' : 'miss',
      note: `${m(ho).serverErrors} 5xx other than 503`,
    });
  } else {
    const why = ho?.reason ?? 'not run';
    out.push({ target: '/healthz p99 while the heaviest allowed explanation runs', threshold: '<= 100 ms', measured: '–', status: 'not measured', note: why });
    out.push({ target: 'Server RSS after hostile requests', threshold: 'within 10% of the start', measured: '–', status: 'not measured', note: why });
  }
  // 5. Peak RSS.
  if (d.peakRssMB !== null) {
    const mb = d.peakRssMB as number;
    // Smaller batches than configured (quick mode) give a lower bound only: a pass is then not conclusive.
    const reduced: string[] = [];
    if (ok(benchmarks['cladmop-pretrain']) && m(benchmarks['cladmop-pretrain']).batch < CONFIGURED_BATCH.pretrain) reduced.push(`cladmop-pretrain at batch ${m(benchmarks['cladmop-pretrain']).batch}`);
    const lf = benchmarks['lm-forward'];
    if (ok(lf) && lf.quick && m(lf).batch < CONFIGURED_BATCH.lmForward) reduced.push(`lm-forward at batch ${m(lf).batch}`);
    const status = mb > RSS_LIMIT_MB ? 'miss' : reduced.length ? 'not comparable' : 'pass';
    const note = [`largest over ${RSS_BENCHMARKS.filter((n) => ok(benchmarks[n])).join(', ')}`, reduced.length ? `smaller than configured: ${reduced.join(', ')}` : ''].filter(Boolean).join('; ');
    out.push({ target: 'Peak RSS', threshold: '<= 4 GB', measured: `${fmt(mb / 1000, 2)} GB (${d.peakRssBenchmark})`, status, note });
  } else out.push({ target: 'Peak RSS', threshold: '<= 4 GB', measured: '–', status: 'not measured' });
  return out;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** One line with the headline numbers of a benchmark. */
export function headline(b: BenchEntry): string {
  if (b.status !== 'ok') return `**${b.status}**: ${b.reason ?? ''}`;
  const x = m(b);
  switch (b.name) {
    case 'matmul': {
      const o = x.onnxruntime;
      const ortText = o?.status === 'ok' ? `onnxruntime ${fmt(o.gflops)} GFLOP/s (median ${fmt(o.gflopsMedian)})` : `onnxruntime ${o?.reason ?? 'unavailable'}`;
      return `${ortText}; jax-js ${fmt(x.jax.gflops)} GFLOP/s (median ${fmt(x.jax.gflopsMedian)})${x.jaxOverOnnxruntime ? ` = ${fmt(100 * x.jaxOverOnnxruntime, 0)}% of onnxruntime` : ''}`;
    }
    case 'lm-forward':
      return (
        `onnxruntime, batch ${x.batch}x${x.seqLen}: ${fmt(x.tokensPerSecond, 0)} tokens/s, ${fmt(x.ms.median, 0)} ms/batch, ${fmt(x.gflops, 2)} GFLOP/s` +
        (x.jaxjs ? `; jax-js (${x.jaxjs.batch}x${x.seqLen}): ${fmt(x.jaxjs.tokensPerSecond, 0)} tokens/s` : '')
      );
    case 'lm-train':
      return `batch ${x.batch}x${x.seqLen}: ${fmt(x.tokensPerSecond, 0)} tokens/s, ${fmt(x.ms.median, 0)} ms/batch, ${fmt(x.gflops, 2)} GFLOP/s`;
    case 'cladmop-pretrain':
    case 'cladmop-finetune':
      return `batch ${x.batch}, ${x.criteriaTokens} criteria tokens: median ${fmt(x.ms.median, 0)} ms/step (min ${fmt(x.ms.min, 0)}), ${fmt(x.trialsPerSecond, 1)} trials/s`;
    case 'torch':
      return `batch ${x.batch}, ${x.criteriaTokens} tokens: median ${fmt(x.ms.median, 0)} ms/step with ${x.threads} threads${x.oneThread ? `, ${fmt(x.oneThread.median, 0)} ms with 1` : ''}; PyTorch ${x.torch}, BLAS ${(x.blas as string[]).join(', ') || '?'} (${fmt(x.matmul1024Gflops, 1)} GFLOP/s on 1024^3); parameters ${x.parameters.torch.total.toLocaleString('en-US')} (TypeScript ${(x.parameters.typescript.total - x.parameters.typescript.lora).toLocaleString('en-US')} + ${x.parameters.typescript.lora.toLocaleString('en-US')} LoRA): ${x.parameters.match ? 'match' : 'MISMATCH'}`;
    case 'predict': {
      const p = x.singleTrialProfileMs;
      return (
        `single trial p50 ${fmt(x.singleTrialMs.p50)} ms, p95 ${fmt(x.singleTrialMs.p95)} ms (encode p50 ${fmt(p.encode.p50)}, DM features ${fmt(p.dmFeatures.p50, 2)}, model ${fmt(p.model.p50)} ms); ` +
        `batch of ${x.trials}: ${fmt(x.batch.uncached.trialsPerSecond, 2)} trials/s without an embedding cache, ${fmt(x.batch.cached.trialsPerSecond, 2)} with a warm one`
      );
    }
    case 'load':
      return (
        `${x.connections} clients for ${x.durationSeconds} s: ${x.requests.toLocaleString('en-US')} requests (${fmt(x.requestsPerSecond, 1)}/s), statuses ${Object.entries(x.statusCounts as Record<string, number>).map(([k, v]) => `${k} x${v}`).join(', ')}; ` +
        `${x.serverErrors} 5xx, ${Object.keys(x.unexpected).length === 0 ? 'every request got its expected status' : `unexpected statuses: ${JSON.stringify(x.unexpected)}`}; ` +
        `predict latency p50 ${fmt(x.latencyMs.p50, 0)} ms, p90 ${fmt(x.latencyMs.p90, 0)}, p99 ${fmt(x.latencyMs.p99, 0)}; RSS ${x.rssMb.before} -> peak ${x.rssMb.peak} MB`
      );
    case 'hostile':
      return (
        `${x.requests} hostile requests in ${fmt(x.mixSeconds, 1)} s: server RSS ${x.rssMb.start} -> peak ${x.rssMb.peak} -> ${x.rssMb.end} MB (${fmt(x.rssMb.ratio, 3)}x), ${x.serverErrors} 5xx other than 503; ` +
        `/healthz during the heaviest explanation (${fmt(x.heaviestExplain.seconds, 1)} s): p50 ${fmt(x.healthzDuringExplainMs.p50, 1)}, p99 ${fmt(x.healthzDuringExplainMs.p99, 1)}, max ${fmt(x.healthzDuringExplainMs.max, 1)} ms`
      );
    case 'reproduce':
      if (!x.measured) return 'not measured';
      return (
        `${fmt(x.minutes, 1)} min from ${x.file} (${x.date.slice(0, 10)}; phases ${x.phases.join(', ')}${x.quick ? ', --quick' : ''}` +
        `${x.pretrainCached === true ? '; pre-training from the cache' : x.pretrainCached === false ? '; pre-training included' : ''})` +
        (x.stageSeconds
          ? `; stages: ${Object.entries(x.stageSeconds as Record<string, number>)
              .sort((a, b) => b[1] - a[1])
              .map(([k, v]) => `${k} ${fmt(v / 60, 1)} min`)
              .join(', ')}`
          : '')
      );
    default:
      return '';
  }
}

export function renderMarkdown(doc: BenchDocument): string {
  const mc = doc.machine;
  const lines: string[] = [];
  lines.push(`# cladmop benchmarks, ${doc.date}${doc.quick ? ' (quick mode)' : ''}`, '');
  if (doc.quick) lines.push('> **Quick mode**: tiny repeat counts and, where noted, smaller batches; a check that the suite runs, not a measurement to quote.', '');
  if (doc.load.underLoad) {
    const busy = doc.load.busyProcesses.map((p) => `\`${p.command}\` (${p.cpuPercent}% CPU)`).join(', ');
    lines.push(`> **Measured under load**: ${doc.load.cpuBusyBefore !== null ? `${Math.round(doc.load.cpuBusyBefore * 100)}% of the CPU was busy before the run` : 'the machine was busy'} (load average ${doc.load.loadAverageBefore.map((x) => x.toFixed(2)).join(' / ')}${busy ? `; ${busy}` : ''}). Times are slower than on a quiet machine.`, '');
  }
  lines.push(`Command: \`${doc.command}\`. Started ${doc.startedAt}, finished ${doc.finishedAt}.`, '');
  lines.push('## Machine', '');
  lines.push('| | |', '|---|---|');
  lines.push(`| CPU | ${cell(mc.cpuModel)} (${mc.cpuFlags.join(', ')}) |`);
  lines.push(`| Cores | ${mc.cores} usable (${mc.logicalProcessors} logical processors) |`);
  lines.push(`| Memory | ${mc.memoryGiB} GiB |`);
  lines.push(`| OS | ${mc.os} |`);
  lines.push(`| Node | ${mc.node} |`);
  lines.push(`| Packages | ${Object.entries(mc.packages).map(([k, v]) => `${k} ${v ?? 'missing'}`).join(', ')}${mc.torch ? `, PyTorch ${mc.torch}` : ''} |`);
  lines.push(`| Commit | ${mc.git.commit ?? '?'}${mc.git.dirty ? ' (with uncommitted changes)' : ''} |`, '');
  lines.push('## Targets', '');
  lines.push('| Target | Threshold | Measured | Result | Note |', '|---|---|---|---|---|');
  for (const t of doc.targets) {
    const mark = t.status === 'pass' ? '**pass**' : t.status === 'miss' ? '**MISS**' : t.status;
    lines.push(`| ${cell(t.target)} | ${cell(t.threshold)} | ${cell(t.measured)} | ${mark} | ${cell(t.note ?? '')} |`);
  }
  lines.push('');
  lines.push('## Results', '');
  lines.push('| Benchmark | Result | Peak RSS | Wall time |', '|---|---|---|---|');
  for (const b of Object.values(doc.benchmarks)) {
    lines.push(`| ${b.name}${b.quick ? ' (quick)' : ''} | ${cell(headline(b))} | ${b.peakRssMB ? `${(b.peakRssMB / 1000).toFixed(2)} GB` : '–'} | ${b.seconds} s |`);
  }
  lines.push('');
  const d = doc.derived;
  const pct = (x: unknown) => (typeof x === 'number' ? `${(100 * x).toFixed(1)}%` : '–');
  lines.push('Derived:', '');
  lines.push(`- Matmul ceiling (onnxruntime, 1024^3 float32): ${d.matmulCeilingGflops ?? '–'} GFLOP/s; jax-js: ${d.jaxMatmulGflops ?? '–'} GFLOP/s.`);
  lines.push(`- Criteria LM forward: ${d.lmForwardGflops ?? '–'} GFLOP/s = ${pct(d.lmForwardFractionOfCeiling)} of the ceiling; training: ${d.lmTrainGflops ?? '–'} GFLOP/s = ${pct(d.lmTrainFractionOfCeiling)}.`);
  lines.push(
    `- CLaDMoP pre-training step TypeScript / PyTorch: ${d.typescriptOverTorch ?? '–'} against PyTorch's faster thread setting` +
      `${d.typescriptOverTorch2Threads !== undefined && d.typescriptOverTorch2Threads !== null ? ` (${d.typescriptOverTorch2Threads} against 2 threads)` : ''}` +
      `${d.typescriptOverTorchNote ? ` (${d.typescriptOverTorchNote})` : ''}${d.torchBlas ? `; PyTorch BLAS: ${d.torchBlas}` : ''}.`,
  );
  lines.push('');
  lines.push('## How each number was measured', '');
  for (const b of Object.values(doc.benchmarks)) {
    lines.push(`- **${b.name}** (\`${[b.file, ...b.args].join(' ')}\`): ${b.method || '–'}`);
    for (const a of b.attempts ?? []) if (a.status !== 'ok') lines.push(`  - attempt \`${a.args.join(' ')}\`: ${a.status}${a.reason ? ` (${cell(a.reason)})` : ''}${a.peakRssMB ? `, peak RSS ${(a.peakRssMB / 1000).toFixed(2)} GB` : ''}`);
    for (const n of b.notes) lines.push(`  - note: ${n}`);
  }
  lines.push('', 'Peak RSS is each benchmark process\'s own maximum resident set (getrusage), jax-js wasm heap and worker threads included. See bench/README.md.', '');
  return lines.join('\n');
}
