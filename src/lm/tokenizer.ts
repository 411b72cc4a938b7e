/**
 * Byte-level BPE tokenizer for the criteria language model, stored in the standard Hugging Face
 * `tokenizer.json` format (readable by the `tokenizers` library, transformers.js and Python `tokenizers`).
 *
 * Training uses the maintained `tokenizers` library (Hugging Face's Rust implementation, Node bindings). Its
 * Node API has no trainer options, so it learns up to its default 30k merges; BPE merges are learned in order
 * of frequency, so keeping the first `vocabSize - 256 - specials` merges gives exactly the tokenizer that
 * training with that vocabulary size would give. We then write the final file ourselves.
 *
 * Byte-level (GPT-2 style) means no unknown tokens: ≥, ≤, µ, ³ and any other symbol become byte tokens when
 * no merge covers them. Text is NFKC-normalised and lower-cased (the corpus is small: ~1.7 M words).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as hf from 'tokenizers';
import { writeFileAtomic } from '../runtime/atomic-write.ts';

export const SPECIAL_TOKENS = ['<pad>', '<s>', '</s>'] as const;
export const PAD_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;

export interface TrainTokenizerOptions {
  vocabSize: number;
}

interface HfTokenizerJson {
  model: { vocab: Record<string, number>; merges: (string | [string, string])[] };
}

/** Trains the tokenizer on `documents` and returns the tokenizer.json text. Deterministic for a given corpus. */
export function trainTokenizer(documents: string[], options: TrainTokenizerOptions): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cladmop-tok-'));
  try {
    const corpusFile = path.join(dir, 'corpus.txt');
    writeFileSync(corpusFile, documents.join('\n'));
    const trainer = new hf.Tokenizer(hf.BPE.empty());
    trainer.setNormalizer(hf.sequenceNormalizer([hf.nfkcNormalizer(), hf.lowercase()]));
    trainer.setPreTokenizer(hf.byteLevelPreTokenizer(true, true));
    trainer.train([corpusFile]);
    const trainedFile = path.join(dir, 'trained.json');
    trainer.save(trainedFile);
    const trained = JSON.parse(readFileSync(trainedFile, 'utf8')) as HfTokenizerJson;
    return JSON.stringify(buildTokenizerJson(trained.model.merges, options.vocabSize));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function buildTokenizerJson(mergesIn: (string | [string, string])[], vocabSize: number): object {
  const alphabet = [...hf.byteLevelAlphabet()].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const vocab: Record<string, number> = {};
  let next = 0;
  for (const special of SPECIAL_TOKENS) vocab[special] = next++;
  for (const ch of alphabet) vocab[ch] = next++;
  const merges: [string, string][] = [];
  for (const m of mergesIn) {
    if (next >= vocabSize) break;
    const [a, b] = typeof m === 'string' ? (m.split(' ') as [string, string]) : m;
    if (!(a in vocab) || !(b in vocab)) continue; // cannot happen for a prefix of a valid merge list
    const merged = a + b;
    if (merged in vocab) continue;
    vocab[merged] = next++;
    merges.push([a, b]);
  }
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Lowercase' }] },
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

/** A loaded tokenizer. `encode` never adds special tokens; callers add <s> / </s> where they want them. */
export class CriteriaTokenizer {
  private constructor(
    private readonly tok: hf.Tokenizer,
    readonly json: string,
  ) {}

  static fromJson(json: string): CriteriaTokenizer {
    return new CriteriaTokenizer(hf.Tokenizer.fromString(json), json);
  }

  static fromFile(file: string): CriteriaTokenizer {
    return CriteriaTokenizer.fromJson(readFileSync(file, 'utf8'));
  }

  get vocabSize(): number {
    return this.tok.getVocabSize(true);
  }

  async encode(text: string): Promise<number[]> {
    const enc = await this.tok.encode(text, null, { addSpecialTokens: false });
    return enc.getIds();
  }

  async encodeBatch(texts: string[]): Promise<number[][]> {
    if (texts.length === 0) return [];
    const encs = await this.tok.encodeBatch(texts, { addSpecialTokens: false });
    return encs.map((e) => e.getIds());
  }

  async tokens(text: string): Promise<string[]> {
    const enc = await this.tok.encode(text, null, { addSpecialTokens: false });
    return enc.getTokens();
  }

  async decode(ids: number[]): Promise<string> {
    return this.tok.decode(ids, true);
  }

  save(file: string): void {
    writeFileAtomic(file, this.json);
  }
}
