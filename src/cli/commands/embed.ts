/**
 * `cladmop embed`: fills the embedding cache with the criteria encoder's level outputs for a phase's trials.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliError } from '../cli-error.ts';
import { loadSplit, PHASES, SPLITS, resolveDataDir } from '../../data/splits.ts';
import type { BenchmarkPhase } from '../../data/trial.ts';
import { encodeWithCache } from '../../features/criteria-encoder.ts';
import { EmbeddingCache } from '../../features/embedding-cache.ts';
import { defaultCacheDir, loadEncoder } from '../../features/encoder-spec.ts';
import { progressBar } from '../progress.ts';

export function parseShard(text: string | undefined): { index: number; count: number } {
  if (!text) return { index: 0, count: 1 };
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 0 || index >= count) throw new CliError(`--shard must be i/n with 0 <= i < n, got "${text}"`);
  return { index, count };
}

function readTextList(file: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`--texts ${file}: not a readable JSON file (${(err as Error).message})`);
  }
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new CliError(`--texts ${file}: expected a JSON array of strings`);
  return value as string[];
}

export function register(program: Command): void {
  program
    .command('embed')
    .description('encode the criteria of a phase (train, valid, test) with the frozen criteria encoder into the on-disk cache')
    .option('--phase <phase>', 'I, II, III or all', 'I')
    .option('--encoder <spec>', 'lm (shipped), lm:DIR, or onnx:DIR (a local Hugging Face ONNX export)', 'lm')
    .option('--layers <list>', 'three comma-separated layer indices for coarse,medium,fine')
    .option('--device <name>', 'onnxruntime device for onnx: encoders (cpu, cuda)', 'cpu')
    .option('--cache <dir>', 'cache directory (default: $CLADMOP_CACHE, else .cache/embeddings in a checkout, ~/.cache/cladmop/embeddings installed)')
    .option('--data <dir>', 'TOP data directory')
    .option('--shard <i/n>', 'encode only shard i of n (several machines can fill one shared cache)')
    .option('--texts <file>', 'encode the criteria texts of a JSON array file instead of a phase (used by reproduce)')
    .option('--json', 'machine-readable summary')
    .addHelpText(
      'after',
      `
Examples:
  $ cladmop embed --phase I
  $ cladmop embed --phase all --shard 0/2        # on machine A; --shard 1/2 on machine B, same --cache
  $ cladmop lm export-onnx --out criteria-lm-onnx && cladmop embed --phase I --encoder onnx:criteria-lm-onnx --layers 2,4,6

--encoder onnx:DIR reads any local Hugging Face-style ONNX export, e.g. of BioGPT (onnx:./biogpt-onnx, --layers 6,12,18)
where such weights are available.`,
    )
    .action(async (opts: { phase: string; encoder: string; layers?: string; device: string; cache?: string; data?: string; shard?: string; texts?: string; json?: boolean }) => {
      const phases = opts.phase === 'all' ? [...PHASES] : [opts.phase.toUpperCase() as BenchmarkPhase];
      if (phases.some((p) => !PHASES.includes(p))) throw new CliError(`--phase must be I, II, III or all, got "${opts.phase}"`);
      const shard = parseShard(opts.shard);
      const layers = opts.layers ? opts.layers.split(',').map((s) => parseInt(s, 10)) : undefined;
      if (layers && (layers.length !== 3 || layers.some((l) => !Number.isInteger(l)))) throw new CliError(`--layers must be three integers, got "${opts.layers}"`);
      const dataDir = resolveDataDir(opts.data);
      const texts: string[] = opts.texts ? readTextList(opts.texts) : [];
      const seen = new Set<string>();
      for (const phase of opts.texts ? [] : phases) {
        for (const split of SPLITS) {
          for (const row of loadSplit(phase, split, dataDir).rows) {
            if (seen.has(row.trial.nctid)) continue;
            seen.add(row.trial.nctid);
            texts.push(row.trial.criteria);
          }
        }
      }
      const mine = texts.filter((_, i) => i % shard.count === shard.index);
      const encoder = await loadEncoder(opts.encoder, { layers, device: opts.device });
      const cache = new EmbeddingCache(opts.cache ?? defaultCacheDir(), encoder.id);
      const started = Date.now();
      const bar = progressBar(`embed phase ${opts.phase}`, mine.length);
      const { computed } = await encodeWithCache(encoder, cache, mine, (done) => bar.update(done));
      bar.stop();
      const size = cache.size();
      const summary = {
        phase: opts.phase,
        encoder: encoder.name,
        encoderId: encoder.id,
        trials: mine.length,
        shard: `${shard.index}/${shard.count}`,
        computed,
        fromCache: mine.length - computed,
        seconds: (Date.now() - started) / 1000,
        cacheDir: cache.dir,
        cacheEntries: size.entries,
        cacheBytes: size.bytes,
      };
      if (opts.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
      else
        process.stdout.write(
          `${summary.trials} trials (shard ${summary.shard}): ${computed} encoded, ${summary.fromCache} from cache in ${summary.seconds.toFixed(1)} s\n` +
            `encoder: ${encoder.name}\ncache: ${cache.dir} (${size.entries} entries, ${(size.bytes / 1e6).toFixed(1)} MB)\n`,
        );
    });
}
