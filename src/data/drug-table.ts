/**
 * Drug name -> SMILES table built from TOP's aux drug files (all DrugBank-derived):
 *  - `aux/drugs/lifted_drug_smiless.json.gz`  {name: smiles}, 11.5K DrugBank names (first choice);
 *  - `aux/drugs/pytrial_drug_smiles.csv`       `moldb_smiles,DRUG`, 4.7K names (fallback: 388 of its names that
 *    LIFTED also has carry a different salt/stereo form, so it must not override LIFTED);
 *  - `aux/drugs/drugbank_mini.csv`             10 ClinicalTrials.gov intervention titles with their DrugBank
 *    match (gives e.g. "aspirin" -> acetylsalicylic acid, which the name tables lack);
 *  - `aux/drugs/lifted_drug_description.json.gz` names only: DrugBank entries *without* a structure (mostly
 *    biologics such as cetuximab). They make a name "known" so callers can tell "biologic, no SMILES" from
 *    "not in the table at all".
 *
 * Placebo, vehicle, saline and sham never map to a structure. TOP itself attaches alogliptin's SMILES to
 * "placebo" in about 31% of the rows that list it (its SMILES column is not aligned with drugs); we must not
 * learn or repeat that, so control words are rejected before any table is consulted.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { readTextFile } from './top-csv.ts';

export interface DrugMatch {
  smiles: string;
  /** Which file the structure came from, e.g. "lifted_drug_smiless". */
  source: string;
  /** The table entry that matched (its own spelling), e.g. "Imatinib" for "imatinib mesylate 400 mg". */
  matched: string;
}

/** One drug of a (possibly combined) intervention name, e.g. "lopinavir/ritonavir" has two. */
export interface DrugComponent {
  text: string;
  /** structure: has SMILES; known: in DrugBank without a structure (biologic etc.); unknown; placebo: control. */
  status: 'structure' | 'known' | 'unknown' | 'placebo';
  match?: DrugMatch;
}

export interface DrugTable {
  /** Structure for one drug name, after normalisation (case, dose, salt, formulation, brackets). */
  lookup(name: string): DrugMatch | undefined;
  /** True when the name is a DrugBank entry, with or without a structure. Placebo words are never known. */
  isKnown(name: string): boolean;
  /** Splits a combined intervention ("x 10 mg / placebo", "a + b") and classifies each part. */
  resolve(name: string): DrugComponent[];
  /** Number of distinct normalised names with a structure. */
  readonly size: number;
  readonly dataDir: string;
}

const SOURCES = {
  lifted: 'aux/drugs/lifted_drug_smiless.json.gz',
  pytrial: 'aux/drugs/pytrial_drug_smiles.csv',
  mini: 'aux/drugs/drugbank_mini.csv',
  description: 'aux/drugs/lifted_drug_description.json.gz',
} as const;

export class DrugTableError extends Error {}

// --- normalisation -------------------------------------------------------------------------------------

/** Case, Unicode form, dash/quote variants, spacing and stray end punctuation ("placebo." -> "placebo"). */
export function normalizeDrugName(name: string): string {
  return name
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\u2010-\u2015\u2212]/g, '-')
    .replace(/[\u2018\u2019\u00b4`]/g, "'")
    .replace(/®|™|©/g, ' ')
    .replace(/\s+/g, ' ')
    .replace(/^[\s.,;:*'"-]+|[\s.,;:*'"-]+$/g, '')
    .trim();
}

// Control interventions. A name containing one of these never gets a structure. "saline" on its own or as
// "normal/physiological saline" is a placebo, but "hypertonic saline" is an active treatment (cystic fibrosis,
// bronchiolitis): it is not called a placebo, yet it still gets no structure, because sodium chloride would
// then stand for every saline control arm that is spelled differently.
const CONTROL_WORD = /\b(?:placebos?|sham|vehicle|dummy|sugar pills?|saline)\b/;
const ACTIVE_SALINE = /\bhypertonic saline\b/;
// Saline as the diluent of a real drug ("gemcitabine in normal saline") says nothing about the drug itself.
const DILUENT = /\b(?:diluted |dissolved |mixed )?(?:in|with) (?:\d+(?:\.\d+)? ?% ?)?(?:normal |physiologic(?:al)? |sterile )?(?:saline|sodium chloride|water)(?: solution)?\b/g;

function withoutDiluent(text: string): string {
  return normalizeDrugName(normalizeDrugName(text).replace(DILUENT, ' '));
}

function isPlaceboComponent(text: string): boolean {
  const t = withoutDiluent(text);
  return CONTROL_WORD.test(t) && !ACTIVE_SALINE.test(t);
}

// Separators between the drugs of one intervention name, in three strengths. Doses are stripped before
// splitting, so "mg/kg" and "mg/m2" are not split; ", " needs its space because "cp-675,206" is one code name.
//  - BREAK separates alternatives or arms ("x or placebo", "a, b", "x then y");
//  - JOIN adds a drug ("a + b", "a and b", "a plus b");
//  - "/" joins the parts of a fixed-dose combination ("ftc/tdf") but also separates "x/placebo".
const BREAK = /\s*(?:;|,\s|\b(?:or|then|followed by|versus|vs\.?)\b)\s*/;
const JOIN = /\s*(?:\+|&|\b(?:and|plus|with)\b)\s*/;
const SLASH = /\s*\/\s*/;
// "placebo to match a and b", "matching placebo for x", "placebo matched to x/y": a placebo *of* other drugs.
// Everything from such a phrase to the end of its BREAK segment is one placebo, drug names included.
const PLACEBO_OF =
  /\b(?:placebos?|sham|vehicle|dummy)\b(?:[^;,]*?)\b(?:to match|matching|matched|match|to|for|of|identical to|corresponding to)\b/;
// Words that may stand beside "placebo" in a pure control part ("matching placebo tablets").
const CONTROL_FILLER = /\b(?:matching|matched|comparator|control|identical|inactive|look-?alike|only)\b/g;

/** True when the intervention is only a control: placebo, vehicle, sham or (normal) saline, in all its parts. */
export function isPlacebo(name: string): boolean {
  const parts = splitComponents(name);
  return parts.length > 0 && parts.every(isPlaceboComponent);
}

const UNIT = String.raw`(?:mg|mcg|µg|μg|ug|ng|g|kg|ml|l|iu|u|units?|%|mmol|µmol|nmol|mol|mg\/kg|mg\/m2|mg\/m²|mg\/ml|mcg\/kg|µg\/kg|ug\/kg|iu\/kg|u\/kg)`;
const DOSE = new RegExp(
  String.raw`\b\d+(?:[.,]\d+)?(?:\s*\/\s*\d+(?:[.,]\d+)?)*\s*(?:-|to)?\s*(?:\d+(?:[.,]\d+)?\s*)?${UNIT}(?:\s*\/\s*(?:kg|m2|m²|day|d|dose|week|wk|h|hr|ml))?(?![a-z])`,
  'g',
);
const COUNT = /\b\d+\s*(?:x\s*)?(?:tabs?|tablets?|caps?|capsules?|t)\b/g;
const FORM_WORDS = new RegExp(
  String.raw`\b(?:for injection|for infusion|film[- ]coated|extended[- ]release|modified[- ]release|sustained[- ]release|immediate[- ]release|delayed[- ]release|controlled[- ]release|oral|tablets?|capsules?|injection|injectable|infusion|solution|suspension|cream|ointment|gel|patch|spray|inhaler|inhalation|nasal|topical|intravenous|iv|subcutaneous|sc|intramuscular|im|powder|formulation|low[- ]dose|high[- ]dose|dose|doses|dosing|daily|once|twice|weekly|monthly|regimen|therapy|treatment|arm|cohort|group|depot|single|split|into|level)\b`,
  'g',
);
const SALT_WORDS = new RegExp(
  String.raw`\b(?:hydrochloride|dihydrochloride|hcl|mesylate|mesilate|dimesylate|malate|ditosylate|tosylate|phosphate|disodium|sodium|potassium|calcium|magnesium|citrate|acetate|sulfate|sulphate|tartrate|bitartrate|maleate|fumarate|hemifumarate|besylate|besilate|succinate|bromide|hydrobromide|lactate|gluconate|nitrate|trihydrate|dihydrate|monohydrate|hydrate|anhydrous|free base)\b`,
  'g',
);

function squash(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/^[\s.,;:*'"-]+|[\s.,;:*'"-]+$/g, '').trim();
}

function stripDoses(text: string): string {
  return squash(text.replace(DOSE, ' ').replace(COUNT, ' ').replace(/\(\s*\)/g, ' '));
}

/**
 * Spellings to try for one drug, most literal first, so an exact table hit always wins over a guess:
 * as written; without doses/formulation words; brackets removed; each bracket's content (brand or code name,
 * "ps-341 (velcade)"); the part before " - " ("regorafenib - sequential"); the part after a label
 * ("comparator: x"); each of those without salt words ("imatinib mesylate" -> "imatinib").
 */
export function nameCandidates(name: string): string[] {
  const base = normalizeDrugName(name);
  const out: string[] = [];
  const add = (s: string) => {
    const t = squash(s);
    if (t.length >= 2 && !out.includes(t)) out.push(t);
  };
  const plain = (s: string) => squash(stripDoses(s).replace(FORM_WORDS, ' '));
  add(base);
  add(stripDoses(base));
  add(plain(base));
  const noBrackets = base.replace(/\([^()]*\)|\[[^\]]*\]/g, ' ');
  add(noBrackets);
  add(plain(noBrackets));
  for (const m of base.matchAll(/\(([^()]*)\)|\[([^\]]*)\]/g)) {
    const inner = (m[1] ?? m[2] ?? '').replace(/^(?:formerly|also known as|aka|i\.e\.|e\.g\.)\s+/, '');
    // Abbreviations of 3 characters or fewer ("tmp" in "trimethoprim (tmp)") name other DrugBank entries.
    for (const part of inner.split(/,\s*|;\s*/)) if (compactKey(part).length >= 4) add(plain(part));
  }
  const beforeDash = noBrackets.split(/\s+-\s+/)[0];
  add(plain(beforeDash));
  const colon = base.lastIndexOf(':');
  if (colon > 0) add(plain(base.slice(colon + 1)));
  for (const c of [...out]) add(c.replace(SALT_WORDS, ' '));
  return out;
}

/**
 * Splits an intervention name into drug parts, after doses are removed. A placebo *of* other drugs ("placebo to
 * match donepezil and x", "ftc/tdf placebo") stays one part so its drug names never reach the table: the mirror
 * image of TOP's error of giving "placebo" a real drug's structure.
 */
export function splitComponents(name: string): string[] {
  const text = stripDoses(withoutDiluent(name));
  // Separators inside brackets belong to the bracket ("(xofigo, bay88-8223)"): swap brackets for placeholders.
  const brackets: string[] = [];
  const masked = text.replace(/\([^()]*\)|\[[^\]]*\]/g, (m) => `\u0000${brackets.push(m) - 1}\u0000`);
  const unmask = (t: string) => squash(t.replace(/\u0000(\d+)\u0000/g, (_, i: string) => brackets[Number(i)]));
  const out: string[] = [];
  for (const segment of masked.split(BREAK)) {
    const placeboOf = PLACEBO_OF.exec(segment);
    let rest = segment;
    if (placeboOf) {
      // Drugs joined before the placebo phrase are real ("x + placebo for y"); the phrase and after are not.
      const before = segment.slice(0, placeboOf.index);
      const lastJoin = [...before.matchAll(new RegExp(JOIN.source, 'g'))].pop();
      const cut = lastJoin ? lastJoin.index! : 0;
      out.push(unmask(segment.slice(lastJoin ? lastJoin.index! + lastJoin[0].length : 0)));
      rest = segment.slice(0, cut);
    }
    for (const part of rest.split(JOIN)) {
      const slashParts = part.split(SLASH);
      // "ftc/tdf placebo" is the placebo of a combination; "canagliflozin/placebo" is drug or placebo.
      if (CONTROL_WORD.test(part) && slashParts.length > 1 && !slashParts.some(isPureControl)) out.push(unmask(part));
      else out.push(...slashParts.map(unmask));
    }
  }
  // Parts that are only route/form words ("oral suspension", "intravenous") name no drug.
  return out.filter((p) => /[a-z0-9]/.test(p.replace(FORM_WORDS, ' ')));
}

function isPureControl(text: string): boolean {
  return CONTROL_WORD.test(text) && squash(text.replace(CONTROL_WORD, ' ').replace(CONTROL_FILLER, ' ').replace(FORM_WORDS, ' ')) === '';
}

/** Key that ignores spaces and punctuation, for "bi 10773" vs "bi10773" or "5 fluorouracil" vs "5-fluorouracil". */
function compactKey(text: string): string {
  return text.replace(/[^a-z0-9]/g, '');
}

/**
 * Names registries use that none of the DrugBank-derived files carry: INN synonyms, brand names and the
 * development codes of drugs that later got an INN (all standard, e.g. RAD001 = everolimus). Kept short and
 * unambiguous on purpose; ClinicalTrials.gov records also list such names in `otherNames`, which the parser
 * tries as well. Each target must be a table name (a test checks this), so a typo cannot silently map nothing.
 */
export const DRUG_ALIASES: Readonly<Record<string, string>> = {
  // INN / common-name synonyms
  aspirin: 'acetylsalicylic acid',
  paracetamol: 'acetaminophen',
  mesalamine: 'mesalazine',
  glycopyrrolate: 'glycopyrronium',
  rapamycin: 'sirolimus',
  '5-fu': 'fluorouracil',
  '5-fluorouracil': 'fluorouracil',
  'ara-c': 'cytarabine',
  'cpt-11': 'irinotecan',
  'nab-paclitaxel': 'paclitaxel',
  'pegylated liposomal doxorubicin': 'doxorubicin',
  'liposomal doxorubicin': 'doxorubicin',
  'gm-csf': 'sargramostim',
  'g-csf': 'filgrastim',
  // brand names
  taxol: 'paclitaxel',
  abraxane: 'paclitaxel',
  taxotere: 'docetaxel',
  doxil: 'doxorubicin',
  caelyx: 'doxorubicin',
  myocet: 'doxorubicin',
  velcade: 'bortezomib',
  gleevec: 'imatinib',
  glivec: 'imatinib',
  iressa: 'gefitinib',
  tarceva: 'erlotinib',
  sutent: 'sunitinib',
  nexavar: 'sorafenib',
  revlimid: 'lenalidomide',
  herceptin: 'trastuzumab',
  campath: 'alemtuzumab',
  // development codes with a later INN
  rad001: 'everolimus',
  'cc-5013': 'lenalidomide',
  'ps-341': 'bortezomib',
  sti571: 'imatinib',
  'osi-774': 'erlotinib',
  su011248: 'sunitinib',
  'bay 43-9006': 'sorafenib',
  'bay 73-4506': 'regorafenib',
  'bibw 2992': 'afatinib',
  'bibf 1120': 'nintedanib',
  'bi 10773': 'empagliflozin',
  'bi 6727': 'volasertib',
  zd6474: 'vandetanib',
  azd2171: 'cediranib',
  azd0530: 'saracatinib',
  azd6244: 'selumetinib',
  'bms-354825': 'dasatinib',
  amn107: 'nilotinib',
  gw572016: 'lapatinib',
  ly231514: 'pemetrexed',
  ly2603618: 'rabusertib',
  lbh589: 'panobinostat',
  'pci-32765': 'ibrutinib',
  'pd 0332991': 'palbociclib',
  mdv3100: 'enzalutamide',
  'hki-272': 'neratinib',
  'tak-700': 'orteronel',
  gsk1120212: 'trametinib',
  tki258: 'dovitinib',
  'osi-906': 'linsitinib',
  'gs-5885': 'ledipasvir',
  'gs-7977': 'sofosbuvir',
  'amg 706': 'motesanib',
  'cep-18770': 'delanzomib',
  asp1941: 'ipragliflozin',
  xl184: 'cabozantinib',
  xl147: 'pilaralisib',
  'pf-00299804': 'dacomitinib',
  'abt-348': 'ilorasertib',
  'gx15-070': 'obatoclax',
  aeb071: 'sotrastaurin',
  'gdc-0449': 'vismodegib',
  tmc435: 'simeprevir',
  'mk-0518': 'raltegravir',
  'bms-790052': 'daclatasvir',
  'cp-675,206': 'tremelimumab',
};

// --- loading -------------------------------------------------------------------------------------------

interface Entry {
  smiles: string;
  source: string;
  matched: string;
}

class Table implements DrugTable {
  readonly dataDir: string;
  private readonly bySmilesKey = new Map<string, Entry>();
  private readonly byCompact = new Map<string, Entry | null>(); // null: two different drugs share the key
  private readonly known = new Set<string>();
  /** Alias targets found in no file (should stay empty; tested). */
  readonly missingAliasTargets: string[] = [];

  constructor(dataDir: string) {
    this.dataDir = dataDir;
    const liftedFile = path.join(dataDir, SOURCES.lifted);
    if (!existsSync(liftedFile)) throw new DrugTableError(`drug table: missing ${liftedFile}`);
    const lifted = readJsonObject(liftedFile);
    for (const [name, smiles] of Object.entries(lifted)) {
      if (typeof smiles === 'string') this.add(name, smiles, 'lifted_drug_smiless');
    }
    const pytrialFile = path.join(dataDir, SOURCES.pytrial);
    if (existsSync(pytrialFile)) {
      const [header = [], ...rows] = readCsv(pytrialFile);
      const name = header.indexOf('DRUG');
      const smiles = header.indexOf('moldb_smiles');
      if (name < 0 || smiles < 0) throw new DrugTableError(`drug table: ${pytrialFile} lacks DRUG/moldb_smiles columns`);
      for (const row of rows) this.add(row[name] ?? '', row[smiles] ?? '', 'pytrial_drug_smiles');
    }
    const miniFile = path.join(dataDir, SOURCES.mini);
    if (existsSync(miniFile)) {
      // Columns repeat names ("id" thrice), so read by position: 3 = intervention title, 11 = DrugBank name,
      // 27 = moldb_smiles. The title is what a registry calls the drug; the DrugBank name is the table key.
      const rows = readCsv(miniFile);
      const header = rows[0] ?? [];
      const title = header.indexOf('title');
      const name = header.indexOf('name');
      const smiles = header.indexOf('moldb_smiles');
      if (title >= 0 && name >= 0 && smiles >= 0) {
        for (const row of rows.slice(1)) {
          this.add(row[name] ?? '', row[smiles] ?? '', 'drugbank_mini');
          this.add(row[title] ?? '', row[smiles] ?? '', 'drugbank_mini');
        }
      }
    }
    const descriptionFile = path.join(dataDir, SOURCES.description);
    if (existsSync(descriptionFile)) {
      for (const name of Object.keys(readJsonObject(descriptionFile))) {
        const key = normalizeDrugName(name);
        if (key && !CONTROL_WORD.test(key)) this.known.add(key);
      }
    }
    // Aliases last, so a name that is itself in a file keeps that file's structure.
    for (const [alias, target] of Object.entries(DRUG_ALIASES)) {
      const targetKey = normalizeDrugName(target);
      const entry = this.bySmilesKey.get(targetKey);
      if (entry) this.add(alias, entry.smiles, `${entry.source} via alias "${alias}"`, entry.matched);
      else if (this.known.has(targetKey)) this.known.add(normalizeDrugName(alias));
      else this.missingAliasTargets.push(target);
    }
  }

  get size(): number {
    return this.bySmilesKey.size;
  }

  private add(name: string, smiles: string, source: string, matched = name.trim()): void {
    const key = normalizeDrugName(name);
    const s = smiles.trim();
    if (!key || CONTROL_WORD.test(key)) return;
    // PyTrial lists biologics with an empty SMILES: the name is real, it just has no small-molecule structure.
    this.known.add(key);
    if (!s || this.bySmilesKey.has(key)) return; // earlier sources win (see file comment)
    const entry = { smiles: s, source, matched };
    this.bySmilesKey.set(key, entry);
    const compact = compactKey(key);
    if (compact.length < 4) return; // too short to be unambiguous without its punctuation
    const prior = this.byCompact.get(compact);
    if (prior === undefined) this.byCompact.set(compact, entry);
    else if (prior !== null && prior.smiles !== s) this.byCompact.set(compact, null);
  }

  lookup(name: string): DrugMatch | undefined {
    const text = withoutDiluent(name);
    if (!text || CONTROL_WORD.test(text)) return undefined;
    const candidates = nameCandidates(text);
    for (const c of candidates) {
      const hit = this.bySmilesKey.get(c);
      if (hit) return { ...hit };
    }
    for (const c of candidates) {
      const compact = compactKey(c);
      if (compact.length < 4) continue;
      const hit = this.byCompact.get(compact);
      if (hit) return { ...hit };
    }
    return this.lookupPrefix(candidates);
  }

  /**
   * Last resort for a drug name followed by free text ("ertugliflozin single split", "aripiprazole depot",
   * "raltegravir poloxamer"): the longest leading run of words that is a table name. Only prefixes of 6+
   * letters and not a salt/ion word ("sodium ..."), so a generic first word cannot capture the name.
   */
  private lookupPrefix(candidates: string[]): DrugMatch | undefined {
    for (const c of candidates) {
      const words = c.split(' ');
      for (let n = words.length - 1; n >= 1; n--) {
        const prefix = words.slice(0, n).join(' ');
        if (compactKey(prefix).length < 6 || prefix.replace(SALT_WORDS, '').trim() !== prefix) continue;
        const hit = this.bySmilesKey.get(prefix);
        if (hit) return { ...hit };
      }
    }
    return undefined;
  }

  isKnown(name: string): boolean {
    const text = withoutDiluent(name);
    if (!text || CONTROL_WORD.test(text)) return false;
    return this.lookup(text) !== undefined || nameCandidates(text).some((c) => this.known.has(c));
  }

  resolve(name: string): DrugComponent[] {
    const text = normalizeDrugName(name);
    const parts = splitComponents(text);
    if (parts.length === 0) return [];
    if (parts.length === 1) return [this.classify(text)];
    // A table entry that is itself a combination ("lopinavir and ritonavir") wins over splitting, but only on
    // an exact hit: the lenient tiers of lookup() would take the first drug of "a (code) - arm / b / c" and
    // lose b and c.
    const key = stripDoses(withoutDiluent(text));
    const whole = CONTROL_WORD.test(key) ? undefined : this.bySmilesKey.get(key);
    if (whole) return [{ text, status: 'structure', match: { ...whole } }];
    return parts.map((part) => this.classify(part));
  }

  private classify(text: string): DrugComponent {
    if (isPlaceboComponent(text)) return { text, status: 'placebo' };
    const match = this.lookup(text);
    if (match) return { text, status: 'structure', match };
    return { text, status: this.isKnown(text) ? 'known' : 'unknown' };
  }
}

function readJsonObject(file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(readTextFile(file));
  } catch (err) {
    throw new DrugTableError(`drug table: cannot read ${file}: ${(err as Error).message}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new DrugTableError(`drug table: ${file} is not a JSON object of name -> value`);
  }
  return value as Record<string, unknown>;
}

/** CSV rows as arrays of cells (header included). */
function readCsv(file: string): string[][] {
  try {
    return parse(readTextFile(file), { skip_empty_lines: true, relax_column_count: true }) as string[][];
  } catch (err) {
    throw new DrugTableError(`drug table: cannot parse ${file}: ${(err as Error).message}`);
  }
}

// One table per data directory: loading parses ~2 MB of JSON/CSV, and the parser asks for it per study.
const cache = new Map<string, DrugTable>();

/** The drug table of a TOP data directory, built on first request and reused afterwards. */
export function loadDrugTable(dataDir: string): DrugTable {
  const dir = path.resolve(dataDir);
  let table = cache.get(dir);
  if (!table) {
    table = new Table(dir);
    cache.set(dir, table);
  }
  return table;
}
