/**
 * ICD-10-CM code -> CCSR body system, from TOP's `aux/icd/icd2ccsr.txt` (TAB-separated `CODE<TAB>SYSTEM`,
 * codes without dots, one line each; TOP used it for its disease-group test subsets).
 *
 * The file lists billable codes only, from an older code set: categories ("C50") and codes added later
 * ("F32.A", "K74.02") are absent. Such a code gets the body system shared by every listed code that starts
 * with its longest listed prefix, and none when those codes disagree (a guess there would put trials into
 * the wrong group silently).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const CCSR_FILE = 'aux/icd/icd2ccsr.txt';

/** AHRQ's names of the CCSR body systems. */
export const CCSR_BODY_SYSTEMS: Readonly<Record<string, string>> = {
  BLD: 'Blood and immune mechanism',
  CIR: 'Circulatory system',
  DEN: 'Dental',
  DIG: 'Digestive system',
  EAR: 'Ear and mastoid process',
  END: 'Endocrine, nutritional and metabolic',
  EXT: 'External causes of morbidity',
  EYE: 'Eye and adnexa',
  FAC: 'Factors influencing health status',
  GEN: 'Genitourinary system',
  INF: 'Infectious and parasitic diseases',
  INJ: 'Injury, poisoning, external consequences',
  MAL: 'Congenital malformations',
  MBD: 'Mental and behavioural',
  MUS: 'Musculoskeletal and connective tissue',
  NEO: 'Neoplasms',
  NVS: 'Nervous system',
  PNL: 'Perinatal conditions',
  PRG: 'Pregnancy, childbirth and the puerperium',
  RSP: 'Respiratory system',
  SKN: 'Skin and subcutaneous tissue',
  SYM: 'Symptoms, signs and abnormal findings',
};

export interface CcsrTable {
  /** Body system code (e.g. "NEO") of an ICD-10 code in either form, or undefined when unknown or ambiguous. */
  bodySystemOf(code: string): string | undefined;
  readonly size: number;
}

export function parseCcsr(text: string, source = CCSR_FILE): CcsrTable {
  const exact = new Map<string, string>();
  // Every proper prefix (>= 3 characters) of a listed code -> the systems of the codes below it.
  const byPrefix = new Map<string, Set<string>>();
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '') return;
    const [code, system] = line.split('\t').map((f) => f?.trim());
    if (!code || !system) throw new Error(`${source}: line ${index + 1} is not "CODE<TAB>SYSTEM": ${JSON.stringify(line)}`);
    exact.set(code.toUpperCase(), system);
    for (let len = 3; len < code.length; len++) {
      const prefix = code.slice(0, len).toUpperCase();
      let systems = byPrefix.get(prefix);
      if (!systems) byPrefix.set(prefix, (systems = new Set()));
      systems.add(system);
    }
  });
  return {
    size: exact.size,
    bodySystemOf(code: string): string | undefined {
      const bare = code.trim().toUpperCase().replace(/\./g, '');
      const hit = exact.get(bare);
      if (hit) return hit;
      for (let len = bare.length; len >= 3; len--) {
        const systems = byPrefix.get(bare.slice(0, len));
        if (systems) return systems.size === 1 ? [...systems][0] : undefined;
      }
      return undefined;
    },
  };
}

/** Reads the table from a TOP data directory; undefined when the file is not there. */
export function loadCcsr(dataDir: string): CcsrTable | undefined {
  const file = path.join(dataDir, CCSR_FILE);
  if (!existsSync(file)) return undefined;
  return parseCcsr(readFileSync(file, 'utf8'), file);
}
