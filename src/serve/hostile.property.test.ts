/**
 * A small property-based fuzz (fast-check) of the record parsers behind `predict` and the HTTP service (issue 16):
 *
 *  - CSV: valid TOP rows with one row damaged at the CSV level (a quote opened, a byte dropped or inserted, a NUL,
 *    a line cut): never a crash; every other row comes back unchanged; the row after the damaged one comes back
 *    or an error starting at or before it names the lines lost.
 *  - NDJSON: valid records with one line damaged: every other line's record is read.
 *  - HTTP: random JSON values and random edits of valid bodies never get a 5xx; a batch with one random record
 *    scores every valid one.
 *
 * Bounded: ~100 runs per property, small inputs. Reproduce a failure with FC_SEED=<seed>.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { parseTopCsv } from '../data/top-csv.ts';
import { resolveDataDir } from '../data/splits.ts';
import { readInputFile } from '../predict/inputs.ts';
import { useTinyApp } from './testing/tiny-app.ts';

const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
const params = (numRuns: number) => ({ seed, numRuns, plugins: [fc.interruptAfterTimeLimit(20_000)] });
const dataDir = resolveDataDir();
const tiny = useTinyApp('cladmop-fuzz-');
const { dir } = tiny;

// --- valid records ----------------------------------------------------------------------------------------------

const word = fc.stringMatching(/^[a-z][a-z0-9 -]{0,12}$/).map((s) => s.trim() || 'x');
const criteriaLine = fc.stringMatching(/^[A-Za-z0-9 ,.;:()%<>=+-]{1,40}$/);
interface Row {
  nctid: string;
  diseases: string[];
  drugs: string[];
  criteria: string;
}
const rowsArb = fc
  .record({
    n: fc.integer({ min: 3, max: 8 }),
    diseases: fc.array(fc.array(word, { maxLength: 3 }), { minLength: 8, maxLength: 8 }),
    drugs: fc.array(fc.array(word, { maxLength: 3 }), { minLength: 8, maxLength: 8 }),
    criteria: fc.array(fc.array(criteriaLine, { minLength: 1, maxLength: 4 }), { minLength: 8, maxLength: 8 }),
  })
  .map(({ n, diseases, drugs, criteria }) =>
    Array.from({ length: n }, (_, i): Row => ({
      nctid: `NCT${String(10000000 + i * 7919).padStart(8, '0')}`,
      diseases: diseases[i],
      drugs: drugs[i],
      criteria: `Inclusion Criteria:\n${criteria[i].map((l) => `- ${l}`).join('\n')}`,
    })),
  );

const pyList = (xs: string[]) => `[${xs.map((x) => `'${x}'`).join(', ')}]`;
const csvCell = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
const HEADER = 'nctid,status,why_stop,label,phase,diseases,icdcodes,drugs,smiless,criteria\n';
const csvRow = (r: Row) => [r.nctid, 'completed', '', '1', 'phase 1', pyList(r.diseases), '[]', pyList(r.drugs), '[]', r.criteria].map(csvCell).join(',') + '\n';

/** A damage to one row's text at a relative position. */
const damageArb = fc.record({
  kind: fc.constantFrom('open-quote', 'drop-char', 'insert-quote', 'insert-nul', 'insert-comma', 'cut-line', 'insert-bytes'),
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  bytes: fc.string({ maxLength: 4 }),
});
function damage(text: string, d: { kind: string; at: number; bytes: string }): string {
  const i = Math.min(text.length - 1, Math.floor(d.at * text.length));
  switch (d.kind) {
    case 'open-quote':
      return `${text.slice(0, i)},"${text.slice(i)}`;
    case 'drop-char':
      return text.slice(0, i) + text.slice(i + 1);
    case 'insert-quote':
      return `${text.slice(0, i)}"${text.slice(i)}`;
    case 'insert-nul':
      return `${text.slice(0, i)}\u0000${text.slice(i)}`;
    case 'insert-comma':
      return `${text.slice(0, i)},${text.slice(i)}`;
    case 'cut-line':
      return `${text.slice(0, i)}\n${text.slice(i)}`;
    default:
      return text.slice(0, i) + d.bytes + text.slice(i);
  }
}

test('CSV: one damaged row never crashes the reader and never costs another row silently', () => {
  fc.assert(
    fc.property(rowsArb, fc.nat(), damageArb, (rows, pick, d) => {
      const k = pick % rows.length;
      const texts = rows.map(csvRow);
      texts[k] = damage(texts[k].slice(0, -1), d) + '\n';
      const text = HEADER + texts.join('');
      // Start line of each row in the damaged file.
      const starts: number[] = [];
      let line = 2;
      for (const t of texts) {
        starts.push(line);
        line += (t.match(/\r\n|\r|\n/g) ?? []).length;
      }
      const r = parseTopCsv(text, 'fuzz.csv');
      const byId = new Map(r.rows.map((x) => [x.trial.nctid, x.trial]));
      rows.forEach((row, i) => {
        if (i === k) return;
        const got = byId.get(row.nctid);
        if (i === k + 1 && !got) {
          // The neighbour may be swallowed by the damaged row: then an error must start at or before it.
          assert.ok(
            r.errors.some((e) => e.line >= starts[k] && e.line <= starts[i]),
            `row ${i + 1} (line ${starts[i]}) lost without an error naming it: ${JSON.stringify(r.errors)}`,
          );
          return;
        }
        assert.ok(got, `row ${i + 1} (${row.nctid}, line ${starts[i]}) lost; damage ${JSON.stringify(d)} in row ${k + 1}; errors ${JSON.stringify(r.errors)}`);
        assert.deepEqual(got!.drugs, row.drugs);
        assert.equal(got!.criteria, row.criteria);
      });
      for (const e of r.errors) assert.ok(e.file === 'fuzz.csv' && e.line >= 1 && e.field.length > 0, JSON.stringify(e));
    }),
    params(150),
  );
});

test('NDJSON: one damaged line costs only that line', async () => {
  await fc.assert(
    fc.asyncProperty(rowsArb, fc.nat(), damageArb, async (rows, pick, d) => {
      const k = pick % rows.length;
      const lines = rows.map((r) => JSON.stringify({ nctid: r.nctid, phase: 'phase 1', diseases: r.diseases, drugs: r.drugs, criteria: r.criteria }));
      lines[k] = damage(lines[k], { ...d, kind: d.kind === 'cut-line' ? 'drop-char' : d.kind });
      const file = path.join(dir, 'fuzz.ndjson');
      writeFileSync(file, lines.join('\n') + '\n');
      const ids: string[] = [];
      for await (const item of readInputFile(file, { dataDir })) if (item.input) ids.push(item.input.trial.nctid);
      for (const [i, row] of rows.entries()) if (i !== k) assert.ok(ids.includes(row.nctid), `line ${i + 1} lost`);
    }),
    params(60),
  );
});

test('HTTP: random JSON bodies and random edits of valid ones never get a 5xx', async () => {
  const valid = JSON.stringify({ nctid: 'NCT00000001', phase: 'phase 1', drugs: ['aspirin'], diseases: ['asthma'], criteria: 'Inclusion Criteria:\n- adults' });
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
        damageArb.map((d) => damage(valid, d)),
        fc.record({ field: fc.constantFrom('nctid', 'phase', 'drugs', 'diseases', 'icdcodes', 'smiless', 'criteria', '__proto__', 'constructor'), value: fc.jsonValue({ maxDepth: 3 }) }).map(({ field, value }) => {
          const o = JSON.parse(valid);
          o[field] = value;
          return JSON.stringify(o).replace('"__proto__"', '"__proto__"');
        }),
      ),
      fc.constantFrom('/v1/predict', '/v1/predict?explain=true', '/v1/predict/batch'),
      async (body, url) => {
        const r = await tiny.app.inject({ method: 'POST', url, payload: body, headers: { 'content-type': 'application/json' } });
        assert.ok(r.statusCode < 500, `${r.statusCode} for ${url} ${body.slice(0, 200)}: ${r.payload.slice(0, 300)}`);
        assert.doesNotThrow(() => JSON.parse(r.payload));
      },
    ),
    params(150),
  );
});

test('HTTP batch: one random record beside valid ones never costs a valid one', async () => {
  const validRecord = (i: number) => ({ nctid: `NCT0000000${i}`, phase: 'phase 1', drugs: ['aspirin'], criteria: 'Inclusion Criteria:\n- adults' });
  await fc.assert(
    fc.asyncProperty(fc.jsonValue({ maxDepth: 3 }), fc.integer({ min: 0, max: 3 }), async (junk, at) => {
      const records: unknown[] = [1, 2, 3].map(validRecord);
      records.splice(at, 0, junk);
      const r = await tiny.app.inject({ method: 'POST', url: '/v1/predict/batch', payload: { records }, headers: { 'content-type': 'application/json' } });
      assert.equal(r.statusCode, 200, r.payload.slice(0, 300));
      const predictions = r.json().predictions as { nctid?: string; status: string }[];
      assert.equal(predictions.length, 4);
      for (const [i, p] of predictions.entries()) if (i !== at) assert.equal(p.status, 'ok', JSON.stringify(p));
    }),
    params(80),
  );
});
