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

const BULLET = /^(?:[-*•·◦▪+]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)]|\(?[ivxIVX]{1,4}[.)])\s+/;
// "Inclusion Criteria:", "Key Inclusion Criteria", "INCLUSION CRITERIA", "Inclusion_Criteria:",
// "Inclusion criteria for patients:", "Main exclusion criteria". A header may carry a statement after its colon.
const SECTION_HEADER =
  /^(?:#+\s*)?(?:\*\*)?\s*(?:key|main|major|general|additional|other)?\s*(inclusion|exclusion)[\s_-]*(?:criteria|criterion)?\b[^:]{0,40}?(?:\*\*)?\s*(?::|$)\s*(.*)$/i;
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
    const header = SECTION_HEADER.exec(line);
    if (header && isHeaderLike(line, header[2])) {
      flush();
      section = header[1].toLowerCase() as Section;
      afterBlank = true;
      const rest = header[2].replace(BULLET, '').trim();
      if (rest) current.push(rest);
      continue;
    }
    if (SUB_HEADER.test(line)) {
      flush();
      afterBlank = true;
      continue;
    }
    const bullet = BULLET.exec(line);
    if (bullet) {
      flush();
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
 * A header line is short and mostly the header itself; "Exclusion of patients with prior therapy" is a
 * statement, not a header. Accept when the word "criteria" is present, the line ends with ':', or it is upper case.
 */
function isHeaderLike(line: string, rest: string): boolean {
  const head = line.slice(0, line.length - rest.length);
  if (/criteri/i.test(head)) return true;
  if (/:\s*$/.test(head)) return true;
  return head === head.toUpperCase() && rest.length === 0;
}

/** Joins statements back into one text per section, e.g. for a text encoder. */
export function criteriaSectionText(statements: string[]): string {
  return statements.map((s) => `- ${s}`).join('\n');
}
