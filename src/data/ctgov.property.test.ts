/**
 * Property-based tests (fast-check) of the ClinicalTrials.gov API v2 reader.
 *
 * - Arbitrary JSON values, schema-shaped JSON (real key names, "__proto__"/"constructor" keys) and arbitrary text
 *   never make it throw: the answer is trials and/or errors that carry a path.
 * - Random valid studies, built from a template, become one Trial each with the fields the file comment promises.
 * - A page that mixes valid and broken studies keeps every valid one; each broken one is reported at its index.
 * - Leakage: whatever is in statusModule.overallStatus / whyStopped / completion dates, enrollmentInfo or
 *   resultsSection, the output is deep-equal to the output without them.
 *
 * Reproduce a failure with FC_SEED=<seed printed by fast-check>.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { jsonErrorOffset, parseCtgovJson, parseCtgovValue, type CtgovParseResult } from './ctgov.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dataDir = path.resolve(repoRoot, '../shared/data/top');
const options = { dataDir, source: 'prop.json' };

const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
const params = (numRuns: number, budgetMs: number) => ({ seed, numRuns, plugins: [fc.interruptAfterTimeLimit(budgetMs)] });

// One study maps in well under a millisecond once the tables are loaded; 500 ms flags anything pathological.
const PER_RUN_MS = 500;
function timed<T>(fn: () => T): T {
  // At most twice: a super-linear path is slow every time, a GC pause or a busy machine (the training job shares
  // these two cores) rarely twice in a row.
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  let ms = Infinity;
  for (let attempt = 0; attempt < 2 && ms >= PER_RUN_MS; attempt++) {
    const t0 = performance.now();
    try {
      outcome = { ok: true, value: fn() };
    } catch (error) {
      outcome = { ok: false, error };
    }
    ms = performance.now() - t0;
  }
  assert.ok(ms < PER_RUN_MS, `took ${ms.toFixed(1)} ms, twice`);
  if (!outcome!.ok) throw outcome!.error;
  return outcome!.value;
}

// Load the drug and ICD tables once, outside every property's time limit.
parseCtgovValue({ protocolSection: { identificationModule: { nctId: 'NCT00000001' } } }, options);

/** The answer is well-formed whatever the input: arrays, trials with valid ids, errors with source, path, message. */
function assertWellFormed(result: CtgovParseResult) {
  assert.ok(Array.isArray(result.trials) && Array.isArray(result.errors));
  for (const e of result.errors) {
    assert.equal(e.source, 'prop.json');
    assert.ok(typeof e.path === 'string' && e.path.length > 0, `error without a path: ${JSON.stringify(e)}`);
    assert.ok(typeof e.message === 'string' && e.message.length > 0);
    if (e.index !== undefined) assert.ok(Number.isInteger(e.index) && e.index >= 0);
  }
  for (const { trial, report } of result.trials) {
    assert.match(trial.nctid, /^NCT\d{8}$/);
    assertAllowListed(trial);
    assert.equal(trial.icdcodes.length, trial.diseases.length);
    assert.ok(Array.isArray(report.warnings));
  }
}

const TRIAL_KEYS = new Set(['nctid', 'phase', 'diseases', 'icdcodes', 'drugs', 'smiles', 'criteria', 'startDate', 'title']);
function assertAllowListed(trial: object) {
  for (const key of Object.keys(trial)) assert.ok(TRIAL_KEYS.has(key), `unexpected Trial field ${key}`);
}

// --- generators -----------------------------------------------------------------------------------------------

const nctid = fc.integer({ min: 0, max: 99_999_999 }).map((n) => `NCT${String(n).padStart(8, '0')}`);
// Names of Object.prototype members: table code that indexes plain objects by a user-supplied name breaks on them.
const PROTOTYPE_NAMES = ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'constructor cancer', '__proto__ cancer', 'metastatic constructor'];
const REAL_CONDITIONS = ['Breast Cancer', 'Non-Small Cell Lung Cancer', 'Carcinoma, Non-Small-Cell Lung', 'Asthma', 'Type 2 Diabetes Mellitus', 'Healthy'];
const REAL_DRUGS = ['Paclitaxel', 'carboplatin', 'Placebo', 'Veliparib', 'Bevacizumab', 'Normal saline', 'Metformin 500 mg', 'paclitaxel + carboplatin', 'BAY 73-4506'];
const name = (real: string[]) =>
  fc.oneof(
    fc.constantFrom(...real),
    fc.constantFrom(...PROTOTYPE_NAMES),
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.stringMatching(/^[A-Za-z][a-z]{1,8}( [a-z]{2,8}){0,3}$/),
    fc.constantFrom('', '   ', ' Mixed\tCase\nName '),
  );
const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

interface InterventionSpec {
  type?: string;
  name?: string;
  otherNames?: string[];
}
interface StudySpec {
  nctId: string;
  title?: string;
  startDate?: string;
  criteria?: string;
  phases?: string[];
  conditions?: string[];
  interventions?: InterventionSpec[];
}

const intervention: fc.Arbitrary<InterventionSpec> = fc
  .record({
    type: opt(fc.constantFrom('DRUG', 'BIOLOGICAL', 'COMBINATION_PRODUCT', 'GENETIC', 'DEVICE', 'PROCEDURE', 'OTHER', 'DIETARY_SUPPLEMENT', 'drug', ' Drug ')),
    name: opt(name(REAL_DRUGS)),
    otherNames: opt(fc.array(name(REAL_DRUGS), { maxLength: 3 })),
  })
  .map((r) => ({ ...r }));
const studySpec: fc.Arbitrary<StudySpec> = fc
  .record({
    nctId: nctid,
    title: opt(fc.string({ maxLength: 30 })),
    startDate: opt(fc.oneof(fc.constantFrom('2015-03-12', '2015-03', ' 2001-01-31 ', '2015', 'March 2015', ''), fc.string({ maxLength: 10 }))),
    criteria: opt(fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), fc.constant('Inclusion Criteria:\n\n* Adults\n\nExclusion Criteria:\n\n* Pregnancy'))),
    phases: opt(fc.subarray(['EARLY_PHASE1', 'PHASE1', 'PHASE2', 'PHASE3', 'PHASE4', 'NA', 'phase2', 'PHASE9'])),
    conditions: opt(fc.array(name(REAL_CONDITIONS), { maxLength: 4 })),
    interventions: opt(fc.array(intervention, { maxLength: 4 })),
  })
  .map((r) => ({ ...r }));

/** The API v2 JSON of a spec: only the modules whose fields are set. */
function buildStudy(spec: StudySpec): Record<string, any> {
  const protocolSection: Record<string, any> = { identificationModule: { nctId: spec.nctId } };
  if (spec.title !== undefined) protocolSection.identificationModule.briefTitle = spec.title;
  if (spec.startDate !== undefined) protocolSection.statusModule = { startDateStruct: { date: spec.startDate } };
  if (spec.criteria !== undefined) protocolSection.eligibilityModule = { eligibilityCriteria: spec.criteria };
  if (spec.phases !== undefined) protocolSection.designModule = { phases: spec.phases };
  if (spec.conditions !== undefined) protocolSection.conditionsModule = { conditions: spec.conditions };
  if (spec.interventions !== undefined) {
    protocolSection.armsInterventionsModule = {
      interventions: spec.interventions.map((i) => Object.fromEntries(Object.entries(i).filter(([, v]) => v !== undefined))),
    };
  }
  return { protocolSection };
}

const PHASE_TEXT: Record<string, [number, string]> = {
  EARLY_PHASE1: [0, 'early phase 1'],
  PHASE1: [1, 'phase 1'],
  PHASE2: [2, 'phase 2'],
  PHASE3: [3, 'phase 3'],
  PHASE4: [4, 'phase 4'],
};
const normalizeName = (s: string) => s.replace(/\s+/g, ' ').trim().toLowerCase();

// --- properties: valid studies --------------------------------------------------------------------------------

test('random valid studies become one Trial each, field by field', () => {
  fc.assert(
    fc.property(studySpec, (spec) => {
      const result = timed(() => parseCtgovJson(JSON.stringify(buildStudy(spec)), options));
      assertWellFormed(result);
      assert.deepEqual(result.errors, []);
      assert.equal(result.trials.length, 1);
      const { trial, report } = result.trials[0];
      assert.equal(trial.nctid, spec.nctId);
      assert.equal(trial.criteria, spec.criteria ?? '');
      assert.equal(trial.title, spec.title?.trim() || undefined);
      const date = spec.startDate?.trim();
      assert.equal(trial.startDate, date && /^\d{4}-\d{2}(-\d{2})?$/.test(date) ? date : undefined);
      // Phases: the API enum (case-insensitive) mapped to TOP's text, low to high, joined by "/".
      const known = [...new Set((spec.phases ?? []).map((p) => p.trim().toUpperCase()).filter((p) => p in PHASE_TEXT))];
      const phase = known.map((p) => PHASE_TEXT[p]).sort((a, b) => a[0] - b[0]).map((p) => p[1]).join('/');
      assert.equal(trial.phase, phase);
      // Conditions: every non-blank name, whitespace-collapsed and lower-cased; one ICD list each.
      assert.deepEqual(trial.diseases, (spec.conditions ?? []).map(normalizeName).filter((d) => d !== ''));
      for (const codes of trial.icdcodes) for (const code of codes) assert.match(code, /^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]+)?$/);
      for (const d of report.unmappedConditions) assert.ok(trial.diseases.includes(d));
      // Drugs: only named interventions of a drug type, lower-cased, each once; structures each once.
      const drugTypes = new Set(['DRUG', 'BIOLOGICAL', 'COMBINATION_PRODUCT', 'GENETIC']);
      const candidates = new Set(
        (spec.interventions ?? []).filter((i) => drugTypes.has(i.type?.trim().toUpperCase() ?? '')).map((i) => normalizeName(i.name ?? '')),
      );
      for (const drug of trial.drugs) assert.ok(candidates.has(drug), `drug ${JSON.stringify(drug)} from nowhere`);
      assert.equal(new Set(trial.drugs).size, trial.drugs.length);
      assert.equal(new Set(trial.smiles).size, trial.smiles.length);
      assert.ok(trial.smiles.every((s) => typeof s === 'string' && s.length > 0));
    }),
    params(400, 2000),
  );
});

// --- properties: broken studies in a page ---------------------------------------------------------------------

// Ways to break a study so that it cannot become a Trial (a missing/invalid id, or a field of the wrong JSON type).
type Breaker = (study: Record<string, any>) => unknown;
const BREAKERS: Record<string, Breaker> = {
  'not an object': () => 42,
  'null study': () => null,
  'array study': (s) => [s],
  'no protocolSection': (s) => ({ ...s, protocolSection: undefined }),
  'protocolSection is a string': () => ({ protocolSection: 'x' }),
  'no nctId': (s) => (delete s.protocolSection.identificationModule.nctId, s),
  'nctId is a number': (s) => ((s.protocolSection.identificationModule.nctId = 1234), s),
  'nctId malformed': (s) => ((s.protocolSection.identificationModule.nctId = s.protocolSection.identificationModule.nctId.slice(0, 10)), s),
  'identificationModule is an array': (s) => ((s.protocolSection.identificationModule = []), s),
  'briefTitle is an object': (s) => ((s.protocolSection.identificationModule.briefTitle = {}), s),
  'startDateStruct is a string': (s) => ((s.protocolSection.statusModule = { startDateStruct: '2015-03' }), s),
  'criteria is a number': (s) => ((s.protocolSection.eligibilityModule = { eligibilityCriteria: 7 }), s),
  'phases is a string': (s) => ((s.protocolSection.designModule = { phases: 'PHASE2' }), s),
  'conditions is a string': (s) => ((s.protocolSection.conditionsModule = { conditions: 'Asthma' }), s),
  'a condition is a number': (s) => ((s.protocolSection.conditionsModule = { conditions: ['Asthma', 3] }), s),
  'interventions is an object': (s) => ((s.protocolSection.armsInterventionsModule = { interventions: { name: 'x' } }), s),
  'an intervention is a string': (s) => ((s.protocolSection.armsInterventionsModule = { interventions: ['aspirin'] }), s),
  'intervention type is a number': (s) => ((s.protocolSection.armsInterventionsModule = { interventions: [{ type: 1, name: 'aspirin' }] }), s),
  'otherNames is a string': (s) => ((s.protocolSection.armsInterventionsModule = { interventions: [{ type: 'DRUG', name: 'a', otherNames: 'b' }] }), s),
};
const entry = fc.oneof(
  studySpec.map((spec) => ({ broken: undefined as string | undefined, spec })),
  fc.tuple(studySpec, fc.constantFrom(...Object.keys(BREAKERS))).map(([spec, broken]) => ({ broken, spec })),
);

test('a page mixing valid and broken studies keeps every valid one and reports each broken one at its index', () => {
  fc.assert(
    fc.property(fc.array(entry, { minLength: 1, maxLength: 8 }), (entries) => {
      const studies = entries.map(({ broken, spec }) => (broken ? BREAKERS[broken](buildStudy(spec)) : buildStudy(spec)));
      const result = timed(() => parseCtgovJson(JSON.stringify({ studies, nextPageToken: 'abc' }), options));
      assertWellFormed(result);
      assert.deepEqual(
        result.trials.map((t) => t.trial.nctid),
        entries.filter((e) => !e.broken).map((e) => e.spec.nctId),
      );
      entries.forEach(({ broken }, i) => {
        const mine = result.errors.filter((e) => e.index === i);
        if (broken) {
          assert.ok(mine.length > 0, `studies[${i}] (${broken}) not reported`);
          for (const e of mine) assert.ok(e.path.startsWith(`studies[${i}]`), `path ${e.path} for studies[${i}]`);
        } else assert.deepEqual(mine, []);
      });
      assert.ok(result.errors.every((e) => e.index !== undefined));
    }),
    params(300, 2000),
  );
});

// --- properties: arbitrary input ------------------------------------------------------------------------------

// Random JSON text with the API's key names (and "__proto__", "constructor", which JSON.parse makes own
// properties) at any depth: the junk that goes where a field should be.
const KEYS = [
  'studies', 'protocolSection', 'identificationModule', 'nctId', 'briefTitle', 'statusModule', 'startDateStruct', 'date',
  'eligibilityModule', 'eligibilityCriteria', 'conditionsModule', 'conditions', 'armsInterventionsModule', 'interventions',
  'type', 'name', 'otherNames', 'designModule', 'phases', '__proto__', 'constructor', 'toString', 'x',
];
const leafJson = fc.oneof(
  fc.jsonValue({ maxDepth: 0 }).map((v) => JSON.stringify(v)),
  fc.constantFrom('"NCT00000001"', '"NCT0000000"', '"DRUG"', '"PHASE2"', '"2015-03"', '"constructor"', '"__proto__ cancer"', '"Paclitaxel"', '[]', '{}', 'null'),
);
const { json: junk } = fc.letrec<{ json: string; arr: string; obj: string }>((tie) => ({
  json: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leafJson, tie('arr'), tie('obj')),
  arr: fc.array(tie('json'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
  obj: fc
    .array(fc.tuple(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 5 })), tie('json')), { maxLength: 6 })
    .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
}));

// A study as JSON text that follows the API schema, where any field may instead be junk and any object may carry
// extra "__proto__"/"constructor" keys: random JSON alone almost never gets past protocolSection.
// Junk is rare at each place (1 in 15), so that a good share of studies still becomes a Trial.
const maybe = (arb: fc.Arbitrary<string>) => fc.oneof({ weight: 14, arbitrary: arb }, { weight: 1, arbitrary: junk });
const str = (arb: fc.Arbitrary<string>) => arb.map((v) => JSON.stringify(v));
const textArray = (arb: fc.Arbitrary<string>, maxLength: number) => fc.array(arb, { maxLength }).map((a) => `[${a.join(',')}]`);
const textObject = (fields: Record<string, fc.Arbitrary<string>>, requiredKeys: string[] = []) =>
  fc
    .tuple(
      fc.record(fields, { requiredKeys }),
      fc.array(fc.tuple(fc.constantFrom('__proto__', 'constructor', 'toString', 'x'), junk), { maxLength: 2 }),
    )
    .map(([known, extra]) => `{${[...Object.entries(known), ...extra].map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`);
const interventionText = textObject({
  type: maybe(str(fc.constantFrom('DRUG', 'BIOLOGICAL', 'DEVICE', 'drug', ''))),
  name: maybe(str(name(REAL_DRUGS))),
  otherNames: maybe(textArray(maybe(str(name(REAL_DRUGS))), 3)),
});
const studyText = textObject({
  protocolSection: maybe(
    textObject({
      identificationModule: maybe(
        textObject({ nctId: maybe(str(fc.oneof({ weight: 8, arbitrary: nctid }, { weight: 1, arbitrary: fc.constantFrom(' NCT00000001 ', 'NCT1') }))), briefTitle: maybe(str(fc.string({ maxLength: 10 }))) }, ['nctId']),
      ),
      statusModule: maybe(textObject({ startDateStruct: maybe(textObject({ date: maybe(str(fc.constantFrom('2015-03', '2015-03-12', 'x'))) })), overallStatus: junk })),
      eligibilityModule: maybe(textObject({ eligibilityCriteria: maybe(str(fc.string({ maxLength: 20 }))) })),
      designModule: maybe(textObject({ phases: maybe(textArray(maybe(str(fc.constantFrom('PHASE1', 'PHASE2', 'NA', 'x'))), 3)) })),
      conditionsModule: maybe(textObject({ conditions: maybe(textArray(maybe(str(name(REAL_CONDITIONS))), 4)) })),
      armsInterventionsModule: maybe(textObject({ interventions: maybe(textArray(maybe(interventionText), 4)) })),
    }, ['identificationModule']),
  ),
  resultsSection: junk,
}, ['protocolSection']);

test('schema-shaped studies with junk anywhere never throw; a page is its studies parsed one by one', () => {
  fc.assert(
    fc.property(fc.array(studyText, { minLength: 1, maxLength: 4 }), (studies) => {
      const page = timed(() => parseCtgovJson(`{"studies":[${studies.join(',')}]}`, options));
      assertWellFormed(page);
      // Studies are independent: the page's trials and errors are those of each study alone, renumbered.
      const alone = studies.map((t, i) => {
        const r = parseCtgovJson(`{"studies":[${t}]}`, options);
        assertWellFormed(r);
        // One study in, so either one Trial and no errors, or errors and no Trial.
        assert.equal(r.trials.length + (r.errors.length > 0 ? 1 : 0), 1, JSON.stringify(r.errors));
        const errors = r.errors.map((e) => ({ ...e, index: i, path: e.path.replace(/^studies\[0\]/, `studies[${i}]`) }));
        // Reports name dropped interventions by path ("studies[0].protocolSection...: no name"): renumber those too.
        const trials = JSON.parse(JSON.stringify(r.trials).replaceAll('studies[0].', `studies[${i}].`));
        return { trials, errors };
      });
      // Compared as JSON (the renumbering above went through JSON, which drops `type: undefined` in reports).
      assert.deepEqual(JSON.parse(JSON.stringify(page.trials)), alone.flatMap((r) => r.trials));
      assert.deepEqual(page.errors, alone.flatMap((r) => r.errors));
    }),
    params(400, 2000),
  );
});

test('arbitrary JSON values never throw; every error has a path', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      assertWellFormed(timed(() => parseCtgovValue(value, options)));
      assertWellFormed(timed(() => parseCtgovJson(JSON.stringify(value) ?? 'null', options)));
    }),
    params(1000, 1500),
  );
});

test('arbitrary values at any allow-listed path of a valid study never throw', () => {
  const PATHS = [
    ['identificationModule'], ['identificationModule', 'nctId'], ['identificationModule', 'briefTitle'], ['statusModule'],
    ['statusModule', 'startDateStruct'], ['statusModule', 'startDateStruct', 'date'], ['eligibilityModule', 'eligibilityCriteria'],
    ['conditionsModule'], ['conditionsModule', 'conditions'], ['armsInterventionsModule', 'interventions'], ['designModule', 'phases'],
  ];
  const value = fc.oneof(fc.jsonValue(), fc.array(fc.jsonValue(), { maxLength: 3 }), fc.array(fc.record({ type: fc.jsonValue(), name: fc.jsonValue(), otherNames: fc.jsonValue() }), { maxLength: 3 }));
  fc.assert(
    fc.property(studySpec, fc.constantFrom(...PATHS), value, (spec, keys, v) => {
      const study = buildStudy(spec);
      let node = study.protocolSection;
      for (const k of keys.slice(0, -1)) node = node[k] = typeof node[k] === 'object' && node[k] !== null ? node[k] : {};
      node[keys[keys.length - 1]] = v;
      const result = timed(() => parseCtgovValue(JSON.parse(JSON.stringify(study)), options));
      assertWellFormed(result);
      // One study in, so either one Trial and no errors, or errors and no Trial.
      assert.equal(result.trials.length + (result.errors.length > 0 ? 1 : 0), 1, JSON.stringify(result.errors));
    }),
    params(800, 1500),
  );
});

test('arbitrary text never throws; invalid JSON is one error at "$" with an in-range offset', () => {
  const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
  const text = fc.oneof(
    fc.string({ unit: anyCodeUnit, maxLength: 100 }),
    fc.string({ unit: fc.constantFrom('{', '}', '[', ']', '"', ':', ',', '\\', 'u', '0', '1', '-', '.', 'e', 't', 'n', ' ', '\n', '\ufeff'), maxLength: 40 }),
    // One edit of valid, API-shaped JSON: the error is somewhere inside a realistic document.
    fc.tuple(fc.oneof(studyText, junk), fc.nat(), fc.constantFrom('', '"', '}', ']', ',', ':', '\\', '\n')).map(([t, at, s]) => {
      const i = at % (t.length + 1);
      return t.slice(0, i) + s + t.slice(i + 1);
    }),
  );
  fc.assert(
    fc.property(text, (t) => {
      const result = timed(() => parseCtgovJson(t, options));
      assertWellFormed(result);
      let valid = true;
      try {
        JSON.parse(t.charCodeAt(0) === 0xfeff ? t.slice(1) : t);
      } catch {
        valid = false;
      }
      if (!valid) {
        assert.equal(result.errors.length, 1);
        assert.equal(result.errors[0].path, '$');
        const offset = jsonErrorOffset(t.charCodeAt(0) === 0xfeff ? t.slice(1) : t);
        assert.ok(offset >= 0 && offset <= t.length);
      }
    }),
    params(1500, 1500),
  );
});

// --- leakage --------------------------------------------------------------------------------------------------

test('LEAKAGE: overall status, why stopped, completion dates, enrollment and results never change the output', () => {
  const leak = fc.record(
    {
      overallStatus: fc.oneof(fc.constantFrom('COMPLETED', 'TERMINATED', 'WITHDRAWN', 'SUSPENDED'), fc.jsonValue()),
      whyStopped: fc.oneof(fc.constantFrom('lack of efficacy', 'safety concerns', ''), fc.jsonValue()),
      lastKnownStatus: fc.jsonValue(),
      completionDateStruct: fc.oneof(fc.record({ date: fc.constantFrom('2019-01', '2020-12-31'), type: fc.constantFrom('ACTUAL', 'ESTIMATED') }), fc.jsonValue()),
      primaryCompletionDateStruct: fc.jsonValue(),
      enrollmentInfo: fc.oneof(fc.record({ count: fc.nat(), type: fc.constantFrom('ACTUAL', 'ESTIMATED') }), fc.jsonValue()),
      resultsSection: fc.jsonValue(),
      hasResults: fc.jsonValue(),
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(fc.array(studySpec, { minLength: 1, maxLength: 3 }), fc.array(leak, { minLength: 3, maxLength: 3 }), (specs, leaks) => {
      const clean = specs.map(buildStudy);
      const leaky = specs.map((spec, i) => {
        const study = buildStudy(spec);
        const l = leaks[i];
        const status = (study.protocolSection.statusModule ??= {});
        for (const key of ['overallStatus', 'whyStopped', 'lastKnownStatus', 'completionDateStruct', 'primaryCompletionDateStruct'] as const) {
          if (key in l) status[key] = l[key];
        }
        if ('enrollmentInfo' in l) (study.protocolSection.designModule ??= {}).enrollmentInfo = l.enrollmentInfo;
        if ('resultsSection' in l) study.resultsSection = l.resultsSection;
        if ('hasResults' in l) study.hasResults = l.hasResults;
        return study;
      });
      const expected = parseCtgovJson(JSON.stringify({ studies: clean }), options);
      const actual = timed(() => parseCtgovJson(JSON.stringify({ studies: leaky }), options));
      // Trials, mapping reports and errors alike: nothing the reader returns may depend on these fields.
      assert.deepEqual(actual, expected);
    }),
    params(200, 1500),
  );
});

test('regression: conditions named like Object.prototype members are kept unmapped, not a thrown TypeError', () => {
  // Found by the valid-study property (counterexample: conditions ["constructor"]). icd-table.ts looks names up in
  // plain-object alias maps, so "constructor" hit Object.prototype.constructor and lookup threw
  // "name.normalize is not a function" ("constructor cancer": "organs.map is not a function"), taking the whole page
  // down with it.
  const conditions = ['constructor', '__proto__', 'constructor cancer', '__proto__ cancer', 'metastatic constructor', 'Asthma'];
  const study = { protocolSection: { identificationModule: { nctId: 'NCT00000042' }, conditionsModule: { conditions } } };
  const result = parseCtgovJson(JSON.stringify({ studies: [study, study] }), options);
  assert.deepEqual(result.errors, []);
  assert.equal(result.trials.length, 2);
  const { trial, report } = result.trials[0];
  assert.deepEqual(trial.diseases, conditions.map((c) => c.toLowerCase()));
  assert.deepEqual(trial.icdcodes.slice(0, 5), [[], [], [], [], []]);
  assert.ok(trial.icdcodes[5].length > 0, 'asthma still maps');
  assert.ok(report.unmappedConditions.includes('constructor'));
});
