/**
 * Property-based tests (fast-check) of the Python list-literal parser behind TOP's list columns.
 *
 * - repr() round trip: whatever Python's `repr(list_of_str)` writes must parse back to exactly the same list;
 * - any Python-valid spelling of the same list (other quote, numeric/octal escapes, odd spacing, trailing comma)
 *   parses to the same list, so the parser is not only tuned to repr's choices;
 * - arbitrary text never crashes and never hangs: the result is a string list or a PythonLiteralError whose
 *   offset lies inside the text.
 *
 * Reproduce a failure with FC_SEED=<seed printed by fast-check>. Each property also has a wall-clock budget
 * (interruptAfterTimeLimit) so the suite stays fast on a loaded machine; a run that ends early still counts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseNestedStringList, parsePythonStringList, PythonLiteralError } from './python-literal.ts';

const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
const params = (numRuns: number, budgetMs: number) => ({
  seed,
  numRuns,
  plugins: [fc.interruptAfterTimeLimit(budgetMs)],
});

// The parser is linear; even a 2,000-character input takes well under a millisecond. 250 ms leaves room for GC
// pauses and the training job on the same two cores, and still catches anything super-linear or looping.
const PER_RUN_MS = 250;
function timed<T>(fn: () => T): T {
  // At most twice: a super-linear path is slow every time, a GC pause or a busy machine (the training job shares
  // these two cores) rarely twice in a row.
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  let ms = Infinity;
  for (let attempt = 0; attempt < 2 && ms >= PER_RUN_MS; attempt++) {
    const t0 = performance.now();
    try {
      outcome = { ok: true, value: fn() };
    } catch (error) {
      outcome = { ok: false, error };
    }
    ms = performance.now() - t0;
  }
  assert.ok(ms < PER_RUN_MS, `took ${ms.toFixed(1)} ms, twice`);
  if (!outcome!.ok) throw outcome!.error;
  return outcome!.value;
}

// --- a Python repr() written in TypeScript --------------------------------------------------------------------

// Python's str.isprintable(): false for categories Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs (the ASCII space excepted).
// repr() escapes exactly those characters. Checked against CPython 3.11 on 6,500 random strings (lone surrogates
// included): outputs were identical except for characters unassigned in Python's Unicode 14 but assigned in V8's
// newer tables, which Python escapes and this writes verbatim; both spellings are valid and parse to the same
// string, so the round trip does not depend on it.
const NOT_PRINTABLE = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u;
const hex = (code: number, width: number) => code.toString(16).padStart(width, '0');

/** Python 3's repr() of a str (unicode_repr in CPython's Objects/unicodeobject.c). */
function pyReprString(s: string): string {
  // Single quotes unless the text has a ' and no ".
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  // for...of walks code points; a lone surrogate comes out as one unit, as Python sees it.
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ch === quote || ch === '\\') out += '\\' + ch;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (code < 0x20 || code === 0x7f) out += '\\x' + hex(code, 2);
    else if (code < 0x7f) out += ch;
    else if (!NOT_PRINTABLE.test(ch)) out += ch;
    else if (code <= 0xff) out += '\\x' + hex(code, 2);
    else if (code <= 0xffff) out += '\\u' + hex(code, 4);
    else out += '\\U' + hex(code, 8);
  }
  return out + quote;
}

const pyReprList = (items: string[]) => `[${items.map(pyReprString).join(', ')}]`;

// --- generators -----------------------------------------------------------------------------------------------

// Characters that exercise the escaping rules, the list syntax and UTF-16 corner cases.
const TRICKY = [
  "'", '"', '\\', '\n', '\r', '\t', '\0', '\x07', '\x1b', '\x7f', '\x85', '\xa0', '\xad', '\u2028', '\u200b',
  '\ufeff', '\ud800', '\udfff', '\u{1f600}', '\u{10ffff}', ',', '[', ']', ' ', 'x', 'u', 'U', '0', '7', '8',
];
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const unicodeText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }), // any code point, valid UTF-16
  fc.string({ unit: 'grapheme', maxLength: 10 }), // composed characters, emoji sequences
  fc.string({ unit: anyCodeUnit, maxLength: 30 }), // lone surrogates included
  fc.string({ unit: fc.constantFrom(...TRICKY), maxLength: 20 }),
);
const stringList = fc.array(unicodeText, { maxLength: 8 });

/** One character as Python source, chosen at random among the spellings Python accepts for it. */
function spellings(ch: string, quote: string, next: string | undefined): string[] {
  const code = ch.codePointAt(0)!;
  const out: string[] = [];
  // Verbatim unless it would end the string, start an escape or end the line (Python source cannot hold NUL).
  if (ch !== quote && ch !== '\\' && ch !== '\n' && ch !== '\r' && ch !== '\0') out.push(ch);
  if (code <= 0xff) out.push('\\x' + hex(code, 2), '\\x' + hex(code, 2).toUpperCase());
  if (code <= 0xffff) out.push('\\u' + hex(code, 4));
  out.push('\\U' + hex(code, 8));
  if (code <= 0o777) {
    out.push('\\' + code.toString(8).padStart(3, '0'));
    // A short octal escape is only safe when no octal digit follows (Python reads up to three).
    if (next === undefined || !/[0-7]/.test(next)) out.push('\\' + code.toString(8));
  }
  const simple: Record<string, string> = { '\n': 'n', '\t': 't', '\r': 'r', '\x07': 'a', '\b': 'b', '\f': 'f', '\v': 'v', '\\': '\\', "'": "'", '"': '"' };
  if (simple[ch]) out.push('\\' + simple[ch]);
  return out;
}

/** A random but Python-valid literal for `items`: either quote, random escapes, random spacing, trailing comma. */
const anySpelling = (items: string[]) =>
  fc
    .record({
      quotes: fc.array(fc.constantFrom("'", '"'), { minLength: items.length, maxLength: items.length }),
      picks: fc.array(fc.nat(), { minLength: 200, maxLength: 200 }),
      spaces: fc.array(fc.constantFrom('', ' ', '  ', '\n', '\t', '\r\n'), { minLength: 40, maxLength: 40 }),
      trailingComma: fc.boolean(),
    })
    .map(({ quotes, picks, spaces, trailingComma }) => {
      let p = 0;
      let s = 0;
      const pick = () => picks[p++ % picks.length];
      const space = () => spaces[s++ % spaces.length];
      const parts = items.map((item, i) => {
        const quote = quotes[i];
        const chars = [...item];
        const body = chars.map((ch, k) => {
          const options = spellings(ch, quote, chars[k + 1]);
          return options[pick() % options.length];
        });
        return space() + quote + body.join('') + quote + space();
      });
      const comma = trailingComma && items.length > 0 ? ',' + space() : '';
      return space() + '[' + parts.join(',') + comma + ']' + space();
    });

// --- properties -----------------------------------------------------------------------------------------------

test('repr() of any list of unicode strings round-trips exactly', () => {
  fc.assert(
    fc.property(stringList, (items) => {
      assert.deepEqual(timed(() => parsePythonStringList(pyReprList(items))), items);
    }),
    params(1000, 1500),
  );
});

test('the repr() serializer matches Python on known cases', () => {
  // Outputs of CPython 3.11 repr(), so that the round trip above is tested against Python's own spelling.
  assert.equal(pyReprList(["crohn's disease", 'a"b', `both ' and "`]), `["crohn's disease", 'a"b', 'both \\' and "']`);
  assert.equal(pyReprString('tab\tnl\ncr\rbs\\'), "'tab\\tnl\\ncr\\rbs\\\\'");
  assert.equal(pyReprString('\0\x1f\x7f\x85\xa0\xe9'), "'\\x00\\x1f\\x7f\\x85\\xa0é'");
  assert.equal(pyReprString('\u200b\u2028\ud800\u{1f600}\u{e0001}'), "'\\u200b\\u2028\\ud800😀\\U000e0001'");
});

test('any Python-valid spelling of a list parses to the same list', () => {
  fc.assert(
    fc.property(
      stringList.chain((items) => fc.tuple(fc.constant(items), anySpelling(items))),
      ([items, literal]) => {
        assert.deepEqual(timed(() => parsePythonStringList(literal)), items);
      },
    ),
    params(1000, 1500),
  );
});

test('nested lists (the icdcodes column) round-trip through repr() of repr()s', () => {
  fc.assert(
    fc.property(fc.array(fc.array(unicodeText, { maxLength: 4 }), { maxLength: 5 }), (lists) => {
      const literal = pyReprList(lists.map(pyReprList));
      assert.deepEqual(timed(() => parseNestedStringList(literal)), lists);
    }),
    params(500, 1500),
  );
});

/** Either a list of strings, or a PythonLiteralError pointing inside the text; anything else fails the property. */
function assertParsesOrReports(text: string, parse: (text: string) => unknown[]) {
  let result: unknown[];
  try {
    result = timed(() => parse(text));
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    assert.ok(err instanceof PythonLiteralError, `threw ${String(err)}`);
    assert.ok(Number.isInteger(err.offset) && err.offset >= 0 && err.offset <= text.length, `offset ${err.offset}`);
    assert.ok(err.message.includes(`at character ${err.offset}`));
    return;
  }
  assert.ok(Array.isArray(result));
  for (const item of result) {
    if (Array.isArray(item)) assert.ok(item.every((s) => typeof s === 'string'));
    else assert.equal(typeof item, 'string');
  }
}

// Arbitrary text rarely gets past the '[': also build text from the literal's own tokens, and mutate valid
// literals by one edit, so that every error branch (escapes, separators, unterminated strings) is reached.
const TOKENS = ['[', ']', "'", '"', ',', ' ', '\\', '\\x', '\\u', '\\U', '\\0', '\\\n', '\\\r\n', 'a', '0', 'f', 'G', '12', '\n', '[]', "''", '\ud800'];
const literalish = fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }).map((t) => t.join(''));
const mutated = fc
  .tuple(fc.array(unicodeText, { maxLength: 4 }), fc.nat(), fc.constantFrom('delete', 'insert', 'replace'), fc.constantFrom(...TOKENS))
  .map(([items, at, op, token]) => {
    const text = pyReprList(items);
    const i = at % (text.length + 1);
    if (op === 'delete') return text.slice(0, i) + text.slice(i + 1);
    if (op === 'insert') return text.slice(0, i) + token + text.slice(i);
    return text.slice(0, i) + token + text.slice(i + 1);
  });
const anyText = fc.oneof(fc.string({ unit: anyCodeUnit, maxLength: 200 }), literalish, mutated);

test('arbitrary text: a string list or a PythonLiteralError inside the text, never a crash or a hang', () => {
  fc.assert(
    fc.property(anyText, (text) => assertParsesOrReports(text, parsePythonStringList)),
    params(3000, 1500),
  );
});

test('arbitrary text as icdcodes: a list of string lists or a PythonLiteralError inside the text', () => {
  // Outer lists whose items are themselves (possibly broken) literals reach the inner-list error path.
  const nested = fc.array(fc.oneof(anyText, fc.array(unicodeText, { maxLength: 3 }).map(pyReprList)), { maxLength: 4 }).map(pyReprList);
  fc.assert(
    fc.property(fc.oneof(anyText, nested), (text) => assertParsesOrReports(text, parseNestedStringList)),
    params(2000, 1500),
  );
});

test('a broken inner list in icdcodes is reported at its item in the text given, with one position in the message', () => {
  // Before the fix the offset was the position inside the decoded inner list, i.e. in a string the caller never
  // saw, and the message read "... at character 6 at character 6".
  const brokenInner = fc.constantFrom("['C34'", "'C34'", "['C34',,]", "['C34'] x", '[C34]', "['\\x4']", '');
  fc.assert(
    fc.property(
      fc.array(fc.array(unicodeText, { maxLength: 3 }).map(pyReprList), { maxLength: 3 }),
      brokenInner,
      fc.array(unicodeText, { maxLength: 3 }).map(pyReprList),
      (before, broken, after) => {
        const reprs = [...before, broken, after].map(pyReprString);
        const text = `[${reprs.join(', ')}]`;
        // The broken item's opening quote: after "[" and the earlier items, each followed by ", ".
        const start = 1 + reprs.slice(0, before.length).reduce((n, r) => n + r.length + 2, 0);
        assert.throws(
          () => parseNestedStringList(text),
          (err: unknown) =>
            err instanceof PythonLiteralError &&
            err.offset === start &&
            err.message.includes(`(item ${before.length + 1})`) &&
            err.message.split(' at character ').length === 2,
        );
      },
    ),
    params(500, 1500),
  );
});

test('long inputs stay linear: 200,000-character lists, strings and broken literals', () => {
  const long = 'x'.repeat(200_000);
  const cases: [string, (t: string) => unknown][] = [
    [pyReprList(Array.from({ length: 20_000 }, (_, i) => `item ${i}`)), parsePythonStringList],
    [`['${long}']`, parsePythonStringList],
    [`['${long}`, parsePythonStringList], // unterminated
    [`[${' '.repeat(200_000)}`, parsePythonStringList],
    [`['${'\\x41'.repeat(40_000)}']`, parsePythonStringList],
    [pyReprList(Array.from({ length: 5_000 }, () => "['C34.90', 'C34.91']")), parseNestedStringList],
  ];
  for (const [text, parse] of cases) {
    const t0 = performance.now();
    try {
      parse(text);
    } catch (err) {
      assert.ok(err instanceof PythonLiteralError);
    }
    const ms = performance.now() - t0;
    assert.ok(ms < 500, `${text.slice(0, 20)}... (${text.length} chars) took ${ms.toFixed(0)} ms`);
  }
});
