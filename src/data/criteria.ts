/**
 * Splits eligibility-criteria text into inclusion and exclusion statements.
 *
 * Two formats occur:
 *  - legacy ClinicalTrials.gov text, as stored in TOP: "Inclusion Criteria:" / "Exclusion Criteria:" headers
 *    (also "Key Inclusion Criteria", "Inclusion_Criteria:", or none at all), `-  ` bullets or numbered items,
 *    lines wrapped at ~90 columns with a deeper indent, and PDQ-style sub-headers such as
 *    "DISEASE CHARACTERISTICS:" / "PATIENT CHARACTERISTICS:" (all inclusion);
 *  - API v2 Markdown: `* ` bullets, backslash escapes (`\<`, `\>`, `\*`).
 *
 * Rules: a line that starts with a bullet or an item number begins a statement; a non-bullet line continues the
 * current statement unless a blank line came first (then it is a paragraph of its own); sub-headers are dropped;
 * text before any inclusion/exclusion header counts as inclusion.
 */

export interface CriteriaStatements {
  inclusion: string[];
  exclusion: string[];
}

type Section = 'inclusion' | 'exclusion';
interface HeaderMatch {
  section: Section;
  /** Text after the header's colon (the start of a first statement), possibly empty. */
  rest: string;
}

const BULLET = /^(?:[-*•·◦▪+]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)]|\(?[ivxIVX]{1,4}[.)])\s+/;
// "Inclusion Criteria:", "Key Inclusion Criteria", "INCLUSION CRITERIA", "Inclusion_Criteria:", "Inclusion",
// "Part A Inclusion:", "Step 1 inclusion criteria for Cohort 2 only", "Exclusionary medical conditions:".
// Groups: 1 = inclusion|exclusion, 2 = the word "criteria" when it follows directly, 3 = the rest of the line.
// Whether a match really is a header is decided by `matchSectionHeader` (a colon, or nothing but a qualifier
// after the keyword), so "Inclusion of women and minorities" stays a statement.
// The "Part A:" group must match each line one way only, or the repeated group multiplies the ways and a line
// that is not a header backtracks exponentially (seconds per line at 12-20 qualifiers). Hence the separator
// `(?:\s*[:.,-])?\s+`, not `\s*[:.,-]?\s+` (that splits a run of spaces between \s* and \s+: "part a    cohort 1
// ..."), and a label `[\w.#-]{0,5}[\w#]` that ends in a letter, digit or # (else "a." is label "a." or label "a" plus
// separator ".": "part a. part a. ..."). "Part A.", "Part B-", "Cohort B.2:", "Step 1 -" still match; only labels
// of punctuation alone or ending in two of it ("Part --") no longer do.
const SECTION_HEADER =
  /^(?:(?:key|main|major|general|additional|other|primary|secondary|specific|study|subject|patient|participant|recipient|donor)s?\s+|(?:part|cohort|step|arm|group|stage)\s+[\w.#-]{0,5}[\w#](?:\s*[:.,-])?\s+)*(inclusion|exclusion)(?:ary|s)?(?:[\s_-]*(criteria|criterion)\b)?(.*)$/i;
// PDQ-style sub-headers: "DISEASE CHARACTERISTICS:", "PRIOR CONCURRENT THERAPY:", "Biologic therapy:".
const SUB_HEADER = /^(?:[A-Z][A-Z0-9 /,&()'-]{2,60}|[A-Z][a-zA-Z /,&()'-]{2,40}):$/;

/** Undoes the backslash escapes of ClinicalTrials.gov's Markdown (`\<`, `\>`, `\*`, `\_`, `\\`, ...). */
export function unescapeMarkdown(text: string): string {
  return text.replace(/\\([\\`*_{}[\]()#+\-.!<>|~=])/g, '$1');
}

function cleanStatement(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Splits criteria text (legacy TOP text or API v2 Markdown) into inclusion and exclusion statements. */
export function parseCriteria(raw: string): CriteriaStatements {
  const out: CriteriaStatements = { inclusion: [], exclusion: [] };
  if (!raw) return out;
  const text = unescapeMarkdown(raw.replace(/\r\n?/g, '\n'));
  let section: Section = 'inclusion';
  let current: string[] = [];
  let afterBlank = true;
  // Legacy ClinicalTrials.gov text bullets with "-  " and separates items by blank lines, wrapping long items at ~90
  // columns. There a line right after a non-blank line that merely looks like a bullet is a wrapped continuation:
  // "... <= 1.5\n * ULN", "(Appendix\n J) (subjects ...", "(SCORAD up to\n 50) and ...", "IGA score of 3 or\n 4.".
  // Only "-  " bullets, and numbered items that go on with the numbering (1, or the last number + 1), start a new
  // statement there.
  const legacyBullets = /^[ \t]*-  \S/m.test(text);
  let lastNumber = 0;

  const flush = () => {
    const statement = cleanStatement(current.join(' '));
    if (statement.length > 0 && /[\p{L}\p{N}]/u.test(statement)) out[section].push(statement);
    current = [];
  };

  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line.length === 0) {
      afterBlank = true;
      continue;
    }
    const header: HeaderMatch | null = matchSectionHeader(line, afterBlank) ?? matchBulletedHeader(line);
    if (header) {
      flush();
      section = header.section;
      lastNumber = 0;
      const rest: string = header.rest.trim().replace(BULLET, '').trim();
      if (rest) current.push(rest);
      // A statement that starts on the header line continues on the next, wrapped line.
      afterBlank = rest.length === 0;
      continue;
    }
    if (afterBlank && SUB_HEADER.test(line)) {
      flush();
      afterBlank = true;
      continue;
    }
    const bullet = BULLET.exec(line);
    const number = /^\(?(\d{1,3})[.)]/.exec(line);
    const startsItem =
      bullet !== null &&
      (!legacyBullets ||
        afterBlank ||
        line.startsWith('-  ') ||
        (number !== null && (Number(number[1]) === 1 || Number(number[1]) === lastNumber + 1)));
    if (bullet && startsItem) {
      flush();
      if (number) lastNumber = Number(number[1]);
      current.push(line.slice(bullet[0].length));
    } else if (afterBlank) {
      flush();
      current.push(line);
    } else {
      current.push(line);
    }
    afterBlank = false;
  }
  flush();
  return out;
}

/**
 * Recognises an inclusion/exclusion header and returns the statement that may follow its colon.
 *
 * A header is the keyword (optionally prefixed by "Key", "Main", "Part A", ... and followed by "criteria") and then
 * either nothing, or a short qualifier and a colon ("Inclusion criteria for Part 2 only:", "Exclusion: age < 18"),
 * or a "for ..."/parenthesised qualifier without colon ("Step 1 inclusion criteria for Cohort 2 only").
 * Everything else is a statement: "Inclusion of women and minorities", and notes such as "Other inclusion and
 * exclusion criteria may apply." (which must not flip the section). A lower-case line right after a non-blank
 * line is a wrapped continuation ("... who meet none of the\n exclusion criteria"), never a header.
 */
function matchSectionHeader(rawLine: string, afterBlank: boolean): HeaderMatch | null {
  // Markdown decoration ("## Inclusion Criteria", "**Exclusion Criteria:**") is not part of the header.
  // Full-width colons ("Exclusion criteria：") occur in trials registered from East Asia.
  const line = rawLine.replace(/^#+\s*/, '').replace(/\*\*/g, '').replace(/：/g, ':').trim();
  const m = SECTION_HEADER.exec(line);
  if (!m) return null;
  if (!afterBlank && /^[a-z]/.test(line)) return null;
  const section = m[1].toLowerCase() as Section;
  const hasCriteriaWord = m[2] !== undefined;
  const tail = m[3];
  const colon = tail.indexOf(':');
  if (colon >= 0) {
    const qualifier = tail.slice(0, colon).trim();
    if (qualifier === '') return { section, rest: tail.slice(colon + 1) };
    // A long qualifier means the colon belongs to a sentence.
    if (qualifier.length > 45) return null;
    // "Inclusion Criteria for Part 1 Only:", "Exclusion Criteria Related to Medications:", "Inclusion criteria include:".
    // Without the word "criteria" only qualifier shapes that cannot start a sentence are accepted:
    // "Inclusion/Exclusion:" (a combined header counts for the keyword that comes first), "Inclusion (all):",
    // "Exclusion for cohort B:", "INCLUSION - PART A:"; "Exclusion of patients with: ..." stays a statement.
    const rest = tail.slice(colon + 1);
    if (
      hasCriteriaWord ||
      // A capitalised line that ends at its colon is a heading: "Main Inclusion at Screening (Visit 1):".
      (rest.trim() === '' && /^[A-Z]/.test(line)) ||
      /^(?:\/|\(|-|for\b|(?:part|cohort|step|arm|group|stage)\b)/i.test(qualifier) ||
      qualifier === qualifier.toUpperCase()
    ) {
      return { section, rest };
    }
    return null;
  }
  const qualifier = tail.trim().replace(/\.$/, '');
  // "Inclusion", "Exclusion Criteria", "INCLUSION CRITERIA".
  if (qualifier === '') return { section, rest: '' };
  // "Step 1 inclusion criteria for Cohort 2 only", "Inclusion criteria (all patients)", "Exclusion Criteria - Part B";
  // notes such as "Other inclusion and exclusion criteria may apply." do not qualify.
  if (hasCriteriaWord && /^(?:\(.*\)|for\b.{0,45}|-\s*.{1,45}|includes?)$/i.test(qualifier)) return { section, rest: '' };
  // A parenthesis wrapped onto the next line: "Exclusion Criteria (Patients meeting any of ... ineligible for" /
  // "participation):". Kept as the start of a statement so the wrapped line is not orphaned.
  if (hasCriteriaWord && /^\([^)]*$/.test(qualifier)) return { section, rest: qualifier };
  // A header run into its first sentence: "Exclusion Criteria Subjects will not be eligible if they meet any of ...".
  if (hasCriteriaWord && /^[A-Z]/.test(line) && /^[A-Z][a-z]*\s+\S+\s+\S+\s+\S+/.test(qualifier)) {
    return { section, rest: qualifier };
  }
  return null;
}

/** A header written as a list item ("-  INCLUSION CRITERIA:", "1. Other exclusion criteria:"), with nothing after it. */
function matchBulletedHeader(line: string): HeaderMatch | null {
  const bullet = BULLET.exec(line);
  if (!bullet) return null;
  const header = matchSectionHeader(line.slice(bullet[0].length), true);
  return header && header.rest.trim() === '' ? header : null;
}

/** Joins statements back into one text per section, e.g. for a text encoder. */
export function criteriaSectionText(statements: string[]): string {
  return statements.map((s) => `- ${s}`).join('\n');
}
