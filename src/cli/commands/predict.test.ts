import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { parse } from 'csv-parse/sync';
import { register } from './predict.ts';
import { CliError } from '../cli-error.ts';
import { resolveDataDir } from '../../data/splits.ts';
import { PACKAGE_ROOT } from '../../settings.ts';
import { readTopCsv } from '../../data/top-csv.ts';
import { loadModel, type Model } from '../../predict/model.ts';
import { predict } from '../../predict/predict.ts';
import { parseJsonRecord } from '../../predict/inputs.ts';
import { FakeEncoder, sampleStudy, writeTinyBundle } from '../../predict/testing/fixtures.ts';

const dataDir = resolveDataDir();
const encoder = new FakeEncoder();
const dir = mkdtempSync(path.join(os.tmpdir(), 'cladmop-predict-cli-'));
const fixtures = path.join(PACKAGE_ROOT, 'test/fixtures/top');
let bundle: string;
let model: Model;

before(async () => {
  bundle = (await writeTinyBundle({ encoder, dir: path.join(dir, 'model') })).dir;
  model = await loadModel(bundle, { encoder, dataDir });
});
after(() => {
  model.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function run(args: string[]): Promise<string> {
  const program = new Command().exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  register(program, { encoder });
  const original = { out: process.stdout.write, err: process.stderr.write };
  let out = '';
  // Strings are the command's output; the test runner's own reports (buffers) pass through.
  process.stdout.write = function (this: typeof process.stdout, chunk: unknown, ...rest: unknown[]) {
    if (typeof chunk === 'string') {
      out += chunk;
      return true;
    }
    return (original.out as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof process.stdout.write;
  process.stderr.write = function (this: typeof process.stderr, chunk: unknown, ...rest: unknown[]) {
    if (typeof chunk === 'string') return true;
    return (original.err as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof process.stderr.write;
  try {
    await program.parseAsync(['node', 'cladmop', 'predict', '--model', bundle, '--no-cache', ...args]);
  } finally {
    process.stdout.write = original.out;
    process.stderr.write = original.err;
  }
  return out;
}

const readCsv = (file: string) => parse(readFileSync(file, 'utf8'), { columns: true }) as Record<string, string>[];

test('TOP CSV in, CSV out (atomically): same probabilities as the library', async () => {
  const input = path.join(fixtures, 'phase_I_valid.sample.csv');
  const out = path.join(dir, 'out', 'pred.csv');
  await run(['--input', input, '--out', out, '--chunk', '4']);
  const rows = readCsv(out);
  const lib = await predict(model, readTopCsv(input).rows.map((r) => r.trial));
  assert.deepEqual(rows.map((r) => r.nctid), lib.map((p) => p.nctid));
  assert.deepEqual(rows.map((r) => Number(r.probability)), lib.map((p) => p.probability));
  assert.ok(rows.every((r) => r.status === 'ok' && r.model_phase === 'I' && r.model_id === model.info.id));
  assert.deepEqual(readdirSync(path.dirname(out)), ['pred.csv'], 'no temporary file left');
});

test('API v2 JSON in, NDJSON out with --explain', async () => {
  const input = path.join(dir, 'study.json');
  writeFileSync(input, JSON.stringify(sampleStudy(), null, 2));
  const text = await run(['--input', input, '--format', 'ndjson', '--explain']);
  const lines = text.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 1);
  const [lib] = await predict(model, parseJsonRecord(sampleStudy(), { dataDir }).inputs);
  assert.equal(lines[0].probability, lib.probability);
  assert.equal(lines[0].explanation.statements.length, 6);
  assert.deepEqual(lines[0].missing.droppedInterventions.map((d: { name: string }) => d.name), ['Placebo']);
});

test('NDJSON: bad lines are named (line, field) and skipped; valid lines, and a phase 4 refusal, are still written', async () => {
  const input = path.join(dir, 'mixed.ndjson');
  const phase4 = sampleStudy() as { protocolSection: { identificationModule: { nctId: string }; designModule: { phases: string[] } } };
  phase4.protocolSection.identificationModule.nctId = 'NCT09990043';
  phase4.protocolSection.designModule.phases = ['PHASE4'];
  writeFileSync(
    input,
    [
      JSON.stringify(sampleStudy()),
      JSON.stringify({ nctid: 'NCT00000002', phase: 'phase 2', drugs: ['aspirin'], criteria: 'Inclusion Criteria:\n- adults' }),
      '{"nctid": "NCT00000003", "phase": ',
      JSON.stringify({ nctid: 'NCT00000004', phase: 'phase 1', drugs: 'aspirin' + "']" }),
      JSON.stringify(phase4),
      '',
    ].join('\n'),
  );
  const out = path.join(dir, 'mixed.csv');
  await assert.rejects(run(['--input', input, '--out', out]), (err: Error) => {
    assert.ok(err instanceof CliError);
    assert.match(err.message, /2 input record\(s\) could not be read and were skipped; the other 3 were written to/);
    assert.match(err.message, /mixed\.ndjson: line 3, field "\$": invalid JSON/);
    assert.match(err.message, /mixed\.ndjson: line 4, field "drugs": expected an array of strings or a Python list literal/);
    return true;
  });
  const rows = readCsv(out);
  assert.deepEqual(rows.map((r) => [r.nctid, r.status]), [['NCT09990042', 'ok'], ['NCT00000002', 'ok'], ['NCT09990043', 'refused']]);
  assert.match(rows[1].warnings, /trained on phase I trials/);
  assert.match(rows[2].refusal, /"phase 4" is outside phases I–III/);
});

test('a TOP CSV with broken rows: errors name row, line and field; intact rows are predicted', async () => {
  const out = path.join(dir, 'bad.csv');
  await assert.rejects(run(['--input', path.join(fixtures, 'bad-rows.csv'), '--out', out]), (err: Error) => {
    assert.match(err.message, /bad-rows\.csv: row 2 \(line \d+\), field "diseases"/);
    assert.match(err.message, /bad-rows\.csv: row 3 \(line \d+\), field "nctid"/);
    return true;
  });
  // Row 5's label "yes" does not matter: predict never reads labels.
  assert.deepEqual(readCsv(out).map((r) => r.nctid), ['NCT01451632', 'NCT00647972', 'NCT00515866']);
});

test('refusals: corrupted bundle, unreadable input, bad options', async () => {
  const { dir: broken } = await writeTinyBundle({ encoder, dir: path.join(dir, 'broken') });
  writeFileSync(path.join(broken, 'icd_vocabulary.json'), '["<unk>"]');
  const program = new Command().exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  register(program, { encoder });
  const input = path.join(fixtures, 'phase_I_valid.sample.csv');
  await assert.rejects(program.parseAsync(['node', 'cladmop', 'predict', '--model', broken, '--input', input, '--no-cache']), /--model .*broken: .*icd_vocabulary\.json is corrupted or was changed/);
  await assert.rejects(run(['--input', path.join(dir, 'missing.csv')]), /--input .*missing\.csv: cannot read/);
  await assert.rejects(run(['--input', input, '--format', 'xml']), /--format must be csv or ndjson/);
  const empty = path.join(dir, 'empty.ndjson');
  writeFileSync(empty, '\n');
  await assert.rejects(run(['--input', empty]), /no trial could be read/);
});

test('leakage guard over the CLI: scrambled status / why_stop (CSV) and outcome fields (API v2) leave the output byte-identical', async () => {
  // TOP CSV: every status rotated to another value, every why_stop replaced.
  const input = path.join(fixtures, 'phase_I_valid.sample.csv');
  const records = parse(readFileSync(input, 'utf8'), { relax_column_count: true }) as string[][];
  const [header, ...rows] = records;
  const status = header.indexOf('status');
  const whyStop = header.indexOf('why_stop');
  const statuses = ['completed', 'terminated', 'withdrawn', 'suspended'];
  const scrambledRows = rows.map((r, k) => r.map((v, i) => (i === status ? statuses[(statuses.indexOf(v) + 1 + k) % statuses.length] : i === whyStop ? `stopped early (${k})` : v)));
  assert.ok(scrambledRows.some((r, k) => r[status] !== rows[k][status]));
  const quote = (v: string) => `"${v.replace(/"/g, '""')}"`;
  const scrambled = path.join(dir, 'scrambled.csv');
  writeFileSync(scrambled, [header, ...scrambledRows].map((r) => r.map(quote).join(',')).join('\n') + '\n');
  const a = await run(['--input', input, '--format', 'ndjson']);
  const b = await run(['--input', scrambled, '--format', 'ndjson']);
  assert.ok(a.length > 0);
  assert.equal(b, a);

  // API v2: overall status, why stopped, actual enrollment, completion date and results changed.
  const study = sampleStudy() as { protocolSection: Record<string, Record<string, unknown>>; resultsSection?: unknown };
  const changed = structuredClone(study);
  changed.protocolSection.statusModule = { overallStatus: 'TERMINATED', whyStopped: 'Sponsor decision', startDateStruct: { date: '2016-02-01' }, completionDateStruct: { date: '2017-01-01', type: 'ACTUAL' } };
  changed.protocolSection.designModule = { ...changed.protocolSection.designModule, enrollmentInfo: { count: 3, type: 'ACTUAL' } };
  changed.resultsSection = { participantFlowModule: { recruitmentDetails: 'Only 3 enrolled; stopped for futility.' } };
  const fa = path.join(dir, 'study-a.json');
  const fb = path.join(dir, 'study-b.json');
  writeFileSync(fa, JSON.stringify(study));
  writeFileSync(fb, JSON.stringify(changed));
  const ja = await run(['--input', fa, '--format', 'ndjson', '--explain']);
  const jb = await run(['--input', fb, '--format', 'ndjson', '--explain']);
  assert.match(ja, /"probability"/);
  assert.equal(jb, ja);
});
