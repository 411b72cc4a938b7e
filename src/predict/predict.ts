/**
 * `predict(model, trials)`: success probabilities of trials with what each prediction used, what was missing
 * and why a trial was refused.
 */
import { encodeWithCache, type EncodedCriteria } from '../features/criteria-encoder.ts';
import { blankDm, dmFeatures, icdAncestors, type DmFeatures } from '../features/dm-features.ts';
import { parseCriteria } from '../data/criteria.ts';
import { benchmarkPhasesOf, type BenchmarkPhase, type Trial } from '../data/trial.ts';
import type { DroppedIntervention } from '../data/ctgov.ts';
import { applyCalibration } from './calibration.ts';
import { toPredictInput, type InputLike, type PredictInput } from './inputs.ts';
import type { Model } from './model.ts';

/** What the model read of a trial. */
export interface InputsUsed {
  /** Parsed eligibility statements and criteria tokens (encoder tokens; the model reads at most `tokensUsed`). */
  criteria: { inclusion: number; exclusion: number; tokens: number; tokensUsed: number };
  /** Drug names read (placebo/sham/vehicle dropped, at most 8). */
  drugs: string[];
  /** Molecule structures read (parseable SMILES, at most 8); 0 means the learned "unknown molecule" token. */
  molecules: number;
  /** Diseases (conditions) as given. */
  diseases: string[];
  /** Diseases that reached the model through at least one known ICD-10 code. */
  diseasesWithCodes: number;
  /**
   * Each condition with its ICD-10 codes and what the model read of each: the most specific prefix in its
   * vocabulary (e.g. "C71" for C71.7, whose 4-character code it has not seen; the model reads every known
   * prefix, C and C71 here), or null when no prefix is known (malformed code).
   */
  conditions: { name: string; codes: { code: string; readAs: string | null }[] }[];
  /**
   * Drug → molecule, for registry records: the drug-table entry that gave each drug its structure (`matched`,
   * via the name `via`), or null when the tables know none (see `missing.unmappedDrugs` / `drugsWithoutSmiles`).
   */
  drugMolecules: { drug: string; matched: string | null; via?: string }[];
  /**
   * [ours] The lexical level (models that have one): its logit, added to the deep model's, and the terms that
   * move it most (criteria words and bigrams, `drug:` and `icd:` tokens; contribution = weight x TF-IDF value).
   */
  lexical?: { logit: number; terms: { term: string; contribution: number }[] };
}

/** Inputs that were absent or could not be used. */
export interface MissingInputs {
  /** No inclusion or exclusion statement could be parsed from the criteria text. */
  criteria: boolean;
  /** Drugs found in no drug table (registry records only). */
  unmappedDrugs: string[];
  /** Drugs known without a small-molecule structure, e.g. antibodies (registry records only). */
  drugsWithoutSmiles: string[];
  /** SMILES RDKit could not parse. */
  invalidSmiles: string[];
  /**
   * ICD-10 codes absent from the model's ICD vocabulary (at full depth); the model still reads their known
   * broader categories (e.g. C76 for C76.0), and nothing for a malformed code.
   */
  unknownIcdCodes: string[];
  /** Conditions without any ICD-10 code. */
  unmappedConditions: string[];
  /** Placebo/sham/vehicle drug entries dropped. */
  placeboDropped: number;
  /** Registry interventions not used as drugs (placebo, devices, procedures, ...). */
  droppedInterventions: DroppedIntervention[];
  /** No molecule structure at all: the model used its learned "unknown molecule" token. */
  noMolecule: boolean;
}

export interface Prediction {
  nctid: string;
  /** "refused": the model cannot predict this trial (see `refusal`); probability is then null. */
  status: 'ok' | 'refused';
  refusal?: string;
  /** The phase the model predicts (the bundle's), the trial's phase text and its benchmark phases. */
  phase: { model: BenchmarkPhase; trial: string; trialPhases: BenchmarkPhase[] };
  /** Success probability: calibrated when the bundle carries a calibration, else equal to `rawProbability`. */
  probability: number | null;
  /** The model's own probability (sigmoid of its logit). */
  rawProbability: number | null;
  calibration: 'platt' | 'isotonic' | 'none';
  model: { id: string; codeVersion: string };
  inputs: InputsUsed;
  missing: MissingInputs;
  warnings: string[];
}

/** Why a trial cannot be predicted by this model, or null. */
export function refusalOf(model: Model, input: PredictInput): string | null {
  const text = input.trial.phase.trim();
  if (benchmarkPhasesOf(text).length > 0) return null;
  if (text === '') {
    return `no phase given: the model predicts phase I, II and III drug trials (this is a phase ${model.info.phase} model); phase 4, "not applicable" and unphased studies are not predicted`;
  }
  return `phase ${JSON.stringify(text)} is outside phases I–III: the model predicts phase I, II and III drug trials only (this is a phase ${model.info.phase} model)`;
}

function emptyMissing(): MissingInputs {
  return {
    criteria: false,
    unmappedDrugs: [],
    drugsWithoutSmiles: [],
    invalidSmiles: [],
    unknownIcdCodes: [],
    unmappedConditions: [],
    placeboDropped: 0,
    droppedInterventions: [],
    noMolecule: false,
  };
}

function basePrediction(model: Model, input: PredictInput): Prediction {
  const t = input.trial;
  return {
    nctid: t.nctid,
    status: 'ok',
    phase: { model: model.info.phase, trial: t.phase, trialPhases: benchmarkPhasesOf(t.phase) },
    probability: null,
    rawProbability: null,
    calibration: model.info.calibration,
    model: { id: model.info.id, codeVersion: model.info.codeVersion },
    inputs: { criteria: { inclusion: 0, exclusion: 0, tokens: 0, tokensUsed: 0 }, drugs: [], molecules: 0, diseases: [...t.diseases], diseasesWithCodes: 0, conditions: [], drugMolecules: [] },
    missing: emptyMissing(),
    warnings: [...(input.warnings ?? []), ...(input.report?.warnings ?? [])],
  };
}

/** The prediction entry of a refused trial. */
export function refusedPrediction(model: Model, input: PredictInput, reason: string): Prediction {
  const p = basePrediction(model, input);
  p.status = 'refused';
  p.refusal = reason;
  return p;
}

/** Encodes criteria texts through the model's cache (if any); results are rounded like cache entries either way. */
export async function encodeCriteria(model: Model, texts: string[]): Promise<EncodedCriteria[]> {
  return (await encodeWithCache(model.encoder, model.cache, texts)).encoded;
}

/** The lexical logits of trials (the model's `TrialInput.offset`), or undefined for a model without a lexical level. */
export function lexicalOffsets(model: Model, trials: Trial[]): (number | undefined)[] {
  if (!model.lexical) return trials.map(() => undefined);
  return Array.from(model.lexical.logits(trials));
}

/** The DM features the deep part reads: all of them, or none for a criteria-only deep part (config.deepInputs). */
export function deepDm(model: Model, dm: DmFeatures): DmFeatures {
  return model.config.deepInputs === 'criteria' ? blankDm(dm, { drugs: true, diseases: true }) : dm;
}

/** DM features of a trial with the model's settings. */
export function trialDm(model: Model, input: PredictInput): DmFeatures {
  return dmFeatures(input.trial, model.featurizer, model.icd, model.dm);
}

/** Assembles the prediction of a scored trial; `lexicalLogit` is the offset it was scored with (not recomputed). */
export function buildPrediction(model: Model, input: PredictInput, encoded: EncodedCriteria, dm: DmFeatures, raw: number, lexicalLogit?: number): Prediction {
  const p = basePrediction(model, input);
  const t = input.trial;
  const statements = parseCriteria(t.criteria);
  const tokens = encoded.tokens.length;
  const maxCriteria = model.config.maxCriteria;
  p.inputs.criteria = { inclusion: statements.inclusion.length, exclusion: statements.exclusion.length, tokens, tokensUsed: Math.min(tokens, maxCriteria) };
  p.inputs.drugs = dropPlacebo(t.drugs).slice(0, dm.drugNgrams.length);
  p.inputs.molecules = dm.nMolecules;
  p.inputs.diseasesWithCodes = dm.diseaseAncestors.length;
  if (model.lexical) p.inputs.lexical = { logit: lexicalLogit ?? model.lexical.logits([t])[0], terms: model.lexical.terms(t, 8) };
  const r = input.report;
  p.inputs.conditions = t.diseases.map((name, i) => ({ name, codes: (t.icdcodes[i] ?? []).map((code) => ({ code, readAs: readAs(model, code) })) }));
  const mapped = new Map((r?.mappedDrugs ?? []).map((m) => [m.drug, m]));
  p.inputs.drugMolecules = p.inputs.drugs.map((drug) => {
    const m = mapped.get(drug);
    return m ? { drug, matched: m.matched, via: m.via } : { drug, matched: null };
  });
  p.missing = {
    criteria: statements.inclusion.length + statements.exclusion.length === 0,
    unmappedDrugs: [...(r?.unmappedDrugs ?? [])],
    drugsWithoutSmiles: [...(r?.drugsWithoutSmiles ?? [])],
    invalidSmiles: [...dm.report.invalidSmiles],
    unknownIcdCodes: [...new Set(dm.report.unknownIcdCodes)],
    unmappedConditions: r ? [...r.unmappedConditions] : t.diseases.filter((_, i) => (t.icdcodes[i] ?? []).length === 0),
    placeboDropped: dm.report.placeboDropped,
    droppedInterventions: [...(r?.droppedInterventions ?? [])],
    noMolecule: dm.nMolecules === 0,
  };
  const w = p.warnings;
  if (!p.phase.trialPhases.includes(model.info.phase)) {
    w.push(
      `trial is ${p.phase.trialPhases.map((x) => `phase ${x}`).join('/')} ("${t.phase}") but this model was trained on phase ${model.info.phase} trials: ` +
        `the probability is a phase ${model.info.phase} model's estimate`,
    );
  }
  if (p.missing.criteria) w.push('no eligibility statements could be read: the model saw empty criteria');
  if (tokens > maxCriteria) w.push(`criteria has ${tokens} encoder tokens; the model reads ${maxCriteria} (each section keeps its first tokens)`);
  const perSection = [0, 0];
  encoded.segments.forEach((s) => perSection[s]++);
  (['inclusion', 'exclusion'] as const).forEach((name, s) => {
    if (perSection[s] >= model.encoder.maxTokensPerSection) {
      w.push(`${name} criteria reach the encoder's window (${model.encoder.maxTokensPerSection} tokens): statements after it are not read`);
    }
  });
  if (p.missing.noMolecule) w.push('no molecule structure could be used: the model used its learned "unknown molecule" token');
  for (const x of dm.report.truncated) w.push(`too many inputs, the first ones kept: ${x}`);
  p.rawProbability = raw;
  p.probability = model.calibration ? applyCalibration(model.calibration, raw) : raw;
  return p;
}

/** The most specific prefix of an ICD-10 code the model's vocabulary knows (what it reads), or null. */
function readAs(model: Model, code: string): string | null {
  const known = icdAncestors(code).filter((a) => model.icd.id(a) !== undefined);
  return known.length > 0 ? known[known.length - 1] : null;
}

const PLACEBO = /\b(placebo|sham|vehicle|dummy)\b/i;
/** Same rule as dm-features.ts: placebo-like names are dropped unless they are part of a combination. */
export const dropPlacebo = (drugs: string[]) => drugs.filter((d) => !(PLACEBO.test(d) && !/\bplus\b|\+|\bwith\b/i.test(d)));

export interface PredictOptions {
  /** Trials encoded and scored per step (default 64). */
  chunkSize?: number;
  /** Called after each step with (trials done, total). */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Success probabilities of trials. Each input is a `Trial` or a `PredictInput` (a trial with its reader's
 * report). Trials whose phase is outside I–III get a `refused` entry instead of a probability; the result has
 * one entry per input, in input order. A trial's result does not depend on the other inputs.
 */
export async function predict(model: Model, inputs: InputLike[], options: PredictOptions = {}): Promise<Prediction[]> {
  const items = inputs.map(toPredictInput);
  const out: Prediction[] = new Array(items.length);
  const todo: number[] = [];
  items.forEach((input, i) => {
    const reason = refusalOf(model, input);
    if (reason) out[i] = refusedPrediction(model, input, reason);
    else todo.push(i);
  });
  let done = items.length - todo.length;
  const chunk = Math.max(1, options.chunkSize ?? 64);
  for (let s = 0; s < todo.length; s += chunk) {
    const idx = todo.slice(s, s + chunk);
    const encoded = await encodeCriteria(model, idx.map((i) => items[i].trial.criteria));
    const dms = idx.map((i) => trialDm(model, items[i]));
    const offsets = lexicalOffsets(model, idx.map((i) => items[i].trial));
    const raw = await model.score(idx.map((_, k) => ({ criteria: encoded[k], dm: deepDm(model, dms[k]), offset: offsets[k] })));
    idx.forEach((i, k) => (out[i] = buildPrediction(model, items[i], encoded[k], dms[k], raw[k], offsets[k])));
    done += idx.length;
    options.onProgress?.(done, items.length);
  }
  if (todo.length === 0) options.onProgress?.(done, items.length);
  return out;
}
