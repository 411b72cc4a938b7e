/**
 * Parser for the Python list literals TOP stores in its CSV list columns, e.g.
 *   ['small cell lung carcinoma', "crohn's disease", 'a\\b']
 *   ["['D02.20', 'D02.21']", "['C34.90']"]          (icdcodes: a list of strings, each a list literal)
 *
 * Only what `repr(list_of_str)` produces is accepted: a bracketed, comma-separated list of single- or
 * double-quoted strings with Python escapes. Anything else is a `PythonLiteralError` with the offset, so the
 * CSV reader can name the file, row and field.
 */

export class PythonLiteralError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at character ${offset}`);
    this.name = 'PythonLiteralError';
  }
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  n: '\n',
  t: '\t',
  r: '\r',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
};

/** Parses a Python list of strings (`[]`, `['a', "b"]`). Whitespace around items is ignored. */
export function parsePythonStringList(text: string): string[] {
  return parseItems(text).map((item) => item.value);
}

/** The items of a list literal, each with the offset of its opening quote (to point errors at an item). */
function parseItems(text: string): { value: string; start: number }[] {
  let i = 0;
  const n = text.length;
  const skipSpace = () => {
    while (i < n && /\s/.test(text[i])) i++;
  };
  skipSpace();
  if (text[i] !== '[') throw new PythonLiteralError("expected '['", i);
  i++;
  const items: { value: string; start: number }[] = [];
  skipSpace();
  if (text[i] === ']') {
    i++;
    skipSpace();
    if (i !== n) throw new PythonLiteralError('unexpected text after list', i);
    return items;
  }
  for (;;) {
    skipSpace();
    const quote = text[i];
    if (quote !== "'" && quote !== '"') throw new PythonLiteralError('expected a quoted string', i);
    const start = i;
    i++;
    let value = '';
    for (;;) {
      if (i >= n) throw new PythonLiteralError('unterminated string', i);
      const c = text[i];
      if (c === quote) {
        i++;
        break;
      }
      if (c === '\\') {
        const e = text[i + 1];
        if (e === undefined) throw new PythonLiteralError('dangling backslash', i);
        if (e in SIMPLE_ESCAPES) {
          value += SIMPLE_ESCAPES[e];
          i += 2;
        } else if (e === 'x' || e === 'u' || e === 'U') {
          const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
          const hex = text.slice(i + 2, i + 2 + len);
          if (hex.length !== len || !/^[0-9a-fA-F]+$/.test(hex)) {
            throw new PythonLiteralError(`bad \\${e} escape`, i);
          }
          const code = parseInt(hex, 16);
          // Python rejects \U escapes above U+10FFFF; String.fromCodePoint would throw a RangeError instead.
          if (code > 0x10ffff) throw new PythonLiteralError(`\\${e} escape out of range`, i);
          value += String.fromCodePoint(code);
          i += 2 + len;
        } else if (e >= '0' && e <= '7') {
          // Octal escape, 1 to 3 digits as in Python ('\0', '\012' = newline); not just '\0' followed by text.
          const octal = /^[0-7]{1,3}/.exec(text.slice(i + 1, i + 4))![0];
          value += String.fromCharCode(parseInt(octal, 8));
          i += 1 + octal.length;
        } else if (e === '\n') {
          i += 2; // line continuation
        } else if (e === '\r') {
          i += text[i + 2] === '\n' ? 3 : 2; // line continuation in a file with CRLF line ends
        } else {
          // Python keeps unknown escapes verbatim, backslash included.
          value += '\\' + e;
          i += 2;
        }
        continue;
      }
      value += c;
      i++;
    }
    items.push({ value, start });
    skipSpace();
    if (text[i] === ',') {
      i++;
      skipSpace();
      if (text[i] === ']') {
        i++;
        break;
      }
      continue;
    }
    if (text[i] === ']') {
      i++;
      break;
    }
    throw new PythonLiteralError("expected ',' or ']'", i);
  }
  skipSpace();
  if (i !== n) throw new PythonLiteralError('unexpected text after list', i);
  return items;
}

/** Parses TOP's `icdcodes` column: a list of strings, each itself a list literal of ICD-10 codes. */
export function parseNestedStringList(text: string): string[][] {
  return parseItems(text).map(({ value: inner, start }, k) => {
    try {
      return parsePythonStringList(inner);
    } catch (err) {
      if (err instanceof PythonLiteralError) {
        // The offset must point into `text`, the string the caller has: at the broken item's opening quote. The
        // position inside the decoded inner list goes in the message (it used to be the offset, and the message
        // said "at character N at character N").
        const reason = err.message.slice(0, err.message.length - ` at character ${err.offset}`.length);
        throw new PythonLiteralError(
          `inner list ${JSON.stringify(inner.slice(0, 40))} (item ${k + 1}): ${reason} (character ${err.offset} of the inner list)`,
          start,
        );
      }
      throw err;
    }
  });
}
