/**
 * A ClinicalTrials.gov API v2 record -> loadModel -> predict -> explain -> print.
 *
 *   node bin/run-ts.mjs examples/predict-ctgov.ts
 *
 * Uses the shipped default models (models/phase-I, -II, -III; CLADMOP_MODELS overrides). The record below is
 * hand-written in the API v2 layout (what `curl https://clinicaltrials.gov/api/v2/studies/NCT...` returns);
 * its overallStatus and resultsSection are there to show they are ignored. Output: see examples/README.md.
 */
import { ModelRouter, parseCtgovValue } from '../src/index.ts';
import { resolveDataDir } from '../src/data/splits.ts';

const study = {
  protocolSection: {
    identificationModule: { nctId: 'NCT09990042', briefTitle: 'Metformin Plus Gefitinib in EGFR-Mutant Non-Small Cell Lung Cancer (hand-written example)' },
    statusModule: { overallStatus: 'COMPLETED', startDateStruct: { date: '2016-02-01' } },
    conditionsModule: { conditions: ['Non-small Cell Lung Cancer', 'Type 2 Diabetes'] },
    designModule: { studyType: 'INTERVENTIONAL', phases: ['PHASE1'] },
    armsInterventionsModule: {
      interventions: [
        { type: 'DRUG', name: 'Metformin', otherNames: ['Glucophage'] },
        { type: 'DRUG', name: 'Gefitinib', otherNames: ['Iressa'] },
        { type: 'DRUG', name: 'Placebo' },
        { type: 'PROCEDURE', name: 'Tumour biopsy' },
      ],
    },
    eligibilityModule: {
      eligibilityCriteria: [
        'Inclusion Criteria:',
        '',
        '* Histologically confirmed stage IIIB/IV non-small cell lung cancer with an activating EGFR mutation',
        '* ECOG performance status 0-1',
        '* Adequate bone marrow, liver and kidney function',
        '* Age 18 years or older',
        '',
        'Exclusion Criteria:',
        '',
        '* Prior treatment with an EGFR tyrosine kinase inhibitor',
        '* Symptomatic brain metastases',
        '* Pregnant or breast feeding',
      ].join('\n'),
    },
  },
  resultsSection: { participantFlowModule: { recruitmentDetails: 'ignored by cladmop' } },
};

// The shipped default models (models/phase-I, -II, -III): each trial is scored by its phase's model.
const models = await ModelRouter.load();
// The reader maps conditions to ICD-10 and interventions to SMILES with TOP's drug and ICD tables.
const { trials, errors } = parseCtgovValue(study, { dataDir: resolveDataDir() });
if (errors.length > 0) throw new Error(errors.map((e) => `${e.path}: ${e.message}`).join('\n'));

const [p] = await models.predict(trials);
const model = models.modelFor(trials[0].trial.phase)!;
console.log(`model ${model.info.id.slice(0, 12)} (phase ${model.info.phase}, ${model.info.members} members, lexical level: ${model.info.lexical ? 'yes' : 'no'}, calibration: ${model.info.calibration})`);
console.log(`${p.nctid}: P(success) = ${p.probability?.toFixed(3)} (${p.status})`);
console.log(`read: ${p.inputs.criteria.inclusion} inclusion + ${p.inputs.criteria.exclusion} exclusion statements, ${p.inputs.molecules} molecules`);
for (const d of p.inputs.drugMolecules) console.log(`  drug ${d.drug} -> ${d.matched ? `structure of ${d.matched} (via "${d.via}")` : 'no structure'}`);
for (const c of p.inputs.conditions) console.log(`  condition ${c.name} -> ${c.codes.map((x) => `${x.code}${x.readAs && x.readAs !== x.code ? ` (read as ${x.readAs})` : ''}`).join(', ') || 'no ICD-10 code'}`);
console.log(`not used: ${p.missing.droppedInterventions.map((d) => `${d.name} (${d.reason})`).join('; ') || 'nothing'}`);
if (p.inputs.lexical) console.log(`lexical level: logit ${p.inputs.lexical.logit.toFixed(3)}; terms ${p.inputs.lexical.terms.slice(0, 5).map((t) => `${t.term} ${t.contribution >= 0 ? '+' : ''}${t.contribution.toFixed(3)}`).join(', ')}`);
for (const w of p.warnings) console.log(`warning: ${w}`);

const e = await models.explain(trials[0]);
const fmt = (d: number) => `${d >= 0 ? '+' : ''}${d.toFixed(4)}`;
console.log('criteria (delta = P(all) - P(without the statement), calibrated):');
for (const s of e.statements) console.log(`  ${fmt(s.delta)}  ${s.section.padEnd(9)} ${s.text}`);
console.log(`drugs:    ${e.drugs.map((d) => `${d.name} ${fmt(d.delta)}`).join(', ')}`);
console.log(`diseases: ${e.diseases.map((d) => `${d.name} ${fmt(d.delta)}`).join(', ')}`);
models.dispose();
