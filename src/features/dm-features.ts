/**
 * Host-side features of the Drug-Molecule branch for one trial: molecules, drug names and diseases.
 *
 * Data quality decisions (TOP):
 *  - TOP's `drugs` and `smiless` lists differ in length in 11-33% of rows, so they are not paired by position:
 *    molecules and drug names are separate tokens.
 *  - "placebo" carries alogliptin's structure in ~31% of the rows that list it, and platinum structures are
 *    attached to unrelated drugs. With `moleculeSource: 'names'` the molecules are re-derived from the drug
 *    names through the drug table (placebo never maps); with 'top' the TOP SMILES are used as given, minus
 *    duplicates. Which is better is measured by the ablation in `cladmop reproduce`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Trial } from '../data/trial.ts';
import { MoleculeFeaturizer, FP_BITS, N_DESCRIPTORS } from './molecule.ts';

export const MAX_MOLECULES = 8;
export const MAX_DRUGS = 8;
export const MAX_DISEASES = 8;
export const MAX_NGRAMS = 32;
export const MAX_ANCESTORS = 16;
export const MOLECULE_INPUT = FP_BITS + N_DESCRIPTORS;

const PLACEBO = /\b(placebo|sham|vehicle|dummy)\b/i;

export interface DmFeatures {
  /** [m, MOLECULE_INPUT] row-major, m <= MAX_MOLECULES */
  molecules: Float32Array;
  nMolecules: number;
  /** Per drug: hashed n-gram ids. */
  drugNgrams: number[][];
  /** Per disease: ICD vocabulary ids of all prefix ancestors of its codes. */
  diseaseAncestors: number[][];
  report: { invalidSmiles: string[]; placeboDropped: number; unknownIcdCodes: string[]; truncated: string[] };
}

const EMPTY_MOLECULES = new Float32Array(0);

/** `dm` without its drugs and molecules (the unknown-molecule token then stands in) and/or its diseases. */
export function blankDm(dm: DmFeatures, which: { drugs: boolean; diseases: boolean }): DmFeatures {
  return {
    ...dm,
    // Packing reads only the first nMolecules rows: no molecule block needs to be kept (or zeroed).
    ...(which.drugs ? { molecules: EMPTY_MOLECULES, nMolecules: 0, drugNgrams: [] } : {}),
    ...(which.diseases ? { diseaseAncestors: [] } : {}),
  };
}

/** FNV-1a 32-bit hash. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Hashed character 3- and 4-grams of a normalised drug name, plus the whole name. */
export function nameNgrams(name: string, buckets: number): number[] {
  const norm = `<${name.toLowerCase().replace(/\s+/g, ' ').trim()}>`;
  const ids = new Set<number>([1 + (fnv1a('w:' + norm) % (buckets - 1))]);
  for (const n of [3, 4]) for (let i = 0; i + n <= norm.length; i++) ids.add(1 + (fnv1a(`${n}:${norm.slice(i, i + n)}`) % (buckets - 1)));
  return [...ids].slice(0, MAX_NGRAMS);
}

/** "C3490" or "C34.90" -> ["C", "C34", "C34.9", "C34.90"]: the ICD-10 code encodes its own hierarchy. */
export function icdAncestors(code: string): string[] {
  const c = code.trim().toUpperCase().replace('.', '');
  // A letter and at least two more characters (the 3-character category): "C3" is not a code, and treating it
  // as chapter "C" would hide it from the unknown-code report.
  if (!/^[A-Z][0-9A-Z]{2,6}$/.test(c)) return [];
  const out = [c[0]];
  for (let len = 3; len <= c.length; len++) out.push(len === 3 ? c.slice(0, 3) : `${c.slice(0, 3)}.${c.slice(3, len)}`);
  return out;
}

/** Vocabulary of ICD-10 prefixes from aux/icd/icd_10_direct_mapping.csv; id 0 = padding/unknown. */
export class IcdVocabulary {
  private constructor(readonly entries: string[], private readonly index: Map<string, number>) {}

  static fromEntries(entries: string[]): IcdVocabulary {
    return new IcdVocabulary(entries, new Map(entries.map((e, i) => [e, i])));
  }

  static fromDataDir(dataDir: string): IcdVocabulary {
    const rows = parse(readFileSync(path.join(dataDir, 'aux/icd/icd_10_direct_mapping.csv'), 'utf8'), { relax_column_count: true }) as string[][];
    const set = new Set<string>();
    for (const [code] of rows) for (const a of icdAncestors(code ?? '')) set.add(a);
    return IcdVocabulary.fromEntries(['<unk>', ...[...set].sort()]);
  }

  get size(): number {
    return this.entries.length;
  }

  id(prefix: string): number | undefined {
    return this.index.get(prefix);
  }
}

export interface DmFeatureOptions {
  moleculeSource: 'top' | 'names';
  nameBuckets: number;
  /** Drug name -> SMILES (for moleculeSource 'names'). */
  lookupSmiles?: (drugName: string) => string | undefined;
}

export function dmFeatures(trial: Trial, featurizer: MoleculeFeaturizer, icd: IcdVocabulary, o: DmFeatureOptions): DmFeatures {
  const report: DmFeatures['report'] = { invalidSmiles: [], placeboDropped: 0, unknownIcdCodes: [], truncated: [] };
  const drugs = trial.drugs.filter((d) => {
    if (PLACEBO.test(d) && !/\bplus\b|\+|\bwith\b/i.test(d)) {
      report.placeboDropped++;
      return false;
    }
    return true;
  });
  let smiles: string[];
  if (o.moleculeSource === 'names') {
    if (!o.lookupSmiles) throw new Error("moleculeSource 'names' needs lookupSmiles");
    smiles = drugs.map((d) => o.lookupSmiles!(d)).filter((s): s is string => !!s);
  } else {
    smiles = trial.smiles;
  }
  const unique = [...new Set(smiles.map((s) => s.trim()).filter(Boolean))];
  const molecules = new Float32Array(MAX_MOLECULES * MOLECULE_INPUT);
  let m = 0;
  // Every SMILES is checked, so invalid ones are all reported and "truncated" counts valid molecules only.
  let dropped = 0;
  for (const s of unique) {
    const f = featurizer.featurize(s);
    if (!f) {
      report.invalidSmiles.push(s.slice(0, 80));
      continue;
    }
    if (m >= MAX_MOLECULES) {
      dropped++;
      continue;
    }
    const row = molecules.subarray(m * MOLECULE_INPUT, (m + 1) * MOLECULE_INPUT);
    for (let i = 0; i < FP_BITS; i++) row[i] = f.fingerprint[i];
    row.set(f.descriptors, FP_BITS);
    m++;
  }
  if (dropped > 0) report.truncated.push(`molecules ${m + dropped} > ${MAX_MOLECULES}`);
  if (drugs.length > MAX_DRUGS) report.truncated.push(`drugs ${drugs.length} > ${MAX_DRUGS}`);
  const drugNgrams = drugs.slice(0, MAX_DRUGS).map((d) => nameNgrams(d, o.nameBuckets));
  const diseaseAncestors: number[][] = [];
  const nDiseases = Math.max(trial.diseases.length, trial.icdcodes.length);
  if (nDiseases > MAX_DISEASES) report.truncated.push(`diseases ${nDiseases} > ${MAX_DISEASES}`);
  for (let i = 0; i < Math.min(nDiseases, MAX_DISEASES); i++) {
    const ids = new Set<number>();
    for (const code of trial.icdcodes[i] ?? []) {
      const anc = icdAncestors(code);
      let known = 0;
      for (const a of anc) {
        const id = icd.id(a);
        if (id !== undefined) {
          ids.add(id);
          known++;
        }
      }
      if (known < anc.length || anc.length === 0) report.unknownIcdCodes.push(code);
    }
    if (ids.size > 0) diseaseAncestors.push([...ids].slice(0, MAX_ANCESTORS));
  }
  return { molecules: molecules.slice(0, m * MOLECULE_INPUT), nMolecules: m, drugNgrams, diseaseAncestors, report };
}
