// cladmop as a library, from plain Node (no TypeScript, no loader flags): score one row of a TOP CSV and one
// ClinicalTrials.gov API v2 record with the default models that ship in the package, each trial by its phase's model.
//
//   node examples/library.mjs [STUDY_JSON] [TOP_CSV]
//
// STUDY_JSON defaults to examples/study.json (a hand-written phase 1 record), TOP_CSV to phase_I_test.csv in the
// TOP data directory (settings.dataDir: $CLADMOP_DATA, else ../shared/data/top beside a checkout). The data
// directory is also where the record reader finds TOP's drug and ICD tables (drug names -> SMILES, conditions ->
// ICD-10). In a checkout, run `npm run build` first ('cladmop' resolves to the built dist/). CI runs this file in
// an empty project with the packed tarball installed (scripts/pack-check.mjs), and prints its last line as JSON.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelRouter, parseCtgovJson, readTopCsv, settings } from 'cladmop';

const here = path.dirname(fileURLToPath(import.meta.url));
const studyFile = process.argv[2] ?? path.join(here, 'study.json');
const csvFile = process.argv[3] ?? path.join(settings.dataDir, 'phase_I_test.csv');

// The default models inside the installed package (models/phase-I, -II, -III): each trial goes to its phase's model.
const models = await ModelRouter.load();
for (const m of Object.values(models.models)) console.log(`phase ${m.info.phase} model ${m.info.id.slice(0, 12)}: ${m.info.members} members, calibration ${m.info.calibration}, from ${m.dir}`);

// A TOP CSV row: the readers return labelled trials; the label is not an input of the model.
const top = readTopCsv(csvFile);
if (top.rows.length === 0) throw new Error(`${csvFile}: no readable rows (${top.errors.length} errors)`);
const row = top.rows[0];

// A ClinicalTrials.gov API v2 record (what `curl https://clinicaltrials.gov/api/v2/studies/NCT...` returns).
const parsed = parseCtgovJson(readFileSync(studyFile, 'utf8'), { dataDir: settings.dataDir, source: studyFile });
if (parsed.errors.length > 0) throw new Error(parsed.errors.map((e) => `${e.source} ${e.path}: ${e.message}`).join('\n'));

const [fromCsv, fromCtgov] = await models.predict([row.trial, ...parsed.trials]);
models.dispose();
for (const p of [fromCsv, fromCtgov]) {
  if (p.status !== 'ok' || !(p.probability >= 0 && p.probability <= 1)) throw new Error(`${p.nctid}: no probability (${p.status}: ${p.refusal ?? ''})`);
  console.log(`${p.nctid} (${p.phase.trial}, phase ${p.phase.model} model): P(success) = ${p.probability.toFixed(4)} (raw ${p.rawProbability.toFixed(4)}; ${p.inputs.drugs.length} drugs, ${p.inputs.diseases.length} diseases)`);
}
console.log(JSON.stringify({ csv: { nctid: fromCsv.nctid, probability: fromCsv.probability }, ctgov: { nctid: fromCtgov.nctid, probability: fromCtgov.probability } }));
