import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DRUG_ALIASES,
  DrugTableError,
  isPlacebo,
  loadDrugTable,
  nameCandidates,
  normalizeDrugName,
  splitComponents,
} from './drug-table.ts';
import { readTopCsv } from './top-csv.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dataDir = path.resolve(repoRoot, '../shared/data/top');
const table = loadDrugTable(dataDir);

const smilesOf = (name: string) => {
  const hit = table.lookup(name);
  assert.ok(hit, `expected a structure for ${name}`);
  return hit.smiles;
};

test('exact names map case- and space-insensitively, from the LIFTED file first', () => {
  const hit = table.lookup('Paclitaxel');
  assert.ok(hit);
  assert.equal(hit.source, 'lifted_drug_smiless');
  assert.equal(hit.matched, 'Paclitaxel');
  assert.deepEqual(table.lookup('  PACLITAXEL '), hit);
  assert.equal(table.lookup('paclitaxel.')?.smiles, hit.smiles);
});

test('doses, forms, salts and brackets are stripped only when the literal name misses', () => {
  assert.equal(table.lookup('imatinib mesylate 400 mg tablets')?.matched, 'Imatinib');
  assert.equal(table.lookup('Gemcitabine Hydrochloride')?.matched, 'Gemcitabine');
  assert.equal(table.lookup('sertraline (zoloft)')?.matched, 'Sertraline');
  assert.equal(table.lookup('concor 5mg(bisoprolol hemifumarate 5mg) 2tab')?.matched, 'Bisoprolol');
  assert.equal(table.lookup('ertugliflozin 4 mg split into twice daily')?.matched, 'Ertugliflozin');
  assert.equal(table.lookup('comparator: pioglitazone')?.matched, 'Pioglitazone');
  // A name that is itself a table entry wins over its salt-free form.
  assert.equal(table.lookup('sodium chloride')?.matched.toLowerCase(), 'sodium chloride');
  // Short bracketed abbreviations are not tried: "tmp" is a different DrugBank entry.
  assert.ok(!nameCandidates('trimethoprim (tmp)').includes('tmp'));
  assert.equal(table.lookup('trimethoprim (tmp)')?.matched, 'Trimethoprim');
});

test('PyTrial and drugbank_mini fill names LIFTED lacks', () => {
  const arginine = table.lookup('L-Arginine');
  assert.equal(arginine?.source, 'pytrial_drug_smiles');
  // drugbank_mini maps the registry title "aspirin" to DrugBank's acetylsalicylic acid.
  assert.equal(table.lookup('aspirin')?.smiles, smilesOf('acetylsalicylic acid'));
});

test('aliases point at real table entries and give the target structure', () => {
  assert.deepEqual((table as unknown as { missingAliasTargets: string[] }).missingAliasTargets, []);
  for (const [alias, target] of Object.entries(DRUG_ALIASES)) {
    assert.ok(table.isKnown(alias), `alias ${alias} -> ${target} is not known`);
  }
  assert.equal(smilesOf('RAD001'), smilesOf('everolimus'));
  assert.equal(smilesOf('ps-341 (velcade)'), smilesOf('bortezomib'));
  assert.equal(table.lookup('Taxol')?.matched, 'Paclitaxel');
  assert.match(table.lookup('Taxol')!.source, /alias "taxol"/);
  // Compact key: spacing variants of a code name.
  assert.equal(smilesOf('bi10773'), smilesOf('empagliflozin'));
});

test('placebo, vehicle, sham and saline never get a structure', () => {
  const controls = [
    'placebo',
    'Placebo.',
    'matching placebo tablets',
    'placebo to match donepezil and mk-3134',
    'bi 10773 placebo',
    'ftc/tdf placebo',
    'vehicle cream',
    'sham',
    'normal saline',
    '0.9% saline solution',
    'placebo (for isradipine)',
    'placebo budesonide/formoterol easyhaler 320/9 ug/inhalation 1 inh',
  ];
  for (const name of controls) {
    assert.equal(isPlacebo(name), true, `isPlacebo(${name})`);
    assert.equal(table.lookup(name), undefined, `lookup(${name})`);
    assert.ok(table.resolve(name).every((p) => p.status === 'placebo'), `resolve(${name})`);
    assert.equal(table.isKnown(name), false);
  }
  // Active saline is not a placebo, but it still has no structure.
  assert.equal(isPlacebo('hypertonic saline 7%'), false);
  assert.equal(table.lookup('hypertonic saline 7%'), undefined);
  // Saline as a diluent does not make the drug a placebo.
  assert.equal(isPlacebo('gemcitabine in normal saline'), false);
  assert.equal(table.lookup('gemcitabine in normal saline')?.matched, 'Gemcitabine');
});

test("TOP's placebo -> alogliptin error is not repeated", () => {
  // In TOP, rows listing "placebo" carry alogliptin's SMILES in ~31% of cases (unaligned smiless column).
  const alogliptin = smilesOf('alogliptin');
  const { rows } = readTopCsv(path.join(dataDir, 'phase_I_train.csv'));
  const placeboNames = new Set(rows.flatMap((r) => r.trial.drugs).filter((d) => isPlacebo(d)));
  assert.ok(placeboNames.size >= 20, `found only ${placeboNames.size} placebo names in TOP`);
  for (const name of placeboNames) {
    assert.equal(table.lookup(name), undefined, name);
    for (const part of table.resolve(name)) assert.notEqual(part.match?.smiles, alogliptin, name);
  }
  const mixed = table.resolve('alogliptin 25 mg/placebo');
  assert.deepEqual(
    mixed.map((p) => [p.text, p.status]),
    [
      ['alogliptin', 'structure'],
      ['placebo', 'placebo'],
    ],
  );
});

test('combinations are split into drugs; a drug joined to a placebo stays real', () => {
  const statuses = (name: string) => table.resolve(name).map((p) => `${p.text}:${p.status}`);
  assert.deepEqual(statuses('lopinavir/ritonavir'), ['lopinavir:structure', 'ritonavir:structure']);
  assert.deepEqual(statuses('papaverine or placebo'), ['papaverine:structure', 'placebo:placebo']);
  assert.deepEqual(statuses('regorafenib (bay73-4506) - sequential / cisplatin / pemetrexed'), [
    'regorafenib (bay73-4506) - sequential:structure',
    'cisplatin:structure',
    'pemetrexed:structure',
  ]);
  assert.deepEqual(statuses('budesonide/formoterol + budesonide placebo bid'), [
    'budesonide:structure',
    'formoterol:structure',
    'budesonide placebo bid:placebo',
  ]);
  assert.deepEqual(statuses('scopolamine 0.5 mg + placebo to match donepezil'), [
    'placebo to match donepezil:placebo',
    'scopolamine:structure',
  ]);
  // Doses are removed before splitting, so "mg/kg" is not a separator; brackets keep their commas.
  assert.deepEqual(splitComponents('cyclophosphamide 50 mg/kg'), ['cyclophosphamide']);
  assert.deepEqual(splitComponents('radium-223 dichloride (xofigo, bay88-8223)'), ['radium-223 dichloride (xofigo, bay88-8223)']);
  assert.equal(isPlacebo('papaverine or placebo'), false);
});

test('biologics are known without a structure; unknown names are unknown', () => {
  assert.equal(table.lookup('bevacizumab'), undefined);
  assert.equal(table.isKnown('Bevacizumab'), true);
  assert.deepEqual(table.resolve('Bevacizumab'), [{ text: 'bevacizumab', status: 'known' }]);
  // PyTrial lists trastuzumab with an empty SMILES: known, not a structure.
  assert.equal(table.lookup('trastuzumab'), undefined);
  assert.equal(table.isKnown('herceptin'), true);
  assert.deepEqual(table.resolve('FXL-9921'), [{ text: 'fxl-9921', status: 'unknown' }]);
});

test('normalizeDrugName folds case, dashes, quotes and trademark signs', () => {
  assert.equal(normalizeDrugName('  Lenalidomide (Revlimid®) '), 'lenalidomide (revlimid )');
  assert.equal(normalizeDrugName('ABT\u2011751'), 'abt-751');
  assert.equal(normalizeDrugName('"placebo."'), 'placebo');
});

test('one table per data directory, loaded once', () => {
  assert.equal(loadDrugTable(dataDir + path.sep), table);
  assert.equal(loadDrugTable(path.join(dataDir, '.')), table);
  assert.ok(table.size > 11_000, `size ${table.size}`);
  assert.throws(() => loadDrugTable(path.join(repoRoot, 'no-such-data-dir')), DrugTableError);
});

test('coverage of TOP phase I train drug names stays at the measured level', () => {
  // Measured when written: 52.1% of distinct non-placebo names (66.0% of mentions) map as whole names;
  // 59.6% / 70.7% have at least one mapped part after splitting combinations.
  const { rows } = readTopCsv(path.join(dataDir, 'phase_I_train.csv'));
  const counts = new Map<string, number>();
  for (const r of rows) for (const d of r.trial.drugs) if (!isPlacebo(d)) counts.set(d, (counts.get(d) ?? 0) + 1);
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  let whole = 0;
  let wholeMentions = 0;
  let anyPart = 0;
  for (const [name, n] of counts) {
    if (table.lookup(name)) {
      whole++;
      wholeMentions += n;
    }
    if (table.resolve(name).some((p) => p.status === 'structure')) anyPart++;
  }
  assert.ok(whole / counts.size >= 0.5, `whole-name coverage ${whole}/${counts.size}`);
  assert.ok(wholeMentions / total >= 0.63, `mention coverage ${wholeMentions}/${total}`);
  assert.ok(anyPart / counts.size >= 0.57, `any-part coverage ${anyPart}/${counts.size}`);
});
