import { test } from 'node:test';
import assert from 'node:assert/strict';
import { averagePrecision, rocAuc } from '../eval/metrics/index.ts';
import { parseCcsr } from './ccsr.ts';
import { groupTable, type GroupedTrial } from './groups.ts';
import { icdChapterOf } from './icd-chapters.ts';

test('ICD-10-CM chapters by category range, in dotted or bare form', () => {
  const chapter = (code: string) => icdChapterOf(code)?.id;
  assert.equal(chapter('C50.9'), 'II');
  assert.equal(chapter('D49.6'), 'II'); // neoplasms end at D49 in ICD-10-CM
  assert.equal(chapter('D50'), 'III');
  assert.equal(chapter('e119'), 'IV');
  assert.equal(chapter('H59.9'), 'VII');
  assert.equal(chapter('H60'), 'VIII');
  assert.equal(chapter('O9A.11'), 'XV'); // 'A' sorts after '9'
  assert.equal(chapter('T88.7'), 'XIX');
  assert.equal(chapter('W19'), 'XX');
  assert.equal(chapter('U07.1'), 'XXII');
  assert.equal(chapter('Z99.2'), 'XXI');
  assert.equal(chapter('K96'), undefined); // no chapter covers K96-K99
  assert.equal(chapter('12'), undefined);
});

test('CCSR body systems: exact codes, then an unambiguous listed prefix', () => {
  const table = parseCcsr(['A150\tINF', 'C509\tNEO', 'C5011\tNEO', 'K7400\tDIG', 'K7401\tDIG', 'Z111\tFAC', 'Z112\tINF', ''].join('\n'));
  assert.equal(table.size, 7);
  assert.equal(table.bodySystemOf('C50.9'), 'NEO');
  assert.equal(table.bodySystemOf('C50'), 'NEO'); // a category: all listed codes below it agree
  assert.equal(table.bodySystemOf('K74.02'), 'DIG'); // newer code: its parent K740 is unambiguous
  assert.equal(table.bodySystemOf('Z11'), undefined); // FAC and INF below Z11: no guess
  assert.equal(table.bodySystemOf('Q99.9'), undefined);
  assert.throws(() => parseCcsr('A150 INF\n'), /line 1 is not/);
});

function trial(nctid: string, label: number, probability: number, icdcodes: string[][]): GroupedTrial {
  return { nctid, label, probability, icdcodes };
}

test('groups by the first code of each disease, with the metrics of each group', () => {
  const trials: GroupedTrial[] = [];
  // 4 neoplasm trials (2 successes), one of which also has a circulatory disease.
  trials.push(trial('N1', 1, 0.9, [['C50.9', 'Z12.31']]));
  trials.push(trial('N2', 0, 0.4, [['C61']]));
  trials.push(trial('N3', 1, 0.6, [['C34.90'], ['I10']]));
  trials.push(trial('N4', 0, 0.7, [['D49.6', 'E11.9']]));
  // 2 circulatory-only trials, both successes: ranking metrics undefined for the group.
  trials.push(trial('C1', 1, 0.8, [['I25.10']]));
  // A trial whose codes are malformed: ungrouped.
  trials.push(trial('X1', 0, 0.2, [['??']]));
  const table = groupTable(trials, { groupOf: (c) => icdChapterOf(c)?.id, titleOf: (k) => `chapter ${k}`, minSize: 2 });
  assert.equal(table.ungrouped, 1);
  assert.deepEqual(table.rows.map((r) => [r.key, r.n, r.positives]), [['II', 4, 2], ['IX', 2, 2]]);
  const neo = table.rows[0];
  const y = [1, 0, 1, 0];
  const p = [0.9, 0.4, 0.6, 0.7];
  assert.equal(neo.prAuc, averagePrecision(y, p));
  assert.equal(neo.rocAuc, rocAuc(y, p));
  assert.equal(neo.accuracy, 3 / 4); // predicted [1,0,1,1] against [1,0,1,0]
  assert.equal(neo.title, 'chapter II');
  assert.equal(table.rows[1].prAuc, null);
  assert.equal(table.rows[1].rocAuc, null);
  // The secondary codes Z12.31 and E11.9 count only with codes: 'all'; small groups are counted, not shown.
  const all = groupTable(trials, { groupOf: (c) => icdChapterOf(c)?.id, titleOf: (k) => k, codes: 'all', minSize: 2 });
  assert.deepEqual(all.rows.map((r) => r.key), ['II', 'IX']);
  assert.equal(all.smallGroups, 2); // XXI and IV with one trial each
  assert.equal(groupTable(trials, { groupOf: (c) => icdChapterOf(c)?.id, titleOf: (k) => k }).rows.length, 0); // default minSize 20
});
