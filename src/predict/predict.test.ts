import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseCriteria } from '../data/criteria.ts';
import { resolveDataDir } from '../data/splits.ts';
import { PACKAGE_ROOT } from '../settings.ts';
import { readTopCsv } from '../data/top-csv.ts';
import type { Trial } from '../data/trial.ts';
import { BundleError, loadModel, type Model } from './model.ts';
import { predict } from './predict.ts';
import { criteriaText, explain } from './explain.ts';
import { parseJsonRecord, parseTopRecord, readInputFile, type InputItem } from './inputs.ts';
import { FakeEncoder, markerScorer, sampleStudy, writeTinyBundle } from './testing/fixtures.ts';

const dataDir = resolveDataDir();
const encoder = new FakeEncoder();
let bundleDir: string;
let model: Model;

before(async () => {
  bundleDir = (await writeTinyBundle({ encoder })).dir;
  model = await loadModel(bundleDir, { encoder, dataDir });
});
after(() => {
  model.dispose();
  rmSync(path.dirname(bundleDir), { recursive: true, force: true });
});

const studyInput = () => {
  const r = parseJsonRecord(sampleStudy(), { dataDir });
  assert.deepEqual(r.errors, []);
  return r.inputs[0];
};

const trial = (over: Partial<Trial> = {}): Trial => ({
  nctid: 'NCT09990007',
  phase: 'phase 1',
  diseases: ['lung cancer'],
  icdcodes: [['C34.90']],
  drugs: ['metformin'],
  smiles: ['CN(C)C(=N)NC(N)=N'],
  criteria: 'Inclusion Criteria:\n\n- adults\n\nExclusion Criteria:\n\n- pregnant',
  ...over,
});

test('predicts an API v2 record: probability, model id, inputs used and missing', async () => {
  const [p] = await predict(model, [studyInput()]);
  assert.equal(p.status, 'ok');
  assert.equal(p.nctid, 'NCT09990042');
  assert.ok(p.probability! > 0 && p.probability! < 1);
  assert.equal(p.probability, p.rawProbability);
  assert.equal(p.calibration, 'none');
  assert.match(p.model.id, /^[0-9a-f]{64}$/);
  assert.equal(p.model.codeVersion, '0.1.0');
  assert.deepEqual(p.phase, { model: 'I', trial: 'phase 1', trialPhases: ['I'] });
  assert.deepEqual(p.inputs.drugs, ['metformin', 'gefitinib']);
  assert.equal(p.inputs.molecules, 2);
  assert.equal(p.inputs.criteria.inclusion, 3);
  assert.equal(p.inputs.criteria.exclusion, 3);
  assert.deepEqual(p.missing.droppedInterventions.map((d) => d.name), ['Placebo']);
  assert.equal(p.missing.criteria, false);
  // Deterministic: the same input gives the same number, alone or in a batch with others.
  const again = await predict(model, [trial(), studyInput(), trial({ nctid: 'NCT09990008' })]);
  assert.equal(again[1].probability, p.probability);
});

test('a TOP CSV gives the same numbers as the same trials passed as Trial objects', async () => {
  const file = path.join(PACKAGE_ROOT, 'test/fixtures/top/phase_I_valid.sample.csv');
  const items: InputItem[] = [];
  for await (const item of readInputFile(file, { dataDir })) items.push(item);
  assert.equal(items.filter((i) => i.error).length, 0);
  const fromFile = await predict(model, items.map((i) => i.input!));
  const direct = await predict(model, readTopCsv(file).rows.map((r) => r.trial));
  assert.equal(fromFile.length, 6);
  assert.deepEqual(fromFile.map((p) => p.probability), direct.map((p) => p.probability));
  // "phase 1/phase 2" is in phase I; no warning. TOP rows list conditions without codes as unmapped.
  assert.ok(fromFile.every((p) => p.status === 'ok'));
});

test('phase outside I–III gets a refusal entry, in input order; another benchmark phase only a warning', async () => {
  const out = await predict(model, [trial({ phase: 'phase 4' }), trial(), trial({ phase: '' }), trial({ phase: 'phase 2' })]);
  assert.equal(out.length, 4);
  assert.equal(out[0].status, 'refused');
  assert.equal(out[0].probability, null);
  assert.match(out[0].refusal!, /"phase 4" is outside phases I–III/);
  assert.equal(out[1].status, 'ok');
  assert.equal(out[2].status, 'refused');
  assert.match(out[2].refusal!, /no phase given/);
  assert.equal(out[3].status, 'ok');
  assert.ok(out[3].warnings.some((w) => /trained on phase I trials/.test(w)));
  // A registry record with phase NA is refused, with the reader's warning kept.
  const study = sampleStudy() as { protocolSection: { designModule: { phases: string[] } } };
  study.protocolSection.designModule.phases = ['NA'];
  const [na] = await predict(model, parseJsonRecord(study, { dataDir }).inputs);
  assert.equal(na.status, 'refused');
  assert.ok(na.warnings.some((w) => /phase is NA/.test(w)));
});

test('missing inputs: no criteria, invalid SMILES, unknown ICD codes, placebo, no molecule', async () => {
  const [p] = await predict(model, [
    trial({ criteria: '', smiles: ['not-a-smiles((('], drugs: ['placebo', 'drugx'], icdcodes: [['Z99.89']], diseases: ['odd disease', 'uncoded'] }),
  ]);
  assert.equal(p.missing.criteria, true);
  assert.deepEqual(p.missing.invalidSmiles, ['not-a-smiles(((']);
  assert.deepEqual(p.missing.unknownIcdCodes, ['Z99.89']);
  assert.deepEqual(p.missing.unmappedConditions, ['uncoded']);
  assert.equal(p.missing.placeboDropped, 1);
  assert.equal(p.missing.noMolecule, true);
  assert.deepEqual(p.inputs.drugs, ['drugx']);
  assert.ok(p.warnings.some((w) => /unknown molecule/.test(w)));
  assert.ok(p.warnings.some((w) => /no eligibility statements/.test(w)));
});

test('a corrupted bundle is refused; so is an encoder with another id', async () => {
  const { dir } = await writeTinyBundle({ encoder });
  try {
    const weights = path.join(dir, 'weights.safetensors');
    const bytes = readFileSync(weights);
    bytes[bytes.length - 5] ^= 0xff;
    writeFileSync(weights, bytes);
    await assert.rejects(loadModel(dir, { encoder, dataDir }), (err: Error) => err instanceof BundleError && /weights\.safetensors is corrupted/.test(err.message));
    await assert.rejects(loadModel(path.join(dir, 'nope'), { encoder }), /not a cladmop model bundle/);
  } finally {
    rmSync(path.dirname(dir), { recursive: true, force: true });
  }
  await assert.rejects(loadModel(bundleDir, { encoder: new FakeEncoder(8, ':other'), dataDir }), /criteria encoder mismatch: .* trained on encoder fake-encoder:v1:d=8/);
});

test('a bundle with a Platt calibration reports calibrated probabilities', async () => {
  const { dir } = await writeTinyBundle({ encoder, calibration: { method: 'platt', a: 0.5, b: 0.25 } });
  const calibrated = await loadModel(dir, { encoder, dataDir });
  try {
    const [p] = await predict(calibrated, [trial()]);
    const [raw] = await predict(model, [trial()]);
    assert.equal(p.calibration, 'platt');
    assert.equal(p.rawProbability, raw.rawProbability);
    const z = Math.log(raw.rawProbability! / (1 - raw.rawProbability!));
    assert.ok(Math.abs(p.probability! - 1 / (1 + Math.exp(-(0.5 * z + 0.25)))) < 1e-9);
  } finally {
    calibrated.dispose();
    rmSync(path.dirname(dir), { recursive: true, force: true });
  }
});

test('explain: deltas have the sign of each item\'s effect (constructed scorer)', async () => {
  const score = model.score;
  model.score = markerScorer;
  try {
    const t = trial({
      criteria: 'Inclusion Criteria:\n\n- good renal function\n- adults aged 18 or more\n\nExclusion Criteria:\n\n- bad heart failure\n- bad bad liver disease',
      drugs: ['metformin', 'aspirin'],
      diseases: ['lung cancer', 'diabetes'],
      icdcodes: [['C34.90'], ['E11.9']],
    });
    const calls = encoder.calls;
    const e = await explain(model, t);
    assert.equal(encoder.calls, calls + 1, 'all criteria variants are encoded in one encodeMany call');
    const d = Object.fromEntries(e.statements.map((s) => [s.text, s.delta]));
    // logit = 0.8 (#good - #bad) + 0.3 drugs - 0.2 diseases: "good" raises, "bad" lowers, neutral ~ 0.
    assert.ok(d['good renal function'] > 0);
    assert.ok(Math.abs(d['adults aged 18 or more']) < 1e-12);
    assert.ok(d['bad heart failure'] < 0);
    assert.ok(d['bad bad liver disease'] < d['bad heart failure'], 'two "bad" words weigh more than one');
    assert.deepEqual(e.topPositive.map((s) => s.text), ['good renal function']);
    assert.deepEqual(e.topNegative.map((s) => s.text), ['bad bad liver disease', 'bad heart failure']);
    assert.ok(e.drugs.every((x) => x.delta > 0));
    assert.ok(e.diseases.every((x) => x.delta < 0));
    assert.deepEqual(e.drugs.find((x) => x.name === 'metformin')!.with, ['CN(C)C(=N)NC(N)=N']);
    assert.deepEqual(e.notes, []);
  } finally {
    model.score = score;
  }
});

test('explain on the real network: each delta is p(all) − p(trial without that statement)', async () => {
  const input = studyInput();
  const e = await explain(model, input);
  assert.equal(e.prediction.status, 'ok');
  const [p] = await predict(model, [input]);
  assert.ok(Math.abs(e.prediction.probability! - p.probability!) < 1e-6);
  assert.ok(Math.abs(e.reference! - p.rawProbability!) < 1e-6);
  assert.equal(e.statements.length, 6);
  const parsed = parseCriteria(input.trial.criteria);
  const s = e.statements[4]; // exclusion 1
  const without = criteriaText({ inclusion: parsed.inclusion, exclusion: parsed.exclusion.filter((_, i) => i !== 1) });
  const [q] = await predict(model, [{ ...input, trial: { ...input.trial, criteria: without } }]);
  assert.ok(Math.abs(s.delta - (p.rawProbability! - q.rawProbability!)) < 1e-6);
  assert.equal(Math.sign(s.delta), Math.sign(p.rawProbability! - q.rawProbability!));
  // A refused trial is explained as refused, without work.
  const r = await explain(model, trial({ phase: 'phase 4' }));
  assert.equal(r.prediction.status, 'refused');
  assert.deepEqual(r.statements, []);
});

test('criteriaText rebuilds criteria that parse back to the same statements (fixture formats)', () => {
  const dir = path.join(PACKAGE_ROOT, 'test/fixtures/top/criteria');
  for (const f of readdirSync(dir)) {
    const parsed = parseCriteria(readFileSync(path.join(dir, f), 'utf8'));
    assert.deepEqual(parseCriteria(criteriaText(parsed)), parsed, f);
    const dropped = { inclusion: parsed.inclusion.slice(1), exclusion: parsed.exclusion };
    assert.deepEqual(parseCriteria(criteriaText(dropped)), dropped, `${f} without its first statement`);
  }
});

test('TOP-like records: list fields as arrays or literals; errors name the field', () => {
  const ok = parseTopRecord({ nctid: 'NCT00000001', phase: 'Phase 1', drugs: "['a', 'b']", icdcodes: ["['C34.90', 'C34.91']", 'E11.9', ['J45']], smiles: [], status: 'completed', label: 1 });
  assert.deepEqual(ok.errors, []);
  assert.deepEqual(ok.input!.trial, { nctid: 'NCT00000001', phase: 'phase 1', diseases: [], icdcodes: [['C34.90', 'C34.91'], ['E11.9'], ['J45']], drugs: ['a', 'b'], smiles: [], criteria: '' });
  const field = (v: unknown) => parseTopRecord(v, { path: 'records[1]' }).errors.map((e) => e.field);
  assert.deepEqual(field({ phase: 'phase 1' }), ['records[1].nctid']);
  assert.deepEqual(field({ nctid: 'NCT1', phase: 'phase 1' }), ['records[1].nctid']);
  assert.deepEqual(field({ nctid: 'NCT00000001', phase: 1 }), ['records[1].phase']);
  assert.deepEqual(field({ nctid: 'NCT00000001', phase: 'phase 1', drugs: ['a', 3] }), ['records[1].drugs[1]']);
  assert.deepEqual(field({ nctid: 'NCT00000001', phase: 'phase 1', diseases: "['unclosed" }), ['records[1].diseases']);
  assert.deepEqual(field('text'), ['records[1]']);
});

test('readInputFile: NDJSON is recognised without its extension, even with lines longer than the sniffed head', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cladmop-inputs-'));
  try {
    const long = sampleStudy() as Record<string, any>;
    long.protocolSection.descriptionModule = { briefSummary: 'x'.repeat(6000) };
    const other = { nctid: 'NCT00000009', phase: 'phase 1', criteria: 'Inclusion Criteria:\n- adults' };
    const file = path.join(dir, 'studies.json');
    writeFileSync(file, `${JSON.stringify(long)}\n\n${JSON.stringify(other)}\n`);
    const items: InputItem[] = [];
    for await (const item of readInputFile(file, { dataDir })) items.push(item);
    assert.deepEqual(items.map((i) => i.input?.trial.nctid ?? i.error), ['NCT09990042', 'NCT00000009']);
    // A JSON array of records: errors name the record and field.
    writeFileSync(file, JSON.stringify([other, { nctid: 'NCT00000010' }], null, 2));
    const arr: InputItem[] = [];
    for await (const item of readInputFile(file, { dataDir })) arr.push(item);
    assert.equal(arr[0].input?.trial.nctid, 'NCT00000009');
    assert.deepEqual(arr[1].error, { source: file, location: 'record 1', field: '[1].phase', message: 'missing (e.g. "phase 1", "phase 1/phase 2")' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('mapped inputs: each condition lists its codes and the most specific prefix the model read', async () => {
  const [p] = await predict(model, [trial({ diseases: ['lung cancer', 'asthma', 'odd'], icdcodes: [['C34.90', 'C34.95'], ['J45.909'], ['XX']] })]);
  assert.deepEqual(p.inputs.conditions, [
    { name: 'lung cancer', codes: [{ code: 'C34.90', readAs: 'C34.90' }, { code: 'C34.95', readAs: 'C34.9' }] },
    { name: 'asthma', codes: [{ code: 'J45.909', readAs: 'J45.9' }] },
    { name: 'odd', codes: [{ code: 'XX', readAs: null }] },
  ]);
  const [q] = await predict(model, [studyInput()]);
  assert.ok(q.inputs.drugMolecules.length > 0);
  for (const d of q.inputs.drugMolecules) assert.ok(q.inputs.drugs.includes(d.drug));
});
