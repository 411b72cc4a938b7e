/**
 * Reader for ClinicalTrials.gov API v2 JSON: one study (`{ "protocolSection": {...}, ... }`) or one page of a
 * search (`{ "studies": [...], "nextPageToken": ... }`), turned into `Trial`s plus a per-trial mapping report.
 *
 * Leakage: TOP labels are partly derived from a trial's overall status, why-stopped text, results, actual
 * enrollment and completion dates. This reader never reads them. It walks an allow-list of paths (below) and
 * builds each `Trial` field by field; nothing of the raw record is spread or copied into the result.
 *
 *   protocolSection.identificationModule.nctId                 -> nctid (required, NCT + 8 digits)
 *   protocolSection.identificationModule.briefTitle            -> title
 *   protocolSection.statusModule.startDateStruct.date          -> startDate (known before the trial starts)
 *   protocolSection.eligibilityModule.eligibilityCriteria      -> criteria (raw Markdown; criteria.ts parses it)
 *   protocolSection.conditionsModule.conditions[]              -> diseases, icdcodes (via icd-table.ts)
 *   protocolSection.armsInterventionsModule.interventions[]    -> drugs, smiles (via drug-table.ts)
 *   protocolSection.designModule.phases[]                      -> phase
 *
 * Names are lower-cased as TOP stores them ("breast cancer", "paclitaxel"), so a model sees registry trials
 * and TOP rows in the same form. Unmapped drugs and conditions stay in the trial and are listed in the report.
 *
 * Errors: a study that cannot become a Trial (no valid nctId, a field of the wrong JSON type) is skipped and
 * reported with its index, nctId when known, and the field path; the other studies of the page are kept.
 */
import { NCT_ID, type Trial } from './trial.ts';
import { loadDrugTable, type DrugTable } from './drug-table.ts';
import { loadIcdTable, type IcdTable } from './icd-table.ts';

export interface RecordError {
  /** Where the text came from (file name or "<input>"). */
  source: string;
  /** 0-based index of the study in the page (0 for a single study); undefined for whole-input errors. */
  index?: number;
  nctid?: string;
  /** JSON path of the offending field, e.g. "studies[3].protocolSection.identificationModule.nctId". */
  path: string;
  message: string;
}

export function formatRecordError(e: RecordError): string {
  const where = [e.index !== undefined ? `record ${e.index}` : undefined, e.nctid].filter(Boolean).join(' ');
  return `${e.source}: ${where ? `${where}: ` : ''}${e.path}: ${e.message}`;
}

export interface DroppedIntervention {
  name: string;
  type?: string;
  reason: string;
}

export interface MappedDrug {
  /** Drug name as kept in `trial.drugs`. */
  drug: string;
  /** The name that matched (the drug itself, one part of a combination, or one of the registry's otherNames). */
  via: string;
  /** Table entry and file that gave the structure. */
  matched: string;
  source: string;
}

export interface CtgovReport {
  /** Kept drugs found in no drug table (no structure, not even a known name). */
  unmappedDrugs: string[];
  /** Kept drugs the tables know but without a small-molecule structure (antibodies, vaccines, ...). */
  drugsWithoutSmiles: string[];
  /** Which table entry gave each structure, so a wrong match can be traced. */
  mappedDrugs: MappedDrug[];
  /** Conditions (as in `trial.diseases`) with no ICD-10 code; their `icdcodes` entry is []. */
  unmappedConditions: string[];
  /** Interventions not kept as drugs: placebo/sham/vehicle, non-drug types (device, procedure, ...). */
  droppedInterventions: DroppedIntervention[];
  warnings: string[];
}

export interface CtgovTrialResult {
  trial: Trial;
  report: CtgovReport;
}

export interface CtgovOptions {
  /** TOP data directory holding aux/drugs and aux/icd. */
  dataDir: string;
  /** Name of the input in error messages. Default "<input>". */
  source?: string;
}

export interface CtgovParseResult {
  trials: CtgovTrialResult[];
  errors: RecordError[];
}

const DATE = /^\d{4}-\d{2}(?:-\d{2})?$/;

// Intervention types that are medicinal products. GENETIC covers gene and cell therapies (drug-like, no
// SMILES); DIETARY_SUPPLEMENT, DEVICE, PROCEDURE, RADIATION, BEHAVIORAL, DIAGNOSTIC_TEST and OTHER are not drugs.
const DRUG_TYPES = new Set(['DRUG', 'BIOLOGICAL', 'COMBINATION_PRODUCT', 'GENETIC']);

// API v2 phase enum -> TOP phase text. TOP writes "early phase 1" (ClinicalTrials.gov's legacy "Early Phase 1",
// lower-cased); benchmarkPhasesOf() puts it in phase I.
const PHASES: Readonly<Record<string, { text: string; order: number }>> = {
  EARLY_PHASE1: { text: 'early phase 1', order: 0 },
  PHASE1: { text: 'phase 1', order: 1 },
  PHASE2: { text: 'phase 2', order: 2 },
  PHASE3: { text: 'phase 3', order: 3 },
  PHASE4: { text: 'phase 4', order: 4 },
};

/** Parses API v2 JSON text: one study or a page `{ "studies": [...] }`. Never throws on bad input. */
export function parseCtgovJson(text: string, options: CtgovOptions): CtgovParseResult {
  const source = options.source ?? '<input>';
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') {
    return { trials: [], errors: [{ source, path: '$', message: 'input is empty' }] };
  }
  let root: unknown;
  try {
    root = JSON.parse(body);
  } catch (err) {
    const offset = jsonErrorOffset(body);
    const { line, column } = lineColumn(body, offset);
    return {
      trials: [],
      errors: [
        {
          source,
          path: '$',
          message: `invalid JSON at line ${line}, column ${column} (offset ${offset}): ${(err as Error).message}`,
        },
      ],
    };
  }
  return parseCtgovValue(root, options);
}

/** Same as parseCtgovJson for an already-parsed value. */
export function parseCtgovValue(root: unknown, options: CtgovOptions): CtgovParseResult {
  const source = options.source ?? '<input>';
  const trials: CtgovTrialResult[] = [];
  const errors: RecordError[] = [];
  const each = (items: unknown[], prefix: string) => {
    items.forEach((item, index) => {
      const r = parseCtgovStudy(item, { ...options, index, path: `${prefix}[${index}]` });
      if (r.result) trials.push(r.result);
      errors.push(...r.errors);
    });
  };
  if (Array.isArray(root)) {
    each(root, '');
  } else if (isObject(root) && 'studies' in root) {
    if (Array.isArray(root.studies)) each(root.studies, 'studies');
    else errors.push({ source, path: 'studies', message: `expected an array, got ${jsonType(root.studies)}` });
  } else if (isObject(root) && 'protocolSection' in root) {
    const r = parseCtgovStudy(root, { ...options, index: 0, path: '' });
    if (r.result) trials.push(r.result);
    errors.push(...r.errors);
  } else {
    errors.push({
      source,
      path: '$',
      message: `not a ClinicalTrials.gov API v2 study (no "protocolSection") or page (no "studies" array); got ${jsonType(root)}`,
    });
  }
  return { trials, errors };
}

export interface StudyOptions extends CtgovOptions {
  /** Index of the study in its page, for error messages. Default 0. */
  index?: number;
  /** JSON path of the study, e.g. "studies[3]"; "" for a top-level study. */
  path?: string;
}

/**
 * One API v2 study object -> Trial and report, or errors. `result` is absent when the study cannot be used.
 * Only the allow-listed paths of the file comment are read.
 */
export function parseCtgovStudy(
  study: unknown,
  options: StudyOptions,
): { result?: CtgovTrialResult; errors: RecordError[] } {
  const source = options.source ?? '<input>';
  const index = options.index ?? 0;
  const base = options.path ?? '';
  const errors: RecordError[] = [];
  let nctid: string | undefined;
  const at = (...keys: string[]) => [base, ...keys].filter((k) => k !== '').join('.').replace(/\.\[/g, '[');
  const fail = (path: string, message: string) =>
    errors.push(nctid ? { source, index, nctid, path, message } : { source, index, path, message });

  if (!isObject(study)) {
    fail(base || '$', `expected a study object, got ${jsonType(study)}`);
    return { errors };
  }
  const protocol = study.protocolSection;
  if (!isObject(protocol)) {
    fail(at('protocolSection'), protocol === undefined ? 'missing' : `expected an object, got ${jsonType(protocol)}`);
    return { errors };
  }
  const reader = new FieldReader(protocol, at('protocolSection'), fail);

  // Identification first, so later errors carry the nctId.
  const rawId = reader.string('identificationModule', 'nctId');
  if (rawId === undefined) {
    if (!reader.failedAt('identificationModule', 'nctId')) fail(at('protocolSection', 'identificationModule', 'nctId'), 'missing');
    return { errors };
  }
  const id = rawId.trim();
  if (!NCT_ID.test(id)) {
    fail(at('protocolSection', 'identificationModule', 'nctId'), `not an NCT id (NCT + 8 digits): ${JSON.stringify(id.slice(0, 40))}`);
    return { errors };
  }
  nctid = id;

  const report: CtgovReport = {
    unmappedDrugs: [],
    drugsWithoutSmiles: [],
    mappedDrugs: [],
    unmappedConditions: [],
    droppedInterventions: [],
    warnings: [],
  };
  const title = reader.string('identificationModule', 'briefTitle')?.trim();
  const startDate = readStartDate(reader, report);
  const criteria = reader.string('eligibilityModule', 'eligibilityCriteria');
  if (criteria === undefined && !reader.failedAt('eligibilityModule', 'eligibilityCriteria')) {
    report.warnings.push('no eligibility criteria (eligibilityModule.eligibilityCriteria missing); criteria is ""');
  }
  const phase = readPhase(reader, report);
  const conditions = reader.stringArray('conditionsModule', 'conditions');
  const interventions = reader.objectArray('armsInterventionsModule', 'interventions');
  if (errors.length > 0) return { errors };

  const icd = loadIcdTable(options.dataDir);
  const drugTable = loadDrugTable(options.dataDir);
  const { diseases, icdcodes } = mapConditions(conditions, icd, report);
  const { drugs, smiles } = mapInterventions(interventions, drugTable, report);

  // Allow-list: every field is named here; nothing from `study` is spread.
  const trial: Trial = { nctid, phase, diseases, icdcodes, drugs, smiles, criteria: criteria ?? '' };
  if (startDate) trial.startDate = startDate;
  if (title) trial.title = title;
  return { result: { trial, report }, errors };
}

// --- fields --------------------------------------------------------------------------------------------

function readStartDate(reader: FieldReader, report: CtgovReport): string | undefined {
  // statusModule also holds overallStatus, whyStopped and completion dates: only this one path is read.
  const date = reader.string('statusModule', 'startDateStruct', 'date')?.trim();
  if (date === undefined || date === '') return undefined;
  if (!DATE.test(date)) {
    report.warnings.push(`start date ${JSON.stringify(date)} is not yyyy-mm or yyyy-mm-dd; left out`);
    return undefined;
  }
  return date;
}

function readPhase(reader: FieldReader, report: CtgovReport): string {
  const phases = reader.stringArray('designModule', 'phases');
  if (phases === undefined) {
    if (!reader.failedAt('designModule', 'phases')) report.warnings.push('no phase (designModule.phases missing); phase is ""');
    return '';
  }
  const known: { text: string; order: number }[] = [];
  for (const p of phases) {
    const key = p.trim().toUpperCase();
    if (PHASES[key]) {
      if (!known.includes(PHASES[key])) known.push(PHASES[key]);
    } else if (key === 'NA') {
      report.warnings.push('phase is NA (not applicable, e.g. a device or behavioural study); phase is ""');
    } else {
      report.warnings.push(`unknown phase value ${JSON.stringify(p)} ignored`);
    }
  }
  if (phases.length === 0) report.warnings.push('designModule.phases is empty; phase is ""');
  // TOP joins combined phases low to high: "phase 1/phase 2", "phase 2/phase 3".
  return known
    .sort((a, b) => a.order - b.order)
    .map((p) => p.text)
    .join('/');
}

function mapConditions(
  conditions: string[] | undefined,
  icd: IcdTable,
  report: CtgovReport,
): { diseases: string[]; icdcodes: string[][] } {
  const diseases: string[] = [];
  const icdcodes: string[][] = [];
  if (conditions === undefined) {
    report.warnings.push('no conditions (conditionsModule.conditions missing)');
    return { diseases, icdcodes };
  }
  for (const raw of conditions) {
    const disease = raw.replace(/\s+/g, ' ').trim().toLowerCase();
    if (disease === '') {
      report.warnings.push('empty condition name skipped');
      continue;
    }
    let codes: string[] | undefined;
    try {
      codes = icd.lookup(disease);
    } catch (err) {
      // icd-table.ts indexes plain-object alias maps by the name, so a condition such as "constructor" or
      // "__proto__ cancer" reaches Object.prototype members and lookup throws a TypeError. One odd condition name
      // must not throw away the whole page: the condition is kept, unmapped, with a warning.
      report.warnings.push(`ICD-10 lookup failed for condition "${disease}" (${(err as Error).message}); left unmapped`);
    }
    diseases.push(disease);
    icdcodes.push(codes ?? []);
    if (!codes) report.unmappedConditions.push(disease);
  }
  return { diseases, icdcodes };
}

interface InterventionFields {
  path: string;
  type?: string;
  name?: string;
  otherNames: string[];
}

function mapInterventions(
  interventions: InterventionFields[] | undefined,
  table: DrugTable,
  report: CtgovReport,
): { drugs: string[]; smiles: string[] } {
  const drugs: string[] = [];
  const smiles: string[] = [];
  if (interventions === undefined) {
    report.warnings.push('no interventions (armsInterventionsModule.interventions missing)');
    return { drugs, smiles };
  }
  for (const item of interventions) {
    const name = item.name?.replace(/\s+/g, ' ').trim() ?? '';
    const type = item.type?.trim().toUpperCase();
    if (name === '') {
      report.droppedInterventions.push({ name: '', type, reason: `${item.path}: no name` });
      continue;
    }
    if (!type) {
      report.droppedInterventions.push({ name, reason: 'no intervention type' });
      continue;
    }
    if (!DRUG_TYPES.has(type)) {
      report.droppedInterventions.push({ name, type, reason: `type ${type} is not a drug` });
      continue;
    }
    const drug = name.toLowerCase();
    const parts = table.resolve(drug);
    if (parts.length > 0 && parts.every((p) => p.status === 'placebo')) {
      report.droppedInterventions.push({ name, type, reason: 'placebo/sham/vehicle/saline control' });
      continue;
    }
    if (drugs.includes(drug)) {
      report.warnings.push(`drug "${drug}" listed twice; kept once`);
      continue;
    }
    drugs.push(drug);
    const addSmiles = (s: string) => {
      // One structure per molecule per trial: the same drug in two arms is still one molecule.
      if (!smiles.includes(s)) smiles.push(s);
    };
    let found = false;
    for (const part of parts) {
      if (part.status === 'structure' && part.match) {
        found = true;
        addSmiles(part.match.smiles);
        report.mappedDrugs.push({ drug, via: part.text, matched: part.match.matched, source: part.match.source });
      }
    }
    if (!found) {
      // The registry's otherNames carry brand and code names ("Taxol", "BAY 73-4506"): try them one by one.
      for (const other of item.otherNames) {
        const match = table.lookup(other);
        if (match) {
          found = true;
          addSmiles(match.smiles);
          report.mappedDrugs.push({ drug, via: other, matched: match.matched, source: match.source });
          break;
        }
      }
    }
    if (!found) {
      const known = parts.some((p) => p.status === 'known') || item.otherNames.some((o) => table.isKnown(o));
      (known ? report.drugsWithoutSmiles : report.unmappedDrugs).push(drug);
    } else if (parts.length > 1) {
      for (const part of parts) {
        if (part.status === 'placebo') report.warnings.push(`drug "${drug}": placebo part "${part.text}" ignored`);
        else if (part.status !== 'structure') {
          const why = part.status === 'known' ? 'known, no small-molecule structure' : 'not in the drug tables';
          report.warnings.push(`drug "${drug}": part "${part.text}" has no structure (${why})`);
        }
      }
    }
  }
  return { drugs, smiles };
}

// --- typed access to the allow-listed paths ------------------------------------------------------------

/**
 * Reads values under `protocolSection` by path. A missing value is `undefined`; a value of the wrong JSON type
 * is an error at its full path (and `undefined`). The reader exposes no way to get at a whole module.
 */
class FieldReader {
  private readonly failed = new Set<string>();

  constructor(
    private readonly root: Record<string, unknown>,
    private readonly rootPath: string,
    private readonly fail: (path: string, message: string) => void,
  ) {}

  failedAt(...keys: string[]): boolean {
    return [...this.failed].some((p) => p === this.pathOf(keys) || this.pathOf(keys).startsWith(`${p}.`));
  }

  private pathOf(keys: (string | number)[]): string {
    return keys.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : `${acc}.${k}`), this.rootPath);
  }

  private error(keys: (string | number)[], message: string): undefined {
    const path = this.pathOf(keys);
    this.failed.add(path);
    this.fail(path, message);
    return undefined;
  }

  /** Value at a path of object keys, or undefined when missing. Intermediate non-objects are errors. */
  private get(keys: string[]): unknown {
    let value: unknown = this.root;
    for (let i = 0; i < keys.length; i++) {
      if (value === undefined || value === null) return undefined;
      if (!isObject(value)) return this.error(keys.slice(0, i), `expected an object, got ${jsonType(value)}`);
      value = value[keys[i]];
    }
    return value === null ? undefined : value;
  }

  string(...keys: string[]): string | undefined {
    const value = this.get(keys);
    if (value === undefined || typeof value === 'string') return value;
    return this.error(keys, `expected a string, got ${jsonType(value)}`);
  }

  stringArray(...keys: string[]): string[] | undefined {
    const value = this.get(keys);
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) return this.error(keys, `expected an array of strings, got ${jsonType(value)}`);
    const out: string[] = [];
    let bad = false;
    value.forEach((item, i) => {
      if (typeof item === 'string') out.push(item);
      else {
        this.error([...keys, i], `expected a string, got ${jsonType(item)}`);
        bad = true;
      }
    });
    return bad ? undefined : out;
  }

  /** interventions[]: only type, name and otherNames of each item are read. */
  objectArray(...keys: string[]): InterventionFields[] | undefined {
    const value = this.get(keys);
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) return this.error(keys, `expected an array, got ${jsonType(value)}`);
    const out: InterventionFields[] = [];
    let bad = false;
    value.forEach((item, i) => {
      const path = [...keys, i];
      if (!isObject(item)) {
        this.error(path, `expected an object, got ${jsonType(item)}`);
        bad = true;
        return;
      }
      const field = (key: string): string | undefined => {
        const v = item[key];
        if (v === undefined || v === null || typeof v === 'string') return v ?? undefined;
        this.error([...path, key], `expected a string, got ${jsonType(v)}`);
        bad = true;
        return undefined;
      };
      const type = field('type');
      const name = field('name');
      const others = item.otherNames;
      let otherNames: string[] = [];
      if (Array.isArray(others)) otherNames = others.filter((o): o is string => typeof o === 'string' && o.trim() !== '');
      else if (others !== undefined && others !== null) {
        this.error([...path, 'otherNames'], `expected an array of strings, got ${jsonType(others)}`);
        bad = true;
      }
      out.push({ path: this.pathOf(path), type, name, otherNames });
    });
    return bad ? undefined : out;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value === undefined) return 'nothing';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

// --- JSON error position -------------------------------------------------------------------------------

/**
 * Offset of the first syntax error in text that JSON.parse rejected. Node 20's messages only sometimes carry
 * a position ("Unexpected token '}', ... is not valid JSON" does not), so the text is scanned again by a
 * minimal JSON grammar. Returns text.length for truncated input.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const n = text.length;
  class Stop {
    constructor(readonly at: number) {}
  }
  const stop = (at = i): never => {
    throw new Stop(at);
  };
  const ws = () => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const literal = (word: string) => {
    for (let k = 0; k < word.length; k++) if (text[i + k] !== word[k]) stop(i + k);
    i += word.length;
  };
  const string = () => {
    i++; // opening quote
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) stop();
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          // V8 points at the first bad hex digit.
          for (let k = 2; k < 6; k++) if (!/[0-9a-fA-F]/.test(text[i + k] ?? '')) stop(i + k);
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else stop(i + 1);
      } else i++;
    }
    stop(n);
  };
  const isDigit = (ch: string | undefined) => ch !== undefined && ch >= '0' && ch <= '9';
  const digits = () => {
    if (!isDigit(text[i])) stop();
    while (isDigit(text[i])) i++;
  };
  const number = () => {
    // Char by char, so the error points where V8 points: at the first character that cannot continue.
    if (text[i] === '-') i++;
    if (text[i] === '0') i++;
    else digits();
    if (text[i] === '.') {
      i++;
      digits();
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      digits();
    }
  };
  const value = (depth: number): void => {
    if (depth > 10_000) stop();
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') stop();
        string();
        ws();
        if (text[i] !== ':') stop();
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return;
        } else stop();
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value(depth + 1);
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return;
        } else stop();
      }
    } else if (c === '"') string();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) number();
    else stop();
  };
  try {
    value(0);
    ws();
    if (i < n) stop();
    return n;
  } catch (err) {
    if (err instanceof Stop) return Math.min(err.at, n);
    return 0; // stack exhausted by absurd nesting: point at the start rather than guess
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let k = 0; k < offset && k < text.length; k++) {
    if (text[k] === '\n') {
      line++;
      lineStart = k + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
