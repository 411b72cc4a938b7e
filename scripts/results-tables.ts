/**
 * Writes the CLaDMoP tables of results/README.md from the committed runs (results/phase_{I,II,III}/metrics.json), between
 * the `<!-- begin tables -->` and `<!-- end tables -->` markers, so the README quotes exactly what the runs measured.
 *
 *   node bin/run-ts.mjs scripts/results-tables.ts            # rewrite the block
 *   node bin/run-ts.mjs scripts/results-tables.ts --print    # print it only
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../src/settings.ts';
import { writeFileAtomic } from '../src/runtime/atomic-write.ts';

const README = path.join(PACKAGE_ROOT, 'results/README.md');
const BEGIN = '<!-- begin tables: scripts/results-tables.ts -->';
const END = '<!-- end tables -->';

type Summary = { point: number | null };
type Metrics = Record<'f1' | 'prAuc' | 'rocAuc', Summary>;
type Usage = { blanked: string; deltaPrAuc: number; deltaRocAuc: number; meanAbsChange: number };
type Diff = { point: number; ci95: [number, number] };
interface Phase {
  phase: string;
  splits: Record<string, { rows: number; partial: boolean }>;
  perSeed: unknown[];
  seedSummary: Record<'f1' | 'prAuc' | 'rocAuc', { mean: number; std: number }>;
  ensemble: Metrics;
  zeroShot: { prAuc: number; rocAuc: number };
  baselines: { model: string; metrics: Metrics }[];
  allPositive: { f1: number; prAuc: number; rocAuc: number };
  variant: string;
  lexical: { C: number; cv: { meanPrAuc: number; meanRocAuc: number } } | null;
  paperVariant: { perSeed: unknown[]; ensemble: Metrics; inputUsage: Usage[] } | null;
  inputUsage: Usage[];
  lexicalInputUsage?: Usage[] | null;
  paired: { against: string; prAuc: Diff; rocAuc: Diff }[];
  seconds: number;
}

const PAPER: Record<string, [number, number, number | null]> = { I: [0.713, 0.68, 0.642], II: [0.685, 0.683, null], III: [0.861, 0.86, 0.702] };
const f3 = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(3).replace(/^(-?)0\./, '$1.'));
const signed = (x: number) => `${x >= 0 ? '+' : ''}${f3(x)}`;
const triple = (m: Metrics) => `${f3(m.f1.point)} / ${f3(m.prAuc.point)} / ${f3(m.rocAuc.point)}`;

export function renderTables(): string {
  const phases: { p: Phase; m: Record<string, unknown> }[] = [];
  for (const phase of ['I', 'II', 'III']) {
    const file = path.join(PACKAGE_ROOT, 'results', `phase_${phase}`, 'metrics.json');
    if (!existsSync(file)) continue;
    const m = JSON.parse(readFileSync(file, 'utf8')) as { phases: Phase[] };
    phases.push({ p: m.phases[0], m });
  }
  const lines: string[] = [BEGIN, ''];
  lines.push('Test F1 / PR-AUC / ROC-AUC (F1 at 0.5); the baselines were fitted in the same run and scored on the same rows.', '');
  lines.push('| phase (test rows) | CLaDMoP (ours): paper model + [ours] lexical level, ensemble of 3 | across seeds (PR-AUC, ROC-AUC mean ± std) | CLaDMoP, paper variant (same run), ensemble of 3 | TF-IDF + LR | TF-IDF + RF | zero-shot (PR / ROC) | all-positive | CLaDMoP as published |');
  lines.push('|---|---|---|---|---|---|---|---|---|');
  for (const { p } of phases) {
    const lr = p.baselines.find((b) => b.model === 'lr')!;
    const rf = p.baselines.find((b) => b.model === 'forest');
    const partial = Object.entries(p.splits).filter(([, s]) => s.partial).map(([k]) => k);
    const paper = PAPER[p.phase];
    lines.push(
      `| ${p.phase} (${p.splits.test.rows}${partial.length ? `; ${partial.join(', ')} **partial**` : ''}) | **${triple(p.ensemble)}** | ${f3(p.seedSummary.prAuc.mean)} ± ${f3(p.seedSummary.prAuc.std)}, ${f3(p.seedSummary.rocAuc.mean)} ± ${f3(p.seedSummary.rocAuc.std)} | ${p.paperVariant ? triple(p.paperVariant.ensemble) : '–'} | ${triple(lr.metrics)} | ${rf ? triple(rf.metrics) : '–'} | ${f3(p.zeroShot.prAuc)} / ${f3(p.zeroShot.rocAuc)} | ${f3(p.allPositive.f1)} / ${f3(p.allPositive.prAuc)} / ${f3(p.allPositive.rocAuc)} | ${f3(paper[0])} / ${f3(paper[1])} / ${paper[2] === null ? '≈ .646' : f3(paper[2])} |`,
    );
  }
  lines.push('');
  lines.push('Paired bootstrap of (CLaDMoP (ours) − baseline) on the same test rows, 2,000 resamples: difference [95% interval]. An interval that contains 0 is no evidence of a difference.', '');
  lines.push('| phase | − TF-IDF + LR: PR-AUC | ROC-AUC | − TF-IDF + RF: PR-AUC | ROC-AUC |', '|---|---|---|---|---|');
  const d = (x: Diff | undefined) => (x ? `${signed(x.point)} [${signed(x.ci95[0])}, ${signed(x.ci95[1])}]` : '–');
  for (const { p } of phases) {
    const lr = p.paired.find((x) => /logistic/.test(x.against));
    const rf = p.paired.find((x) => /forest/.test(x.against));
    lines.push(`| ${p.phase} | ${d(lr?.prAuc)} | ${d(lr?.rocAuc)} | ${d(rf?.prAuc)} | ${d(rf?.rocAuc)} |`);
  }
  lines.push('');
  lines.push('What the models use: change of test ROC-AUC (and PR-AUC) when one input family is blanked at prediction time; negative = the family helps. Mean absolute change of the probability in brackets.', '');
  lines.push('| phase | model | criteria blanked | drugs + molecules blanked | diseases blanked |', '|---|---|---|---|---|');
  const u = (rows: Usage[], family: string) => {
    const r = rows.find((x) => x.blanked === family)!;
    return `${signed(r.deltaRocAuc)} (PR ${signed(r.deltaPrAuc)}) [${f3(r.meanAbsChange)}]`;
  };
  for (const { p } of phases) {
    lines.push(`| ${p.phase} | CLaDMoP (ours) | ${u(p.inputUsage, 'criteria')} | ${u(p.inputUsage, 'drugs')} | ${u(p.inputUsage, 'diseases')} |`);
    if (p.paperVariant) lines.push(`| ${p.phase} | paper variant | ${u(p.paperVariant.inputUsage, 'criteria')} | ${u(p.paperVariant.inputUsage, 'drugs')} | ${u(p.paperVariant.inputUsage, 'diseases')} |`);
    if (p.lexicalInputUsage) lines.push(`| ${p.phase} | TF-IDF + LR (the lexical level alone) | ${u(p.lexicalInputUsage, 'criteria')} | ${u(p.lexicalInputUsage, 'drugs')} | ${u(p.lexicalInputUsage, 'diseases')} |`);
  }
  lines.push('', END);
  return lines.join('\n');
}

/** The rows of the models/README.md table, from the shipped bundles' config.json. */
export function renderModelRows(): string {
  const lines = ['<!-- begin models: scripts/results-tables.ts -->'];
  for (const phase of ['I', 'II', 'III']) {
    const file = path.join(PACKAGE_ROOT, 'models', `phase-${phase}`, 'config.json');
    if (!existsSync(file)) continue;
    const c = JSON.parse(readFileSync(file, 'utf8')) as { members?: unknown[]; lexical?: unknown; deepInputs?: string; metrics: { test: { f1: number; prAuc: number; rocAuc: number } } };
    const t = c.metrics.test;
    lines.push(
      `| \`models/phase-${phase}\` | CLaDMoP (ours), ensemble of ${c.members?.length ?? 1}${c.lexical ? ' + [ours] lexical level' : ''}${c.deepInputs === 'criteria' ? ', deep part on the criteria only' : ''} | ${f3(t.f1)} / ${f3(t.prAuc)} / ${f3(t.rocAuc)} | [results/phase_${phase}](../results/phase_${phase}/report.md) |`,
    );
  }
  lines.push('<!-- end models -->');
  return lines.join('\n');
}

function replaceBlock(file: string, begin: string, end: string, block: string): void {
  const text = readFileSync(file, 'utf8');
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`${file} has no ${begin} ... ${end} block`);
  writeFileAtomic(file, text.slice(0, a) + block + text.slice(b + end.length));
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(PACKAGE_ROOT, 'scripts/results-tables.ts')) {
  const block = renderTables();
  const models = renderModelRows();
  if (process.argv.includes('--print')) console.log(`${block}\n\n${models}`);
  else {
    replaceBlock(README, BEGIN, END, block);
    replaceBlock(path.join(PACKAGE_ROOT, 'models/README.md'), '<!-- begin models: scripts/results-tables.ts -->', '<!-- end models -->', models);
    console.log(`${block}\n\n${models}`);
  }
}
