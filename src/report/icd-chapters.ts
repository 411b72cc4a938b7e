/**
 * The chapters of ICD-10-CM (the US clinical modification TOP's codes come from: "D49.6" and "O9A" exist
 * only there), by ranges of 3-character categories.
 *
 * Neoplasms end at D49 in ICD-10-CM, not at D48 as in WHO ICD-10, and the blood chapter starts at D50.
 * Categories compare as strings: letter then two characters, and "O9A" sorts after "O99" because 'A' > '9'.
 */
export interface IcdChapter {
  /** Roman numeral as in the classification, e.g. "II". */
  id: string;
  /** First and last 3-character category, inclusive. */
  first: string;
  last: string;
  title: string;
}

export const ICD10_CHAPTERS: readonly IcdChapter[] = [
  { id: 'I', first: 'A00', last: 'B99', title: 'Infectious and parasitic diseases' },
  { id: 'II', first: 'C00', last: 'D49', title: 'Neoplasms' },
  { id: 'III', first: 'D50', last: 'D89', title: 'Blood and immune mechanism' },
  { id: 'IV', first: 'E00', last: 'E89', title: 'Endocrine, nutritional and metabolic' },
  { id: 'V', first: 'F01', last: 'F99', title: 'Mental and behavioural' },
  { id: 'VI', first: 'G00', last: 'G99', title: 'Nervous system' },
  { id: 'VII', first: 'H00', last: 'H59', title: 'Eye and adnexa' },
  { id: 'VIII', first: 'H60', last: 'H95', title: 'Ear and mastoid process' },
  { id: 'IX', first: 'I00', last: 'I99', title: 'Circulatory system' },
  { id: 'X', first: 'J00', last: 'J99', title: 'Respiratory system' },
  { id: 'XI', first: 'K00', last: 'K95', title: 'Digestive system' },
  { id: 'XII', first: 'L00', last: 'L99', title: 'Skin and subcutaneous tissue' },
  { id: 'XIII', first: 'M00', last: 'M99', title: 'Musculoskeletal and connective tissue' },
  { id: 'XIV', first: 'N00', last: 'N99', title: 'Genitourinary system' },
  { id: 'XV', first: 'O00', last: 'O9A', title: 'Pregnancy, childbirth and the puerperium' },
  { id: 'XVI', first: 'P00', last: 'P96', title: 'Perinatal conditions' },
  { id: 'XVII', first: 'Q00', last: 'Q99', title: 'Congenital malformations' },
  { id: 'XVIII', first: 'R00', last: 'R99', title: 'Symptoms, signs and abnormal findings' },
  { id: 'XIX', first: 'S00', last: 'T88', title: 'Injury, poisoning, external consequences' },
  { id: 'XX', first: 'V00', last: 'Y99', title: 'External causes of morbidity' },
  { id: 'XXI', first: 'Z00', last: 'Z99', title: 'Factors influencing health status' },
  { id: 'XXII', first: 'U00', last: 'U85', title: 'Codes for special purposes' },
];

/** The chapter of a code in dotted ("C50.9") or bare ("C509") form, or undefined for a malformed code. */
export function icdChapterOf(code: string): IcdChapter | undefined {
  const category = code.trim().toUpperCase().replace(/\./g, '').slice(0, 3);
  if (!/^[A-Z][0-9][0-9A-Z]$/.test(category)) return undefined;
  return ICD10_CHAPTERS.find((c) => category >= c.first && category <= c.last);
}
