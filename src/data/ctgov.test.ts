import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  formatRecordError,
  jsonErrorOffset,
  parseCtgovJson,
  parseCtgovStudy,
  parseCtgovValue,
  type CtgovParseResult,
} from './ctgov.ts';
import { loadDrugTable } from './drug-table.ts';
import { benchmarkPhasesOf } from './trial.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dataDir = path.resolve(repoRoot, '../shared/data/top');
const fixtures = path.join(repoRoot, 'test/fixtures/ctgov');
const readFixture = (name: string) => readFileSync(path.join(fixtures, name), 'utf8');
const drugs = loadDrugTable(dataDir);
const smilesOf = (name: string) => drugs.lookup(name)!.smiles;

const oncologyText = readFixture('study-phase2-oncology.json');
const parse = (text: string, source = 'test.json') => parseCtgovJson(text, { dataDir, source });

/** A study with only the fields a test needs. */
function study(fields: { nctId?: unknown; phases?: unknown; conditions?: unknown; interventions?: unknown }) {
  return {
    protocolSection: {
      identificationModule: { nctId: fields.nctId ?? 'NCT09990100', briefTitle: 'Inline study' },
      ...(fields.phases !== undefined ? { designModule: { phases: fields.phases } } : {}),
      conditionsModule: { conditions: fields.conditions ?? ['Asthma'] },
      armsInterventionsModule: { interventions: fields.interventions ?? [] },
      eligibilityModule: { eligibilityCriteria: 'Inclusion Criteria:\n\n* Adults' },
    },
  };
}

function only(result: CtgovParseResult) {
  assert.deepEqual(result.errors, []);
  assert.equal(result.trials.length, 1);
  return result.trials[0];
}

test('single phase 2 study maps field by field', () => {
  const { trial, report } = only(parse(oncologyText));
  assert.equal(trial.nctid, 'NCT09990001');
  assert.equal(trial.phase, 'phase 2');
  assert.equal(trial.title, 'Carboplatin and Paclitaxel With Veliparib or Placebo in Advanced Non-Small Cell Lung Cancer');
  assert.equal(trial.startDate, '2015-03-12');
  assert.deepEqual(trial.diseases, ['non-small cell lung cancer', 'carcinoma, non-small-cell lung', 'egfr wild-type tumor marker']);
  assert.deepEqual(trial.icdcodes, [['C34'], ['C34'], []]);
  assert.deepEqual(trial.drugs, ['veliparib', 'carboplatin', 'paclitaxel', 'bevacizumab', 'fxl-9921']);
  assert.deepEqual(trial.smiles, [smilesOf('veliparib'), smilesOf('carboplatin'), smilesOf('paclitaxel')]);
  assert.deepEqual(
    report.mappedDrugs.map((m) => [m.drug, m.matched, m.source]),
    [
      ['veliparib', 'Veliparib', 'lifted_drug_smiless'],
      ['carboplatin', 'Carboplatin', 'lifted_drug_smiless'],
      ['paclitaxel', 'Paclitaxel', 'lifted_drug_smiless'],
    ],
  );
  assert.deepEqual(report.warnings, []);
});

test('criteria are kept as the raw API Markdown, escapes included', () => {
  const { trial } = only(parse(oncologyText));
  assert.ok(trial.criteria.startsWith('Inclusion Criteria:\n\n* Histologically'));
  assert.ok(trial.criteria.includes('* ANC \\>= 1.5 x 10^9/L'), 'backslash escape kept');
  assert.ok(trial.criteria.includes('Exclusion Criteria:\n\n* Untreated'));
});

test('placebo and non-drug interventions are dropped with a reason', () => {
  const { trial, report } = only(parse(oncologyText));
  assert.ok(!trial.drugs.some((d) => d.includes('placebo')));
  assert.deepEqual(report.droppedInterventions, [
    { name: 'Placebo', type: 'DRUG', reason: 'placebo/sham/vehicle/saline control' },
    { name: 'Palliative Radiation Therapy', type: 'RADIATION', reason: 'type RADIATION is not a drug' },
    { name: 'Laboratory Biomarker Analysis', type: 'OTHER', reason: 'type OTHER is not a drug' },
  ]);
});

test('unmapped drugs and conditions are reported, not dropped', () => {
  const { trial, report } = only(parse(oncologyText));
  assert.deepEqual(report.unmappedDrugs, ['fxl-9921']);
  assert.deepEqual(report.drugsWithoutSmiles, ['bevacizumab']);
  assert.deepEqual(report.unmappedConditions, ['egfr wild-type tumor marker']);
  assert.ok(trial.drugs.includes('fxl-9921') && trial.drugs.includes('bevacizumab'));
  assert.ok(trial.diseases.includes('egfr wild-type tumor marker'));
});

/** Every string (and number) under the subtrees TOP labels derive from. */
function leakedValues(raw: Record<string, any>): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string' || typeof v === 'number') out.push(String(v));
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  const { startDateStruct, ...status } = raw.protocolSection.statusModule;
  walk(status);
  walk(raw.protocolSection.designModule.enrollmentInfo);
  walk(raw.resultsSection);
  return out;
}

test('leakage: no status, why-stopped, completion, enrollment or results value reaches the result', () => {
  const raw = JSON.parse(oncologyText);
  const output = JSON.stringify(parse(oncologyText));
  const values = leakedValues(raw).filter((v) => v.length >= 4 && !/^(?:true|false)$/.test(v));
  assert.ok(values.includes('TERMINATED') && values.includes('2018-06-15') && values.length > 20);
  for (const v of values) assert.ok(!output.includes(v), `leaked ${JSON.stringify(v)}`);
  // The trial object carries only allow-listed keys.
  const { trial } = only(parse(oncologyText));
  const allowed = new Set(['nctid', 'phase', 'diseases', 'icdcodes', 'drugs', 'smiles', 'criteria', 'startDate', 'title']);
  for (const key of Object.keys(trial)) assert.ok(allowed.has(key), `unexpected key ${key}`);
});

test('leakage: changing outcome-related fields leaves the result unchanged', () => {
  const original = parse(oncologyText);
  const raw = JSON.parse(oncologyText);
  const status = raw.protocolSection.statusModule;
  status.overallStatus = 'COMPLETED';
  delete status.whyStopped;
  status.primaryCompletionDateStruct = { date: '2020-01-01', type: 'ANTICIPATED' };
  status.completionDateStruct = { date: '2021-12-31', type: 'ANTICIPATED' };
  raw.protocolSection.designModule.enrollmentInfo = { count: 412, type: 'ESTIMATED' };
  delete raw.resultsSection;
  raw.hasResults = false;
  assert.deepEqual(parse(JSON.stringify(raw)), original);
  // The comparison is sensitive: an allowed field does change the result.
  raw.protocolSection.identificationModule.briefTitle = 'Another title';
  assert.notDeepEqual(parse(JSON.stringify(raw)), original);
});

test('page: valid studies are kept around a broken one, errors name index and path', () => {
  const result = parse(readFixture('page-three-studies.json'), 'page-three-studies.json');
  assert.deepEqual(
    result.trials.map((t) => [t.trial.nctid, t.trial.phase]),
    [
      ['NCT09990002', 'phase 1/phase 2'],
      ['NCT09990003', 'early phase 1'],
    ],
  );
  assert.deepEqual(result.errors, [
    {
      source: 'page-three-studies.json',
      index: 1,
      path: 'studies[1].protocolSection.identificationModule.nctId',
      message: 'missing',
    },
  ]);
  assert.equal(
    formatRecordError(result.errors[0]),
    'page-three-studies.json: record 1: studies[1].protocolSection.identificationModule.nctId: missing',
  );
  // Combined and early phases land in the right benchmark phases.
  assert.deepEqual(benchmarkPhasesOf(result.trials[0].trial.phase), ['I', 'II']);
  assert.deepEqual(benchmarkPhasesOf(result.trials[1].trial.phase), ['I']);
  // Early phase 1 study: salt, dose and form words are stripped; the matching placebo is dropped.
  const metformin = result.trials[1];
  assert.deepEqual(metformin.trial.smiles, [smilesOf('metformin')]);
  assert.deepEqual(
    metformin.report.droppedInterventions.map((d) => d.reason),
    ['placebo/sham/vehicle/saline control', 'type BEHAVIORAL is not a drug', 'type DIAGNOSTIC_TEST is not a drug'],
  );
  assert.deepEqual(metformin.report.unmappedConditions, ['insulin resistance']);
});

test('phase enum mapping', () => {
  const phaseOf = (phases: unknown) => {
    const r = parseCtgovStudy(study({ phases }), { dataDir });
    assert.deepEqual(r.errors, []);
    return { phase: r.result!.trial.phase, warnings: r.result!.report.warnings };
  };
  assert.equal(phaseOf(['PHASE1']).phase, 'phase 1');
  assert.equal(phaseOf(['EARLY_PHASE1']).phase, 'early phase 1');
  assert.equal(phaseOf(['PHASE2', 'PHASE1']).phase, 'phase 1/phase 2');
  assert.equal(phaseOf(['PHASE2', 'PHASE3']).phase, 'phase 2/phase 3');
  assert.equal(phaseOf(['PHASE4']).phase, 'phase 4');
  const na = phaseOf(['NA']);
  assert.equal(na.phase, '');
  assert.match(na.warnings.join('\n'), /phase is NA/);
  const missing = parseCtgovStudy(study({}), { dataDir }).result!;
  assert.equal(missing.trial.phase, '');
  assert.match(missing.report.warnings.join('\n'), /no phase/);
  const odd = phaseOf(['PHASE1', 'PHASE_X']);
  assert.equal(odd.phase, 'phase 1');
  assert.match(odd.warnings.join('\n'), /unknown phase value "PHASE_X"/);
});

test('otherNames rescue a brand name; a drug-or-placebo intervention keeps the drug', () => {
  const r = parseCtgovStudy(
    study({
      interventions: [
        { type: 'DRUG', name: 'Lynparza tablets', otherNames: ['AZD2281', 'Olaparib'] },
        { type: 'DRUG', name: 'Veliparib or placebo' },
        { type: 'BIOLOGICAL', name: 'Pembrolizumab', otherNames: ['MK-3475', 'Keytruda'] },
        { type: 'DEVICE', name: 'Insulin pump' },
        { type: 'DRUG', name: '  ' },
      ],
    }),
    { dataDir, index: 4, path: 'studies[4]' },
  );
  assert.deepEqual(r.errors, []);
  const { trial, report } = r.result!;
  assert.deepEqual(trial.drugs, ['lynparza tablets', 'veliparib or placebo', 'pembrolizumab']);
  assert.deepEqual(trial.smiles, [smilesOf('olaparib'), smilesOf('veliparib')]);
  assert.deepEqual(report.mappedDrugs[0], {
    drug: 'lynparza tablets',
    via: 'Olaparib',
    matched: 'Olaparib',
    source: 'lifted_drug_smiless',
  });
  assert.deepEqual(report.drugsWithoutSmiles, ['pembrolizumab']);
  assert.match(report.warnings.join('\n'), /placebo part "placebo" ignored/);
  assert.deepEqual(report.droppedInterventions, [
    { name: 'Insulin pump', type: 'DEVICE', reason: 'type DEVICE is not a drug' },
    { name: '', type: 'DRUG', reason: 'studies[4].protocolSection.armsInterventionsModule.interventions[4]: no name' },
  ]);
});

test('field errors name record, nctid and path; the other studies survive', () => {
  const page = {
    studies: [
      study({ nctId: 'NCT09990201' }),
      study({ nctId: 'NCT09990202', conditions: 'Asthma' }),
      study({ nctId: 'NCT123' }),
      42,
      { protocolSection: null },
      study({ nctId: 'NCT09990206', interventions: [{ type: 'DRUG', name: 7 }] }),
      study({ nctId: 'NCT09990207', conditions: ['Asthma', null] }),
    ],
  };
  const r = parseCtgovValue(page, { dataDir, source: 'inline' });
  assert.deepEqual(
    r.trials.map((t) => t.trial.nctid),
    ['NCT09990201'],
  );
  assert.deepEqual(
    r.errors.map((e) => formatRecordError(e)),
    [
      'inline: record 1 NCT09990202: studies[1].protocolSection.conditionsModule.conditions: expected an array of strings, got a string',
      'inline: record 2: studies[2].protocolSection.identificationModule.nctId: not an NCT id (NCT + 8 digits): "NCT123"',
      'inline: record 3: studies[3]: expected a study object, got a number',
      'inline: record 4: studies[4].protocolSection: expected an object, got null',
      'inline: record 5 NCT09990206: studies[5].protocolSection.armsInterventionsModule.interventions[0].name: expected a string, got a number',
      'inline: record 6 NCT09990207: studies[6].protocolSection.conditionsModule.conditions[1]: expected a string, got null',
    ],
  );
});

test('whole-input errors: invalid JSON names source and position; wrong shapes are explained', () => {
  const bad = parse('{\n  "studies": [\n    {"protocolSection": {,}}\n  ]\n}', 'page-7.json');
  assert.equal(bad.trials.length, 0);
  assert.equal(bad.errors.length, 1);
  assert.equal(bad.errors[0].source, 'page-7.json');
  assert.match(bad.errors[0].message, /^invalid JSON at line 3, column 26 \(offset 42\)/);
  assert.match(formatRecordError(bad.errors[0]), /^page-7\.json: \$: invalid JSON/);

  const truncated = parse(oncologyText.slice(0, 500), 'cut.json');
  assert.match(truncated.errors[0].message, /offset 500\)/);

  assert.match(parse('').errors[0].message, /empty/);
  assert.match(parse('{"nctId": "NCT09990001"}').errors[0].message, /not a ClinicalTrials\.gov API v2 study/);
  assert.match(parse('{"studies": {}}').errors[0].message, /expected an array/);
  assert.deepEqual(parse('{"studies": [], "nextPageToken": null}'), { trials: [], errors: [] });
  // A byte-order mark is not an error.
  assert.equal(only(parse('\ufeff' + oncologyText)).trial.nctid, 'NCT09990001');
});

test('jsonErrorOffset agrees with V8 wherever V8 reports a position', () => {
  const samples = [
    '{"a": 1,}',
    '[1, 2',
    '{"a" 1}',
    '{"a": tru}',
    '{"a": "x\\q"}',
    '[01]',
    '{"a": [1, 2]} x',
    '{"a": "line\nbreak"}',
    '{"a": -}',
    '"\\u12G4"',
    '[1.]',
    '[1e+]',
    '{"a": 1 "b": 2}',
  ];
  let compared = 0;
  for (const text of samples) {
    assert.throws(() => JSON.parse(text));
    const offset = jsonErrorOffset(text);
    assert.ok(offset >= 0 && offset <= text.length, text);
    try {
      JSON.parse(text);
    } catch (err) {
      const m = /position (\d+)/.exec((err as Error).message);
      if (m) {
        compared++;
        assert.equal(offset, Number(m[1]), `${JSON.stringify(text)}: ${(err as Error).message}`);
      }
    }
  }
  assert.ok(compared >= 3, `only ${compared} V8 messages had a position`);
  // Valid JSON has no error position before its end.
  assert.equal(jsonErrorOffset(oncologyText), oncologyText.length);
});
