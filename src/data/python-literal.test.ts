import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { parseNestedStringList, parsePythonStringList, PythonLiteralError } from './python-literal.ts';
import { readTopCsv } from './top-csv.ts';
import { resolveDataDir } from './splits.ts';

// Inputs are written with String.raw so that the backslashes in the test source are exactly the characters of
// the CSV cell (what Python's repr() wrote), not JavaScript escapes.

test('single- and double-quoted items, as repr() writes them', () => {
  assert.deepEqual(parsePythonStringList(`['small cell lung carcinoma']`), ['small cell lung carcinoma']);
  // repr() switches to double quotes when the item contains a single quote.
  assert.deepEqual(parsePythonStringList(`["crohn's disease", 'ulcerative colitis']`), ["crohn's disease", 'ulcerative colitis']);
  assert.deepEqual(parsePythonStringList(`["non-hodgkin's lymphoma", 'chronic lymphocytic leukemia', 'multiple myeloma']`), [
    "non-hodgkin's lymphoma",
    'chronic lymphocytic leukemia',
    'multiple myeloma',
  ]);
});

test('escaped quotes and backslashes', () => {
  assert.deepEqual(parsePythonStringList(String.raw`['a\'b']`), ["a'b"]);
  assert.deepEqual(parsePythonStringList(String.raw`["say \"hi\""]`), ['say "hi"']);
  // As in phase_III_test.csv (NCT02045862): Python's repr of one backslash is two.
  assert.deepEqual(parsePythonStringList(String.raw`['urinary bladder diseases\\urologic diseases']`), [
    'urinary bladder diseases\\urologic diseases',
  ]);
  // SMILES keep their stereo bonds: '\\C=C\\' in the cell is \C=C\ in the molecule.
  assert.deepEqual(parsePythonStringList(String.raw`['CN\\C(NCC)=C/[N+]([O-])=O']`), ['CN\\C(NCC)=C/[N+]([O-])=O']);
  // Unknown escapes stay verbatim, backslash included, as in Python.
  assert.deepEqual(parsePythonStringList(String.raw`['a\db']`), ['a\\db']);
  assert.deepEqual(parsePythonStringList(String.raw`['tab\there', 'nl\nx']`), ['tab\there', 'nl\nx']);
});

test('numeric escapes: \\x, \\u, \\U and octal', () => {
  assert.deepEqual(parsePythonStringList(String.raw`['\x41\u00e9\U0001F600']`), ['Aé😀']);
  // Octal escapes take up to three digits: '\012' is a newline, not NUL followed by "12".
  assert.deepEqual(parsePythonStringList(String.raw`['\012', '\0', '\101B', '\1234']`), ['\n', '\0', 'AB', 'S4']);
});

test('unicode text passes through unchanged', () => {
  assert.deepEqual(parsePythonStringList(`["sjögren's syndrome", 'naïve', 'β-thalassemia', '肝癌']`), [
    "sjögren's syndrome",
    'naïve',
    'β-thalassemia',
    '肝癌',
  ]);
});

test('empty lists, whitespace and a trailing comma', () => {
  assert.deepEqual(parsePythonStringList('[]'), []);
  assert.deepEqual(parsePythonStringList('  [ ]  '), []);
  assert.deepEqual(parsePythonStringList(` [ 'a' ,\n "b" ] `), ['a', 'b']);
  assert.deepEqual(parsePythonStringList(`['a',]`), ['a']);
  assert.deepEqual(parsePythonStringList(`['']`), ['']);
});

test('nested icdcodes: a list of list literals', () => {
  assert.deepEqual(parseNestedStringList(`["['D02.20', 'D02.21']", "['C34.90']"]`), [['D02.20', 'D02.21'], ['C34.90']]);
  assert.deepEqual(parseNestedStringList(`["[]", "['C34.90']"]`), [[], ['C34.90']]);
  assert.deepEqual(parseNestedStringList('[]'), []);
});

/** Asserts that `fn` throws a PythonLiteralError at `offset` whose message matches `pattern`. */
function assertLiteralError(fn: () => unknown, offset: number, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof PythonLiteralError, `expected PythonLiteralError, got ${String(err)}`);
    assert.equal(err.offset, offset);
    assert.match(err.message, pattern);
    assert.match(err.message, new RegExp(`at character ${offset}$`));
    return true;
  });
}

test('malformed inputs are PythonLiteralError with the offset', () => {
  assertLiteralError(() => parsePythonStringList(''), 0, /expected '\['/);
  assertLiteralError(() => parsePythonStringList(`'a'`), 0, /expected '\['/);
  assertLiteralError(() => parsePythonStringList('[a]'), 1, /expected a quoted string/);
  assertLiteralError(() => parsePythonStringList('[,]'), 1, /expected a quoted string/);
  assertLiteralError(() => parsePythonStringList(`['a`), 3, /unterminated string/);
  assertLiteralError(() => parsePythonStringList(`['a'`), 4, /expected ',' or '\]'/);
  assertLiteralError(() => parsePythonStringList(`['a' 'b']`), 5, /expected ',' or '\]'/);
  assertLiteralError(() => parsePythonStringList(`['a'] x`), 6, /unexpected text after list/);
  assertLiteralError(() => parsePythonStringList(`[] []`), 3, /unexpected text after list/);
  assertLiteralError(() => parsePythonStringList(String.raw`['\x4']`), 2, /bad \\x escape/);
  assertLiteralError(() => parsePythonStringList(String.raw`['\u12G4']`), 2, /bad \\u escape/);
  // Beyond U+10FFFF: must be a PythonLiteralError, not the RangeError String.fromCodePoint would throw.
  assertLiteralError(() => parsePythonStringList(String.raw`['\U00110000']`), 2, /out of range/);
  assertLiteralError(() => parsePythonStringList(`['a\\`), 3, /dangling backslash/);
});

test('a malformed inner icdcodes list names the inner text', () => {
  assert.throws(
    () => parseNestedStringList(`["['D02.20', 'D02.21'", "['C34.90']"]`),
    (err: unknown) => err instanceof PythonLiteralError && /inner list "\['D02\.20', 'D02\.21'"/.test(err.message),
  );
  // The outer list itself broken: offset in the outer text.
  assertLiteralError(() => parseNestedStringList(`["['C34.90']"`), 13, /expected ',' or '\]'/);
});

test('real TOP cells: backslash disease, quoted disease, nested icdcodes (phase_III_test.csv)', () => {
  const { rows, errors } = readTopCsv(path.join(resolveDataDir(), 'phase_III_test.csv'));
  assert.deepEqual(errors, []);
  const byId = new Map(rows.map((r) => [r.trial.nctid, r.trial]));
  const bladder = byId.get('NCT02045862');
  assert.ok(bladder);
  assert.deepEqual(bladder.diseases, [
    'urinary bladder overactive',
    'overactive bladder',
    'urgency incontinence',
    'urinary bladder diseases\\urologic diseases',
  ]);
  assert.deepEqual(bladder.icdcodes.slice(0, 2), [['N32.81'], ['N32.81']]);
  assert.deepEqual(byId.get('NCT02038920')?.diseases, ["crohn's disease"]);
});
