/**
 * Leakage guard, end to end: TOP labels are partly derived from `status` and `why_stop`, so no prediction may
 * depend on them. Rewriting every status to "completed" and emptying every why_stop in the real phase I files
 * must leave the baseline's predictions byte-identical.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { resolveDataDir } from '../data/splits.ts';
import { runBaseline } from './run-baseline.ts';

const quote = (v: string) => `"${v.replace(/"/g, '""')}"`;

function scrambled(file: string): string {
  const records = parse(readFileSync(file, 'utf8'), { relax_column_count: true }) as string[][];
  const header = records[0];
  const status = header.indexOf('status');
  const whyStop = header.indexOf('why_stop');
  assert.ok(status >= 0 && whyStop >= 0, `${file} has status and why_stop columns`);
  const changed = records.slice(1).filter((r) => r[status] !== 'completed' || r[whyStop] !== '').length;
  assert.ok(changed > 0.2 * (records.length - 1), `only ${changed} rows would change: the test would prove little`);
  const rows = records.slice(1).map((r) => r.map((v, i) => (i === status ? 'completed' : i === whyStop ? '' : v)));
  return [header, ...rows].map((r) => r.map(quote).join(',')).join('\n') + '\n';
}

test('scrambling status and why_stop leaves every baseline prediction byte-identical (real phase I data)', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'cladmop-leak-'));
  try {
    const original = resolveDataDir();
    const changedDir = path.join(root, 'data');
    mkdirSync(changedDir);
    for (const split of ['train', 'valid', 'test']) {
      const name = `phase_I_${split}.csv`;
      writeFileSync(path.join(changedDir, name), scrambled(path.join(original, name)));
    }
    // One grid point and the LR model keep the test fast; what matters is the input path, not the model.
    const common = { phase: 'I' as const, model: 'lr' as const, seed: 7, grid: [{ C: 1 }], bootstrapResamples: 2 };
    const a = await runBaseline({ ...common, dataDir: original, outDir: path.join(root, 'a') });
    const b = await runBaseline({ ...common, dataDir: changedDir, outDir: path.join(root, 'b') });
    assert.equal(readFileSync(a.predictionsPath, 'utf8'), readFileSync(b.predictionsPath, 'utf8'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
