/**
 * Test support for prediction, the CLI and the HTTP service: a deterministic fake criteria encoder and a tiny
 * model bundle, so tests need neither the criteria LM nor a training run (a bundle is written in ~0.1 s).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { init } from '@jax-js/jax';
import { criteriaDocuments } from '../../lm/criteria-text.ts';
import { fnv1a, MOLECULE_INPUT } from '../../features/dm-features.ts';
import type { CriteriaEncoder, EncodedCriteria } from '../../features/criteria-encoder.ts';
import type { TrialInput } from '../../features/trial-batch.ts';
import { initCladmop, initLoraParams, type CladmopConfig } from '../../model/cladmop.ts';
import { saveBundle, type BundleConfig } from '../../model/bundle.ts';
import type { LexicalState } from '../../model/lexical.ts';
import type { Calibration } from '../calibration.ts';

/**
 * Deterministic stand-in for the criteria LM: one token per word of each canonical section text, with hidden
 * states hashed from (word, level, dimension). Level 0, dimension 0 carries a sentiment marker: +1 for the word
 * "good", -1 for "bad", 0 otherwise (see `markerScorer`).
 */
export class FakeEncoder implements CriteriaEncoder {
  readonly name = 'fake test encoder (hashed words)';
  readonly dim: number;
  readonly layers = [1, 2, 3];
  readonly maxTokensPerSection = 200;
  readonly id: string;
  calls = 0;
  textsEncoded = 0;

  constructor(dim = 8, idSuffix = '') {
    this.dim = dim;
    this.id = `fake-encoder:v1:d=${dim}${idSuffix}`;
  }

  static tokenId(word: string): number {
    return 1 + (fnv1a(word) % 50000);
  }

  async encodeMany(criteria: string[]): Promise<EncodedCriteria[]> {
    this.calls++;
    this.textsEncoded += criteria.length;
    return criteria.map((text) => this.encodeOne(text));
  }

  private encodeOne(text: string): EncodedCriteria {
    const words: string[] = [];
    const segments: number[] = [];
    for (const doc of criteriaDocuments(text)) {
      const ws = doc.text.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean).slice(0, this.maxTokensPerSection);
      for (const w of ws) {
        words.push(w);
        segments.push(doc.section === 'inclusion' ? 0 : 1);
      }
    }
    const d = this.dim;
    const levels = [0, 1, 2].map((l) => {
      const a = new Float32Array(words.length * d);
      words.forEach((w, t) => {
        for (let j = 0; j < d; j++) a[t * d + j] = ((fnv1a(`${l}:${j}:${w}`) % 2001) - 1000) / 1000;
        if (l === 0) a[t * d] = w === 'good' ? 1 : w === 'bad' ? -1 : 0;
      });
      return a;
    });
    return { levels, tokens: words.map((w) => FakeEncoder.tokenId(w)), segments: Uint8Array.from(segments), dim: d };
  }
}

/**
 * A scorer with known signs, to replace `model.score` in attribution tests: logit = 0.8 · (#"good" − #"bad"
 * tokens) + 0.3 · drugs − 0.2 · diseases with codes.
 */
export async function markerScorer(inputs: TrialInput[]): Promise<Float64Array> {
  return Float64Array.from(inputs, ({ criteria, dm }) => {
    let marks = 0;
    for (let t = 0; t < criteria.tokens.length; t++) marks += criteria.levels[0][t * criteria.dim];
    const z = 0.8 * marks + 0.3 * dm.drugNgrams.length - 0.2 * dm.diseaseAncestors.length;
    return 1 / (1 + Math.exp(-z));
  });
}

export const TINY_ICD_VOCABULARY = ['<unk>', 'C', 'C34', 'C34.9', 'C34.90', 'C78', 'C78.0', 'C78.00', 'E', 'E11', 'E11.9', 'J', 'J45', 'J45.9', 'K', 'K22', 'K22.2'];

export function tinyConfig(dEncoder = 8): CladmopConfig {
  return {
    dEncoder,
    dModel: 8,
    nHeads: 2,
    ffHidden: 16,
    centroids: [4, 2],
    selfAttention: 1,
    levels: [0, 1, 2],
    dmLayers: 1,
    moleculeInput: MOLECULE_INPUT,
    moleculeHidden: 8,
    nameBuckets: 64,
    icdVocab: TINY_ICD_VOCABULARY.length,
    dJoint: 8,
    headHidden: 8,
    loraRank: 2,
    loraAlpha: 4,
    dropout: 0,
    initLogitScale: 0.6,
  };
}

export interface TinyBundleOptions {
  dir?: string;
  encoder?: CriteriaEncoder;
  phase?: 'I' | 'II' | 'III';
  seed?: number;
  calibration?: Calibration;
  /** Ensemble members (seeds seed, seed + 1, ...); default 1. */
  members?: number;
  lexical?: LexicalState;
  deepInputs?: 'all' | 'criteria';
}

/** Writes a randomly initialised tiny bundle; returns its directory and config. */
export async function writeTinyBundle(o: TinyBundleOptions = {}): Promise<{ dir: string; config: BundleConfig }> {
  await init('wasm');
  const encoder = o.encoder ?? new FakeEncoder();
  const dir = o.dir ?? path.join(mkdtempSync(path.join(os.tmpdir(), 'cladmop-tiny-')), 'model');
  const c = tinyConfig(encoder.dim);
  const seed = o.seed ?? 7;
  const params = initCladmop(c, seed);
  const members = Array.from({ length: o.members ?? 1 }, (_, i) => ({ lora: initLoraParams(c, seed + i), head: i === 0 ? params.head : initCladmop(c, seed + i).head, info: { seed: seed + i } }));
  const config = await saveBundle({
    dir,
    params,
    members,
    lexical: o.lexical,
    icdVocabulary: TINY_ICD_VOCABULARY,
    config: {
      architecture: c,
      encoder: { spec: 'fake', id: encoder.id, name: encoder.name },
      phase: o.phase ?? 'I',
      dmFeatures: { moleculeSource: 'top', nameBuckets: c.nameBuckets },
      maxCriteria: 64,
      training: { seed, quick: true, note: 'tiny random test bundle' },
      metrics: { validPrAuc: 0.61, test: { f1: 0.5, prAuc: 0.6, rocAuc: 0.55 } },
      codeVersion: '0.1.0',
      ...(o.deepInputs ? { deepInputs: o.deepInputs } : {}),
      ...(o.calibration ? { calibration: o.calibration as unknown as Record<string, unknown> } : {}),
    },
  });
  return { dir, config };
}

/** A hand-written ClinicalTrials.gov API v2 study (phase 1, two drugs, a placebo, two conditions). */
export function sampleStudy(): Record<string, unknown> {
  return {
    protocolSection: {
      identificationModule: { nctId: 'NCT09990042', briefTitle: 'Metformin and Gefitinib in Advanced Lung Cancer (hand-written test record)' },
      statusModule: {
        overallStatus: 'COMPLETED',
        startDateStruct: { date: '2016-02-01' },
        completionDateStruct: { date: '2018-05-30', type: 'ACTUAL' },
      },
      conditionsModule: { conditions: ['Non-small Cell Lung Cancer', 'Type 2 Diabetes'] },
      designModule: { studyType: 'INTERVENTIONAL', phases: ['PHASE1'], enrollmentInfo: { count: 24, type: 'ACTUAL' } },
      armsInterventionsModule: {
        interventions: [
          { type: 'DRUG', name: 'Metformin', otherNames: ['Glucophage'] },
          { type: 'DRUG', name: 'Gefitinib' },
          { type: 'DRUG', name: 'Placebo' },
        ],
      },
      eligibilityModule: {
        eligibilityCriteria:
          'Inclusion Criteria:\n\n* Histologically confirmed non-small cell lung cancer with good performance status\n* Age 18 years or older\n* Adequate liver and kidney function\n\nExclusion Criteria:\n\n* Bad cardiac function or recent myocardial infarction\n* Pregnant or breast feeding\n* Prior treatment with an EGFR inhibitor',
      },
    },
    resultsSection: { participantFlowModule: { recruitmentDetails: 'All 24 enrolled participants completed.' } },
  };
}
