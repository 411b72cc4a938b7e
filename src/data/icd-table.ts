/**
 * Condition name -> ICD-10-CM codes, and code -> description, from TOP's aux ICD files:
 *  - `aux/icd/icd_10_direct_mapping.csv`   no header, `code,"description"`, 24,628 dot-less codes incl. 3-character
 *    categories (some descriptions, e.g. "Other specified counseling", belong to several codes);
 *  - `aux/icd/description2icd10.json.gz`   {description: code}, TOP's own dictionary (same content, one code each).
 *
 * Codes are returned in TOP's dotted form ("C50.9", "C61"), the form of TOP's `icdcodes` column, so trials from
 * ClinicalTrials.gov and from TOP look alike to feature code. `describe` and `isKnownCode` take either form.
 *
 * Registry condition names are lay terms ("breast cancer", "carcinoma, non-small-cell lung") while the table
 * holds ICD titles ("Malignant neoplasm of breast"), so lookup tries, in order: the name as written; MeSH-style
 * inverted names; ", unspecified" forms; singular; without stage/course modifiers ("metastatic", "stage iv");
 * "<organ> cancer" -> "malignant neoplasm of <organ>"; a short list of common synonyms. TOP itself got its codes
 * from an online search service we do not have offline, so codes will not equal TOP's.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { readTextFile } from './top-csv.ts';

export interface IcdTable {
  /** ICD-10 codes (dotted) for a condition name, or undefined when no rule finds it. */
  lookup(conditionName: string): string[] | undefined;
  /** Official description of a code ("C50" or "C50.9" or "c509"), or undefined when unknown. */
  describe(code: string): string | undefined;
  isKnownCode(code: string): boolean;
  /** Number of codes with a description. */
  readonly size: number;
  readonly dataDir: string;
}

export class IcdTableError extends Error {}

const FILES = {
  direct: 'aux/icd/icd_10_direct_mapping.csv',
  description: 'aux/icd/description2icd10.json.gz',
} as const;

/** "C509" -> "C50.9", "C61" -> "C61", " c50.9 " -> "C50.9". The dot follows the 3-character category. */
export function formatIcdCode(code: string): string {
  const bare = bareCode(code);
  return bare.length > 3 ? `${bare.slice(0, 3)}.${bare.slice(3)}` : bare;
}

function bareCode(code: string): string {
  return code.trim().toUpperCase().replace(/\./g, '');
}

export function normalizeConditionName(name: string): string {
  return name
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\u2010-\u2015\u2212]/g, '-')
    .replace(/[\u2018\u2019\u00b4`]/g, "'")
    .replace(/\s+/g, ' ')
    .replace(/^[\s.,;:*"-]+|[\s.,;:*"-]+$/g, '')
    .trim();
}

/** Looser key for a second index: no brackets, no possessive "'s", only letters and digits. */
function looseKey(text: string): string {
  return text
    .replace(/\([^()]*\)|\[[^\]]*\]/g, ' ')
    .replace(/'s\b/g, '')
    .replace(/[^a-z0-9]/g, '');
}

// Adjective or organ word of "<organ> cancer" -> the organ as ICD titles name it after "malignant neoplasm of".
export const CANCER_ORGANS: Readonly<Record<string, readonly string[]>> = {
  breast: ['breast'],
  pancreatic: ['pancreas'],
  pancreas: ['pancreas'],
  ovarian: ['ovary'],
  ovary: ['ovary'],
  prostate: ['prostate'],
  prostatic: ['prostate'],
  lung: ['bronchus and lung'],
  'non-small cell lung': ['bronchus and lung'],
  'non-small-cell lung': ['bronchus and lung'],
  'non small cell lung': ['bronchus and lung'],
  'small cell lung': ['bronchus and lung'],
  'small-cell lung': ['bronchus and lung'],
  bronchial: ['bronchus and lung'],
  colon: ['colon'],
  colonic: ['colon'],
  colorectal: ['colon', 'rectum'],
  rectal: ['rectum'],
  rectum: ['rectum'],
  gastric: ['stomach'],
  stomach: ['stomach'],
  esophageal: ['esophagus'],
  oesophageal: ['esophagus'],
  esophagus: ['esophagus'],
  renal: ['kidney, except renal pelvis'],
  'renal cell': ['kidney, except renal pelvis'],
  kidney: ['kidney, except renal pelvis'],
  bladder: ['bladder'],
  'urinary bladder': ['bladder'],
  urothelial: ['bladder'],
  liver: ['liver and intrahepatic bile ducts'],
  hepatic: ['liver and intrahepatic bile ducts'],
  hepatocellular: ['liver and intrahepatic bile ducts'],
  thyroid: ['thyroid gland'],
  cervical: ['cervix uteri'],
  cervix: ['cervix uteri'],
  endometrial: ['corpus uteri'],
  endometrium: ['corpus uteri'],
  uterine: ['uterus, part unspecified'],
  brain: ['brain'],
  testicular: ['testis'],
  'fallopian tube': ['fallopian tube'],
  gallbladder: ['gallbladder'],
  'biliary tract': ['other and unspecified parts of biliary tract'],
  laryngeal: ['larynx'],
  nasopharyngeal: ['nasopharynx'],
  oropharyngeal: ['oropharynx'],
  hypopharyngeal: ['hypopharynx'],
  anal: ['anus and anal canal'],
  adrenocortical: ['adrenal gland'],
  adrenal: ['adrenal gland'],
  vulvar: ['vulva'],
  vaginal: ['vagina'],
  penile: ['penis'],
  thymic: ['thymus'],
  'small intestine': ['small intestine'],
  'small bowel': ['small intestine'],
  ureteral: ['ureter'],
};
const CANCER_WORDS = /^(.+?)\s+(?:cancers?|carcinomas?|adenocarcinomas?|neoplasms?|tumou?rs?|malignanc(?:y|ies))$/;

/**
 * Common lay or trial-registry names whose ICD title differs beyond the rules above. Each value must be an
 * ICD title in the table (a test checks this).
 */
export const CONDITION_ALIASES: Readonly<Record<string, string>> = {
  cancer: 'malignant neoplasm without specification of site',
  'solid tumor': 'malignant neoplasm without specification of site',
  'solid tumour': 'malignant neoplasm without specification of site',
  neoplasm: 'malignant neoplasm without specification of site',
  malignancy: 'malignant neoplasm without specification of site',
  tumor: 'malignant neoplasm without specification of site',
  carcinoma: 'malignant neoplasm without specification of site',
  'acute myeloid leukemia': 'acute myeloblastic leukemia',
  'acute myelogenous leukemia': 'acute myeloblastic leukemia',
  'chronic lymphocytic leukemia': 'chronic lymphocytic leukemia of b-cell type',
  'chronic myeloid leukemia': 'chronic myeloid leukemia, bcr/abl-positive',
  'chronic myelogenous leukemia': 'chronic myeloid leukemia, bcr/abl-positive',
  lymphoma: 'non-hodgkin lymphoma, unspecified',
  glioblastoma: 'malignant neoplasm of brain',
  'glioblastoma multiforme': 'malignant neoplasm of brain',
  glioma: 'malignant neoplasm of brain',
  'hiv infection': 'human immunodeficiency virus [hiv] disease',
  'hiv infections': 'human immunodeficiency virus [hiv] disease',
  hiv: 'human immunodeficiency virus [hiv] disease',
  'hiv-1 infection': 'human immunodeficiency virus [hiv] disease',
  hypertension: 'essential (primary) hypertension',
  // This table stops at B18/B19 (no B18.2): chronic infection -> B18, unqualified -> B19.x.
  'chronic hepatitis c': 'chronic viral hepatitis',
  'chronic hepatitis b': 'chronic viral hepatitis',
  'hepatitis c': 'unspecified viral hepatitis c',
  'hepatitis b': 'unspecified viral hepatitis b',
  depression: 'major depressive disorder, single episode',
  'major depressive disorder': 'major depressive disorder, single episode',
  melanoma: 'malignant melanoma of skin',
  'malignant melanoma': 'malignant melanoma of skin',
  myeloma: 'multiple myeloma',
  'b-cell chronic lymphocytic leukemia': 'chronic lymphocytic leukemia of b-cell type',
  'sickle cell disease': 'sickle-cell disorders',
  'sickle cell anemia': 'sickle-cell disorders',
  // ICD-10-CM files COPD under J44 "Other chronic obstructive pulmonary disease"; J44.9 is not in this table.
  'chronic obstructive pulmonary disease': 'other chronic obstructive pulmonary disease',
  copd: 'other chronic obstructive pulmonary disease',
  'type 2 diabetes': 'type 2 diabetes mellitus',
  'type 1 diabetes': 'type 1 diabetes mellitus',
  sarcoma: 'malignant neoplasm of other connective and soft tissue',
  'soft tissue sarcoma': 'malignant neoplasm of other connective and soft tissue',
};

// Stage, course and population words that qualify a disease without changing its ICD category.
const MODIFIERS =
  /^(?:metastatic|advanced|locally advanced|recurrent|refractory|relapsed|relapsed\/refractory|relapsed or refractory|progressive|unresectable|inoperable|newly diagnosed|untreated|previously treated|early|primary|secondary|adult|adult-onset|pediatric|paediatric|childhood|severe|moderate|mild|moderate to severe|mild to moderate|acute|chronic|stage [0iv]+[a-c]?|stage [0-4][a-c]?|grade [1-4]|high-risk|low-risk)\s+/;

/**
 * Spellings of a condition to try, most literal first. Each entry is a group of ICD titles that together stand
 * for the condition (one title, or several for "colorectal cancer" -> colon + rectum). Order: the name and its
 * MeSH un-inverted form with their synonyms, singulars and "malignant neoplasm of <organ>" forms; then the same
 * without stage/course modifiers (so "chronic myeloid leukemia" reaches its alias before the stripped "myeloid
 * leukemia"); then each single title with ", unspecified".
 */
export function conditionCandidates(name: string): string[][] {
  const out: string[][] = [];
  const seen = new Set<string>();
  const add = (...titles: string[]) => {
    const group = titles.map(normalizeConditionName).filter((t) => t.length >= 2);
    const key = group.join('\u0000');
    if (group.length > 0 && !seen.has(key)) {
      seen.add(key);
      out.push(group);
    }
  };
  const expand = (form: string) => {
    for (const f of [form, singular(form)]) {
      add(f);
      if (Object.hasOwn(CONDITION_ALIASES, f)) add(CONDITION_ALIASES[f]);
      const cancer = CANCER_WORDS.exec(f);
      const organs = cancer && Object.hasOwn(CANCER_ORGANS, cancer[1]) ? CANCER_ORGANS[cancer[1]] : undefined;
      if (organs) add(...organs.map((organ) => `malignant neoplasm of ${organ}`));
    }
  };
  const base = normalizeConditionName(name);
  const literal = [base];
  // MeSH inverted form: "carcinoma, non-small-cell lung" -> "non-small-cell lung carcinoma".
  const comma = base.match(/^([^,]+),\s*([^,]+)$/);
  if (comma && comma[2].split(' ').length <= 4) literal.push(`${comma[2]} ${comma[1]}`);
  literal.forEach(expand);
  // Strip qualifiers repeatedly ("recurrent stage iv breast cancer" -> "breast cancer").
  for (let form of literal) {
    for (let i = 0; i < 6; i++) {
      const stripped = form.replace(MODIFIERS, '');
      if (stripped === form) break;
      expand((form = stripped));
    }
  }
  for (const group of [...out]) {
    if (group.length !== 1) continue;
    add(`${group[0]}, unspecified`);
    add(`unspecified ${group[0]}`);
  }
  return out;
}

/**
 * "myelodysplastic syndromes" -> "myelodysplastic syndrome", "malignancies" -> "malignancy". Over-generation
 * ("diabetes" -> "diabete") is harmless: it is only a candidate and matches no title.
 */
function singular(text: string): string {
  return text.replace(/([a-z]{3,}[^su])s$/, '$1').replace(/([a-z]{3,})ies$/, '$1y');
}

class Table implements IcdTable {
  readonly dataDir: string;
  private readonly descriptions = new Map<string, string>(); // bare code -> description
  private readonly byTitle = new Map<string, Set<string>>(); // normalised title -> bare codes
  private readonly byLoose = new Map<string, Set<string>>();

  constructor(dataDir: string) {
    this.dataDir = dataDir;
    const directFile = path.join(dataDir, FILES.direct);
    if (!existsSync(directFile)) throw new IcdTableError(`ICD table: missing ${directFile}`);
    let rows: string[][];
    try {
      rows = parse(readTextFile(directFile), { skip_empty_lines: true, relax_column_count: true }) as string[][];
    } catch (err) {
      throw new IcdTableError(`ICD table: cannot parse ${directFile}: ${(err as Error).message}`);
    }
    for (const [code, description] of rows) {
      if (code && description) this.add(code, description);
    }
    const descriptionFile = path.join(dataDir, FILES.description);
    if (existsSync(descriptionFile)) {
      let map: unknown;
      try {
        map = JSON.parse(readTextFile(descriptionFile));
      } catch (err) {
        throw new IcdTableError(`ICD table: cannot read ${descriptionFile}: ${(err as Error).message}`);
      }
      for (const [description, code] of Object.entries(map as Record<string, unknown>)) {
        if (typeof code === 'string' && code) this.add(code, description);
      }
    }
  }

  get size(): number {
    return this.descriptions.size;
  }

  private add(code: string, description: string): void {
    const bare = bareCode(code);
    if (!/^[A-Z][0-9][0-9A-Z]{1,5}$/.test(bare)) return;
    if (!this.descriptions.has(bare)) this.descriptions.set(bare, description.trim());
    const title = normalizeConditionName(description);
    addTo(this.byTitle, title, bare);
    addTo(this.byLoose, looseKey(title), bare);
  }

  lookup(conditionName: string): string[] | undefined {
    const groups = conditionCandidates(conditionName);
    // All exact titles first, then the loose keys: a loose hit must not beat a later exact one.
    for (const [index, keyOf] of [
      [this.byTitle, (t: string) => t],
      [this.byLoose, looseKey],
    ] as const) {
      for (const group of groups) {
        const codes = new Set<string>();
        for (const title of group) {
          const key = keyOf(title);
          for (const code of (key.length >= 3 && index.get(key)) || []) codes.add(code);
        }
        if (codes.size > 0) return [...codes].sort().map(formatIcdCode);
      }
    }
    return undefined;
  }

  describe(code: string): string | undefined {
    return this.descriptions.get(bareCode(code));
  }

  isKnownCode(code: string): boolean {
    return this.descriptions.has(bareCode(code));
  }

  /** Titles in the table, for tests that check aliases point somewhere. */
  hasTitle(title: string): boolean {
    return this.byTitle.has(normalizeConditionName(title));
  }
}

function addTo(map: Map<string, Set<string>>, key: string, code: string): void {
  if (!key) return;
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(code);
}

// One table per data directory: ~50K titles are indexed once, then every study's conditions reuse it.
const cache = new Map<string, Table>();

/** The ICD table of a TOP data directory, built on first request and reused afterwards. */
export function loadIcdTable(dataDir: string): IcdTable & { hasTitle(title: string): boolean } {
  const dir = path.resolve(dataDir);
  let table = cache.get(dir);
  if (!table) {
    table = new Table(dir);
    cache.set(dir, table);
  }
  return table;
}
