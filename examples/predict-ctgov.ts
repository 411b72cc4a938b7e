/**
 * A ClinicalTrials.gov API v2 record -> loadModel -> predict -> explain -> print.
 *
 *   node bin/run-ts.mjs examples/predict-ctgov.ts [MODEL_DIR]
 *
 * MODEL_DIR is a bundle written by `cladmop reproduce` (default results/phase_I/model). The record below is
 * hand-written in the API v2 layout (what `curl https://clinicaltrials.gov/api/v2/studies/NCT...` returns);
 * its overallStatus and resultsSection are there to show they are ignored. Output: see examples/README.md.
 */
import { explain, loadModel, parseCtgovValue, predict } from '../src/index.ts';
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

const modelDir = process.argv[2] ?? 'results/phase_I/model';
const model = await loadModel(modelDir); // the bundle and the criteria encoder it was trained on
console.log(`model ${model.info.id.slice(0, 12)} (phase ${model.info.phase}, cladmop ${model.info.codeVersion}, calibration: ${model.info.calibration})`);

// The reader maps conditions to ICD-10 and interventions to SMILES with TOP's drug and ICD tables.
const { trials, errors } = parseCtgovValue(study, { dataDir: resolveDataDir() });
if (errors.length > 0) throw new Error(errors.map((e) => `${e.path}: ${e.message}`).join('\n'));

const [p] = await predict(model, trials);
console.log(`${p.nctid}: P(success) = ${p.probability?.toFixed(3)} (${p.status})`);
console.log(`read: ${p.inputs.criteria.inclusion} inclusion + ${p.inputs.criteria.exclusion} exclusion statements, drugs ${p.inputs.drugs.join(', ')}, ${p.inputs.molecules} molecules, diseases ${p.inputs.diseases.join(', ')}`);
console.log(`not used: ${p.missing.droppedInterventions.map((d) => `${d.name} (${d.reason})`).join('; ') || 'nothing'}`);
for (const w of p.warnings) console.log(`warning: ${w}`);

const e = await explain(model, trials[0]);
const fmt = (d: number) => `${d >= 0 ? '+' : ''}${d.toFixed(4)}`;
console.log('criteria (delta = p(all) - p(without the statement)):');
for (const s of e.statements) console.log(`  ${fmt(s.delta)}  ${s.section.padEnd(9)} ${s.text}`);
console.log(`drugs:    ${e.drugs.map((d) => `${d.name} ${fmt(d.delta)}`).join(', ')}`);
console.log(`diseases: ${e.diseases.map((d) => `${d.name} ${fmt(d.delta)}`).join(', ')}`);
model.dispose();
