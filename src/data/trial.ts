/**
 * The input record every model and feature in cladmop consumes, and its separate outcome label.
 *
 * What is *not* here matters as much as what is: TOP's `status` and `why_stop`, and ClinicalTrials.gov's
 * overall status, why-stopped, results, actual enrollment and completion dates are dropped when a record is
 * parsed. TOP labels are partly derived from them (a status-only scorer beats every published model), so no
 * feature code may ever see them. Readers build a `Trial` field by field from an allow-list; they never
 * spread a raw record into it.
 */

/**
 * A ClinicalTrials.gov id: NCT + 8 digits. The one definition every reader and the HTTP schemas use (as a JSON
 * Schema `pattern` string and as a RegExp), so they cannot disagree about what they accept.
 */
export const NCT_ID_PATTERN = '^NCT[0-9]{8}$';
export const NCT_ID = new RegExp(NCT_ID_PATTERN);

/** Phase as written in TOP's `phase` column, e.g. "phase 1", "phase 1/phase 2". */
export type PhaseText = string;

/** The three benchmark phases, each with its own train/valid/test split. */
export type BenchmarkPhase = 'I' | 'II' | 'III';

export interface Trial {
  /** ClinicalTrials.gov identifier, e.g. "NCT01187615". */
  nctid: string;
  /** Phase text as recorded, e.g. "phase 2" or "phase 1/phase 2". */
  phase: PhaseText;
  /** Disease (condition) names. */
  diseases: string[];
  /** ICD-10 codes per disease: `icdcodes[i]` are the codes of `diseases[i]` (TOP lists may differ in length). */
  icdcodes: string[][];
  /** Intervention (drug) names. */
  drugs: string[];
  /** SMILES strings attached to the trial. NOT aligned with `drugs` by position (lengths differ in 11-33% of TOP rows). */
  smiles: string[];
  /** Raw eligibility-criteria text (inclusion and exclusion together, as published). */
  criteria: string;
  /** Study start date (ISO yyyy-mm-dd or yyyy-mm) when known. Known before the trial starts, so allowed. */
  startDate?: string;
  /** Brief title when known. */
  title?: string;
}

/** Outcome label: 1 = success, 0 = failure. Kept apart from `Trial` so a model input can never carry it. */
export type OutcomeLabel = 0 | 1;

export interface LabelledTrial {
  trial: Trial;
  label: OutcomeLabel;
}

/** Which benchmark phases a trial's phase text belongs to ("phase 1/phase 2" is in both I and II, as in TOP). */
export function benchmarkPhasesOf(phase: PhaseText): BenchmarkPhase[] {
  const text = phase.toLowerCase();
  const out: BenchmarkPhase[] = [];
  // TOP's data_split.py: a trial is in phase X if the string "phase X" occurs in its phase field.
  // Check "phase 3" before "phase 1" etc. is unnecessary: the digits are distinct tokens.
  if (/phase\s*1\b|phase\s*i\b|early[_\s]*phase\s*1/.test(text)) out.push('I');
  if (/phase\s*2\b|phase\s*ii\b/.test(text)) out.push('II');
  if (/phase\s*3\b|phase\s*iii\b/.test(text)) out.push('III');
  return out;
}
