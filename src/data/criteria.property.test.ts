/**
 * Property-based tests (fast-check) of the eligibility-criteria splitter.
 *
 * - Arbitrary text never crashes or hangs, 1,000,000-character inputs included, and every statement is trimmed,
 *   non-empty and on one line.
 * - Bullet lists under "Inclusion Criteria:" / "Exclusion Criteria:" come back as exactly the generated items, in
 *   the legacy TOP layout ("          -  item", wrapped at ~90 columns) and in API v2 Markdown ("* item", escapes).
 *
 * Hang-prone inputs run in a worker thread that is terminated after a hard time limit: a catastrophic regex
 * cannot be interrupted inside the test's own thread, and would otherwise stall the suite instead of failing it.
 * Reproduce a failure with FC_SEED=<seed printed by fast-check>.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { parseCriteria, type CriteriaStatements } from './criteria.ts';

const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
const params = (numRuns: number, budgetMs: number) => ({ seed, numRuns, plugins: [fc.interruptAfterTimeLimit(budgetMs)] });

// --- a worker that runs parseCriteria and can be killed -------------------------------------------------------

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.tsx)
  .then((api) => api.tsImport(workerData.module, workerData.parent))
  .then((criteria) => {
    parentPort.on('message', ({ id, text, repeat }) => {
      // Big inputs are built here from a short chunk, so that a megabyte is not copied per run.
      const input = repeat > 1 ? text.repeat(repeat) : text;
      const t0 = performance.now();
      try {
        const result = criteria.parseCriteria(input);
        parentPort.postMessage({ id, ms: performance.now() - t0, result });
      } catch (err) {
        parentPort.postMessage({ id, ms: performance.now() - t0, error: String((err && err.stack) || err) });
      }
    });
    parentPort.postMessage({ ready: true });
  });
`;

interface Timed {
  ms: number;
  result: CriteriaStatements;
}

/** Runs parseCriteria in a worker; a run longer than `hardLimitMs` kills the worker and fails as a hang. */
class CriteriaSandbox {
  private worker?: Promise<Worker>;
  private nextId = 0;

  private start(): Promise<Worker> {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { tsx: import.meta.resolve('tsx/esm/api'), module: new URL('./criteria.ts', import.meta.url).href, parent: import.meta.url },
    });
    return new Promise((resolve, reject) => {
      worker.once('error', reject);
      worker.once('message', (m) => (m?.ready ? resolve(worker) : reject(new Error('worker did not start'))));
    });
  }

  async parse(text: string, hardLimitMs: number, repeat = 1): Promise<Timed> {
    this.worker ??= this.start();
    const worker = await this.worker;
    const id = this.nextId++;
    return new Promise<Timed>((resolve, reject) => {
      const timer = setTimeout(() => {
        // The worker is stuck in parseCriteria: kill it; the next run starts a fresh one.
        worker.off('message', onMessage);
        void worker.terminate();
        this.worker = undefined;
        reject(new assert.AssertionError({ message: `parseCriteria still running after ${hardLimitMs} ms (input ${text.length * repeat} chars)` }));
      }, hardLimitMs);
      const onMessage = (m: { id: number; ms: number; result?: CriteriaStatements; error?: string }) => {
        if (m.id !== id) return;
        clearTimeout(timer);
        worker.off('message', onMessage);
        if (m.error !== undefined) reject(new Error(`parseCriteria threw: ${m.error}`));
        else resolve({ ms: m.ms, result: m.result! });
      };
      worker.on('message', onMessage);
      worker.postMessage({ id, text, repeat });
    });
  }

  /** parse(), run again once if it took `limitMs` or more: only a slow path is slow twice in a row. */
  async parseWithin(text: string, limitMs: number, hardLimitMs: number, repeat = 1): Promise<Timed> {
    const first = await this.parse(text, hardLimitMs, repeat);
    return first.ms < limitMs ? first : this.parse(text, hardLimitMs, repeat);
  }

  async close() {
    if (this.worker) await (await this.worker).terminate();
    this.worker = undefined;
  }
}

// One worker for the whole file (starting one with tsx costs a few hundred ms); a hang replaces it.
const sandbox = new CriteriaSandbox();
after(() => sandbox.close());

// --- invariants -----------------------------------------------------------------------------------------------

function assertStatementsWellFormed(result: CriteriaStatements) {
  assert.ok(Array.isArray(result.inclusion) && Array.isArray(result.exclusion));
  for (const statement of [...result.inclusion, ...result.exclusion]) {
    assert.equal(typeof statement, 'string');
    assert.ok(statement.length > 0, 'empty statement');
    assert.equal(statement, statement.trim(), `not trimmed: ${JSON.stringify(statement)}`);
    // One line, single spaces: no CR/LF/LS/PS, tabs or runs of whitespace survive.
    assert.ok(!/[^\S ]| {2}/.test(statement), `whitespace left in ${JSON.stringify(statement)}`);
  }
}

// --- generators -----------------------------------------------------------------------------------------------

const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
// Pieces of real criteria layouts: headers, sub-headers, bullets, numbers, Markdown escapes, odd line ends.
const PIECES = [
  'Inclusion Criteria:', 'Exclusion Criteria:', 'Key Inclusion Criteria', 'INCLUSION CRITERIA', 'Exclusion:', 'inclusion',
  'DISEASE CHARACTERISTICS:', 'Part A', 'Cohort 2', 'for', '(all patients)', '-  ', '* ', '1. ', '2) ', '(a) ', 'iv. ', '• ',
  '\\>', '\\<', '\\*', '**', '## ', '：', ':', ' ', '   ', '\t', '\n', '\n\n', '\r\n', '\r', '\u2028', 'age', 'ULN', '≥ 18',
  'patients with', 'x', '.', ',', '(', ')',
];
const fuzzText = fc.oneof(
  fc.string({ unit: anyCodeUnit, maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.array(fc.constantFrom(...PIECES), { maxLength: 80 }).map((p) => p.join('')),
);

// Lines made of the building blocks of the section-header pattern ("Key", "Part A:", "Cohort 2 -", then
// "inclusion criteria" or not), with runs of whitespace between them: the inputs on which an ambiguous header
// regex backtracks.
const ws = fc.constantFrom(' ', '  ', '   ', '    ', '\t', ' \t ');
const headerPrefix = fc.oneof(
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('key', 'Main', 'other', 'PATIENTS', 'study'), ws).map(([w, s]) => w + s) },
  {
    weight: 3,
    arbitrary: fc
    .tuple(fc.constantFrom('part', 'Cohort', 'step', 'ARM', 'group', 'stage'), ws, fc.constantFrom('a', '1', 'B.2', '#3', 'II'), fc.constantFrom('', ' ', '  '), fc.constantFrom('', ':', '.', ',', '-'), ws)
    .map((t) => t.join('')),
  },
);
// Either a random mix of qualifiers, or one short unit "pumped" 10-40 times (a regex that backtracks
// exponentially does so on prefix + pump^n + failing suffix, and a random mix rarely repeats one ambiguity often
// enough to show).
const headerLike = fc
  .tuple(
    fc.oneof(
      // size 'max': lengths up to maxLength; fast-check's default keeps arrays short (~10).
      fc.array(headerPrefix, { minLength: 1, maxLength: 30, size: 'max' }).map((p) => p.join('')),
      fc
        .tuple(fc.array(headerPrefix, { minLength: 1, maxLength: 2 }), fc.integer({ min: 20, max: 40 }))
        .map(([unit, n]) => unit.join('').repeat(n)),
    ),
    // Mostly tails that make the line no header: a regex only backtracks through all its ways when it fails.
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom('', 'x', 'of age') },
      { weight: 1, arbitrary: fc.constantFrom('inclusion', 'Exclusion criteria', 'inclusion criteria: age', 'Exclusionary medical', 'exclusion criteria for') },
    ),
  )
  .map(([prefixes, tail]) => prefixes + tail);

// --- properties: arbitrary text -------------------------------------------------------------------------------

// Short inputs parse in well under a millisecond; 250 ms flags a super-linear path, 3 s a hang.
const SHORT_MS = 250;
const HANG_MS = 3000;

test('arbitrary text: no crash, no hang; statements trimmed, non-empty, one line', async () => {
  await fc.assert(
    fc.asyncProperty(fuzzText, async (text) => {
      const { ms, result } = await sandbox.parseWithin(text, SHORT_MS, HANG_MS);
      assert.ok(ms < SHORT_MS, `${ms.toFixed(0)} ms for ${text.length} chars`);
      assertStatementsWellFormed(result);
    }),
    params(1000, 1500),
  );
});

test('header-like lines ("part a  cohort 2:  key ...") parse in linear time', async () => {
  await fc.assert(
    fc.asyncProperty(headerLike, fc.constantFrom('', '\n', '\n\n'), async (line, before) => {
      const { ms, result } = await sandbox.parseWithin(`Inclusion Criteria:\n\n-  item\n${before}${line}\n`, 100, HANG_MS);
      // Linear time is a few microseconds for these lines; 100 ms is 2^20 and more backtracking steps.
      assert.ok(ms < 100, `${ms.toFixed(0)} ms for a ${line.length}-char line`);
      assertStatementsWellFormed(result);
    }),
    // A hang is found on the first runs; shrinking a hang costs HANG_MS per step, so stop at the first failure.
    { ...params(400, 2500), endOnFailure: true },
  );
});

test('1,000,000-character inputs finish in under 2 s', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(fuzzText, headerLike).filter((t) => t.length > 0),
      fc.boolean(),
      async (chunk, oneLine) => {
        // Either the chunk's own line structure repeated, or one single 1 MB line (the worst case for per-line regexes).
        const piece = oneLine ? chunk.replace(/[\r\n\u2028\u2029]/g, ' ') + ' ' : chunk + '\n';
        const repeat = Math.ceil(1_000_000 / piece.length);
        const { ms, result } = await sandbox.parseWithin(piece, 2000, 10_000, repeat);
        assert.ok(ms < 2000, `${ms.toFixed(0)} ms for ${piece.length * repeat} chars`);
        assertStatementsWellFormed(result);
      },
    ),
    { ...params(6, 3000), endOnFailure: true },
  );
});

test('regression: lines that made the section-header regex backtrack exponentially now parse in linear time', async () => {
  // Found by the properties above. Before the fix, "part a    " x 14 took 4.4 s and "part a. " x 22 0.13 s (doubling
  // with each repeat): fast-check's counterexamples were "stage \t 1  stage \t 1  ..." (a run of spaces split
  // between \s* and \s+) and, after the first fix, "part a. part a. ..." (label "a." or label "a" plus ".").
  for (const line of ['part a    '.repeat(40) + 'x', 'stage \t 1  '.repeat(40), 'part a. '.repeat(40) + 'x', 'cohort b- '.repeat(40) + 'of age']) {
    const { ms, result } = await sandbox.parseWithin(`${line}\n`, 100, HANG_MS);
    assert.ok(ms < 100, `${ms.toFixed(0)} ms for ${JSON.stringify(line.slice(0, 20))}...`);
    assert.deepEqual(result, { inclusion: [line.replace(/\s+/g, ' ').trim()], exclusion: [] });
  }
  // Still headers: qualifiers ending in "." or "-", and "Cohort B.2:".
  for (const header of ['Part A. Inclusion Criteria:', 'Part B- Exclusion Criteria', 'Cohort B.2: Step 1 - Inclusion criteria:']) {
    const { result } = await sandbox.parse(`${header}\n\n-  adults\n`, HANG_MS);
    const section = /exclusion/i.test(header) ? 'exclusion' : 'inclusion';
    assert.deepEqual(result[section], ['adults'], header);
  }
});

// --- properties: generated bullet lists -----------------------------------------------------------------------

// Items are plain words: no word starts like a bullet or item number ("-", "*", "1.", "(a)", "iv."), none is
// "inclusion"/"exclusion" (a line starting with it may be a header), and no line is only "Word:" (a sub-header).
// Symbols that ClinicalTrials.gov escapes in Markdown (< > * _) occur inside items.
const word = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[a-z]{2,10}$/).filter((w) => !/inclusion|exclusion/.test(w)) },
  { weight: 1, arbitrary: fc.constantFrom('>=', '<=', '<', '>', '18', '1.5', '5*ULN', '(ECOG)', 'mg/m2', '50%', 'disease:', 'non_smoker', 'HbA1c', 'x') },
);
const item = fc
  .tuple(fc.stringMatching(/^[a-z]{2,10}$/).filter((w) => !/inclusion|exclusion/.test(w)), fc.array(word, { maxLength: 30 }), fc.boolean(), fc.boolean())
  .map(([first, rest, capital, period]) => {
    const head = capital ? first[0].toUpperCase() + first.slice(1) : first;
    return [head, ...rest].join(' ') + (period ? '.' : '');
  });
const sections = fc
  .record({ inclusion: fc.array(item, { maxLength: 6 }), exclusion: fc.array(item, { maxLength: 6 }) })
  .map((r): CriteriaStatements => ({ inclusion: r.inclusion, exclusion: r.exclusion })); // fc.record has a null prototype

/** Greedy word wrap as in ClinicalTrials.gov's legacy text: first line after "-  ", the rest indented deeper. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const w of text.split(' ')) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  return [...lines, line];
}

function legacyText(s: CriteriaStatements, width: number, blankBetween: boolean, eol: string): string {
  const block = (header: string, items: string[]) =>
    `        ${header}\n\n` +
    items.map((it) => '          -  ' + wrap(it, width).join('\n             ') + '\n').join(blankBetween ? '\n' : '') +
    '\n';
  return ('\n' + block('Inclusion Criteria:', s.inclusion) + block('Exclusion Criteria:', s.exclusion)).replace(/\n/g, eol);
}

/** API v2 Markdown: "* " bullets and backslash escapes of Markdown's special characters. */
function markdownText(s: CriteriaStatements, blankAfterHeader: boolean): string {
  const escape = (t: string) => t.replace(/[\\<>*_]/g, (c) => '\\' + c);
  const block = (header: string, items: string[]) =>
    `${header}\n${blankAfterHeader ? '\n' : ''}` + items.map((it) => `* ${escape(it)}\n`).join('') + '\n';
  return block('Inclusion Criteria:', s.inclusion) + block('Exclusion Criteria:', s.exclusion);
}

test('legacy TOP bullet lists ("          -  item", wrapped) come back as exactly the generated items', () => {
  fc.assert(
    fc.property(sections, fc.integer({ min: 30, max: 90 }), fc.boolean(), fc.constantFrom('\n', '\r\n'), (s, width, blank, eol) => {
      assert.deepEqual(parseCriteria(legacyText(s, width, blank, eol)), s);
    }),
    params(500, 1500),
  );
});

test('API v2 Markdown bullet lists ("* item", escapes) come back as exactly the generated items', () => {
  fc.assert(
    fc.property(sections, fc.boolean(), (s, blank) => {
      assert.deepEqual(parseCriteria(markdownText(s, blank)), s);
    }),
    params(500, 1500),
  );
});
