/**
 * The text the criteria language model reads. Raw TOP criteria carry layout noise (deep indentation, wrapped
 * lines); the LM instead sees one canonical text per section, built from the parsed statements:
 *
 *   inclusion criteria:
 *   - statement 1
 *   - statement 2
 *
 * Inclusion and exclusion are separate documents (separate passes of the encoder, see encoder.ts), so a long
 * inclusion section can never push the exclusion criteria out of the context window.
 */
import { parseCriteria } from '../data/criteria.ts';

export type CriteriaSection = 'inclusion' | 'exclusion';

export function sectionText(section: CriteriaSection, statements: string[]): string {
  return `${section} criteria:\n${statements.map((s) => `- ${s}`).join('\n')}`;
}

/** Canonical section texts of a raw criteria text; a section without statements is omitted. */
export function criteriaDocuments(raw: string): { section: CriteriaSection; text: string; statements: string[] }[] {
  const parsed = parseCriteria(raw);
  const docs: { section: CriteriaSection; text: string; statements: string[] }[] = [];
  for (const section of ['inclusion', 'exclusion'] as const) {
    const statements = parsed[section];
    if (statements.length > 0) docs.push({ section, text: sectionText(section, statements), statements });
  }
  return docs;
}
