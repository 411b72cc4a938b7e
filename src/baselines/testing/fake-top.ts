/**
 * Test support: writes a tiny synthetic phase I benchmark in TOP's CSV format, so the baseline pipeline and
 * its CLI can be exercised end to end in well under a second without the real data.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRng } from '../../eval/rng.ts';

/**
 * A tiny phase I benchmark in TOP's CSV format. Successful trials tend to use "goodmab" and mention
 * "responsive"; failed ones "badnib" and "refractory"; every trial also carries filler words and one of two
 * ICD codes at random, and 15% of the labels are flipped.
 */
export function writeFakeTop(dir: string, seed: number): void {
  const rng = createRng(seed);
  const header = 'nctid,status,why_stop,label,phase,diseases,icdcodes,drugs,smiless,criteria';
  const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
  let id = 1;
  const sizes = { train: 90, valid: 30, test: 60 } as const;
  for (const [split, n] of Object.entries(sizes)) {
    const lines = [header];
    for (let i = 0; i < n; i++) {
      const truth = rng() < 0.55 ? 1 : 0;
      const label = rng() < 0.15 ? 1 - truth : truth;
      const drug = rng() < 0.7 ? (truth ? 'goodmab' : 'badnib') : 'placebo';
      const word = rng() < 0.6 ? (truth ? 'responsive disease' : 'refractory disease') : 'measurable disease';
      const filler = ['adequate organ function', 'signed consent', 'life expectancy weeks'][Math.floor(rng() * 3)];
      const icd = rng() < 0.5 ? 'C50.911' : 'C34.90';
      const criteria = `Inclusion Criteria:\n\n  -  ${word}\n\n  -  ${filler}\n\nExclusion Criteria:\n\n  -  pregnancy\n`;
      lines.push(
        [
          `NCT${String(id++).padStart(8, '0')}`,
          'completed', // status is in the file, as in TOP, and must never be read
          '',
          String(label),
          'phase 1',
          q("['cancer']"),
          q(`["['${icd}']"]`),
          q(`['${drug}']`),
          q("['C']"),
          q(criteria),
        ].join(','),
      );
    }
    writeFileSync(path.join(dir, `phase_I_${split}.csv`), `${lines.join('\n')}\n`);
  }
}

