/**
 * Saved-model bundle: a directory with a versioned `config.json`, the weights in safetensors, the ICD vocabulary
 * the disease embeddings are indexed by and, when the model has one, its lexical level (`lexical.json`, see
 * model/lexical.ts). Loading checks the schema version and every file's sha256 and never executes anything from
 * the bundle.
 *
 * Schema 2 holds an ensemble: the frozen pre-trained base once (`base.*`) and, per member (fine-tuning seed),
 * its LoRA adapters and head (`members.<i>.lora.*`, `members.<i>.head.*`); a prediction averages the members'
 * probabilities, exactly as the reported ensemble does. Schema 1 (one model: `base.*` + `lora.*`) is still read.
 */
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { sha256Hex } from '../runtime/hash.ts';
import { writeFileAtomic } from '../runtime/atomic-write.ts';
import { decodeSafetensors, readSafetensors, writeSafetensors, type Tensor } from '../runtime/safetensors.ts';
import { tree } from '@jax-js/jax';
import { namedLeaves, treeFromTensors, treeToTensors } from '../runtime/param-tree.ts';
import { initCladmop, initLoraParams, type CladmopConfig, type CladmopLora, type CladmopParams } from './cladmop.ts';
import type { LexicalState } from './lexical.ts';
import type { RandomForestModel } from '../baselines/random-forest.ts';
import { ForestLevel, forestFromTensors, forestToTensors, type ForestTextState } from './forest-level.ts';
import { SINGLE_MODEL, type OnnxMemberNames } from './onnx-export.ts';

export const BUNDLE_FORMAT = 'cladmop-model';
export const BUNDLE_SCHEMA_VERSION = 2;
/** Schema versions this code reads. */
const READABLE_SCHEMAS = [1, 2];

/** One ensemble member as config.json describes it. */
export interface BundleMember {
  seed: number;
  bestEpoch?: number;
  validPrAuc?: number;
}

export interface BundleConfig {
  format: typeof BUNDLE_FORMAT;
  schemaVersion: number;
  /**
   * Schema 2: 'cladmop' (default; weights.safetensors) or 'tfidf-lr', the TF-IDF + logistic-regression baseline
   * as a model (lexical.json alone, no network weights), so `predict`, `serve` and `evaluate` can use it too.
   */
  kind?: 'cladmop' | 'tfidf-lr' | 'tfidf-rf';
  /** A tfidf-rf bundle: the forest's settings (its trees are in forest.safetensors, its vectoriser in tfidf.json). */
  forest?: Omit<RandomForestModel, 'trees' | 'kind'>;
  /** The network (absent in a tfidf-lr bundle). */
  architecture: CladmopConfig;
  /** Criteria encoder the model was trained on (its outputs are the model's input). */
  encoder: { spec: string; id: string; name: string };
  phase: string;
  dmFeatures: { moleculeSource: 'top' | 'names'; nameBuckets: number };
  maxCriteria: number;
  training: Record<string, unknown>;
  metrics: Record<string, unknown>;
  codeVersion: string;
  createdAt: string;
  files: Record<string, { sha256: string; bytes: number }>;
  /** Optional probability calibration fitted on valid (see eval/calibration). */
  calibration?: Record<string, unknown>;
  /** Schema 2: the ensemble members, in tensor order (`members.<i>.*`). */
  members?: BundleMember[];
  /**
   * [ours] What the deep part reads: 'all' (default) or 'criteria' (its drugs, molecules and diseases are blanked;
   * the lexical level still reads them).
   */
  deepInputs?: 'all' | 'criteria';
  /** [ours] Schema 2: the lexical level, stored in lexical.json, when the model has one. */
  lexical?: { file: 'lexical.json'; C: number; vocabularySize: number };
}

export class BundleError extends Error {}


export interface SaveBundleInput {
  dir: string;
  /** The frozen base (its head is not read when `members` are given). */
  params: CladmopParams;
  /** One model: its adapters (the head is `params.head`). Ignored when `members` are given. */
  lora?: CladmopLora;
  /** An ensemble: each member's adapters and head (borrowed, not consumed). */
  members?: { lora: CladmopLora; head: CladmopParams['head']; info: BundleMember }[];
  lexical?: LexicalState;
  icdVocabulary: string[];
  config: Omit<BundleConfig, 'format' | 'schemaVersion' | 'files' | 'createdAt' | 'members' | 'lexical'>;
}

export async function saveBundle(input: SaveBundleInput): Promise<BundleConfig> {
  mkdirSync(input.dir, { recursive: true });
  const weightsFile = path.join(input.dir, 'weights.safetensors');
  const members = input.members ?? (input.lora ? [{ lora: input.lora, head: input.params.head, info: { seed: 0 } }] : []);
  if (members.length === 0) throw new Error('saveBundle: no model to save (give lora or members)');
  const { head: _head, ...base } = input.params;
  // The base's own head slot holds member 0's head, so the base is a complete CladmopParams tree.
  let tensors: Record<string, Tensor> = await treeToTensors({ ...base, head: members[0].head }, 'base');
  for (const [i, m] of members.entries()) {
    tensors = { ...tensors, ...(await treeToTensors(m.lora, `members.${i}.lora`)), ...(await treeToTensors(m.head, `members.${i}.head`)) };
  }
  writeSafetensors(weightsFile, tensors, { format: `${BUNDLE_FORMAT}-v${BUNDLE_SCHEMA_VERSION}` });
  const vocabFile = path.join(input.dir, 'icd_vocabulary.json');
  writeFileAtomic(vocabFile, JSON.stringify(input.icdVocabulary));
  const written = [weightsFile, vocabFile];
  if (input.lexical) {
    const lexicalFile = path.join(input.dir, 'lexical.json');
    writeFileAtomic(lexicalFile, JSON.stringify(input.lexical));
    written.push(lexicalFile);
  }
  const files: BundleConfig['files'] = {};
  for (const f of written) {
    const bytes = readFileSync(f);
    files[path.basename(f)] = { sha256: sha256Hex(bytes), bytes: bytes.length };
  }
  const config: BundleConfig = {
    format: BUNDLE_FORMAT,
    schemaVersion: BUNDLE_SCHEMA_VERSION,
    ...input.config,
    members: members.map((m) => m.info),
    ...(input.lexical ? { lexical: { file: 'lexical.json' as const, C: input.lexical.C, vocabularySize: input.lexical.weights.length } } : {}),
    createdAt: new Date().toISOString(),
    files,
  };
  writeFileAtomic(path.join(input.dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  return config;
}

export interface LoadedBundle {
  dir: string;
  config: BundleConfig;
  /** Member 0's complete model (base with its head, and its adapters); null for a tfidf-lr bundle. */
  params: CladmopParams | null;
  lora: CladmopLora | null;
  icdVocabulary: string[];
  /** Member 0's weights as `base.*` + `lora.*` (the names the ONNX export reads), checked against the architecture. */
  tensors: Record<string, Tensor>;
  /** Every member's weights as `base.*` + `lora.*` (member 0 first; the base arrays are shared, not copied). */
  members: { info: BundleMember; tensors: Record<string, Tensor> }[];
  /** The weights as stored, with each member's adapter and head prefixes (for one ONNX graph of the ensemble). */
  onnx: { tensors: Record<string, Tensor>; members: OnnxMemberNames[] };
  /** The lexical level's state (lexical.json), when the model has one. */
  lexical: LexicalState | null;
  /** A tfidf-rf bundle's forest and vectoriser. */
  forest: ForestLevel | null;
}

/** A member's weights under the single-model names: the shared base with the member's head, and its adapters as lora.*. */
function memberTensors(all: Record<string, Tensor>, i: number): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  const prefix = `members.${i}.`;
  for (const [name, t] of Object.entries(all)) {
    if (name.startsWith('base.') && !name.startsWith('base.head.')) out[name] = t;
    else if (name.startsWith(`${prefix}lora.`)) out[name.slice(prefix.length)] = t;
    else if (name.startsWith(`${prefix}head.`)) out[`base.${name.slice(prefix.length)}`] = t;
  }
  return out;
}

export interface SaveLexicalBundleInput {
  dir: string;
  lexical: LexicalState;
  icdVocabulary: string[];
  config: Omit<BundleConfig, 'format' | 'schemaVersion' | 'files' | 'createdAt' | 'members' | 'lexical' | 'kind' | 'architecture'>;
}

/** Saves the TF-IDF + logistic-regression baseline as a model bundle (kind 'tfidf-lr'). */
export function saveLexicalBundle(input: SaveLexicalBundleInput): BundleConfig {
  mkdirSync(input.dir, { recursive: true });
  const files: BundleConfig['files'] = {};
  for (const [name, text] of [['lexical.json', JSON.stringify(input.lexical)], ['icd_vocabulary.json', JSON.stringify(input.icdVocabulary)]] as const) {
    writeFileAtomic(path.join(input.dir, name), text);
    const bytes = Buffer.from(text);
    files[name] = { sha256: sha256Hex(bytes), bytes: bytes.length };
  }
  const config = {
    format: BUNDLE_FORMAT,
    schemaVersion: BUNDLE_SCHEMA_VERSION,
    kind: 'tfidf-lr',
    ...input.config,
    lexical: { file: 'lexical.json', C: input.lexical.C, vocabularySize: input.lexical.weights.length },
    createdAt: new Date().toISOString(),
    files,
  } as BundleConfig;
  writeFileAtomic(path.join(input.dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  return config;
}

/** config.json at most this large (a real one is ~2 KB). */
export const MAX_BUNDLE_CONFIG_BYTES = 1024 * 1024;
/** A file a bundle lists, at most this large (weights are ~15 MB). */
export const MAX_BUNDLE_FILE_BYTES = 1024 * 1024 * 1024;

/**
 * The bytes of a file a bundle's config.json lists, read only once it is known to be a regular file inside the
 * bundle directory whose size is the one recorded (and at most `maxBytes`). Why: an entry
 * "../../../../etc/passwd" was read (and its hash prefix printed), an entry or a symlink naming /dev/zero read
 * gigabytes, a FIFO entry hung the load (issue 16). Exported for every bundle layout to use.
 */
export function readBundleFile(dir: string, name: unknown, expectedBytes: number | undefined, maxBytes = MAX_BUNDLE_FILE_BYTES): Buffer {
  const shown = JSON.stringify(String(name)).slice(0, 120);
  if (typeof name !== 'string' || name === '' || path.isAbsolute(name) || name.split(/[\\/]/).includes('..') || name.includes('\0')) {
    throw new BundleError(`${dir}: config.json lists the file ${shown}, which is not a plain name inside the bundle directory`);
  }
  let real: string;
  let realDir: string;
  try {
    realDir = realpathSync(dir);
    real = realpathSync(path.join(dir, name));
  } catch {
    throw new BundleError(`${dir}: ${name} is missing`);
  }
  if (!real.startsWith(realDir + path.sep)) throw new BundleError(`${dir}: ${name} resolves outside the bundle directory (a link?); refused`);
  const st = statSync(real);
  if (!st.isFile()) throw new BundleError(`${dir}: ${name} is not a regular file; refused`);
  if (st.size > maxBytes) throw new BundleError(`${dir}: ${name} has ${st.size} bytes, more than the ${maxBytes} a bundle file may have`);
  if (expectedBytes !== undefined && st.size !== expectedBytes) {
    throw new BundleError(`${dir}: ${name} is corrupted or was changed (${st.size} bytes, config.json says ${expectedBytes})`);
  }
  // Read what was checked: the file may not grow between the stat and the read.
  const fd = openSync(real, 'r');
  try {
    const size = Math.min(fstatSync(fd).size, maxBytes);
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

export interface SaveForestBundleInput {
  dir: string;
  forest: RandomForestModel;
  text: ForestTextState;
  icdVocabulary: string[];
  config: SaveLexicalBundleInput['config'];
}

/** Saves the TF-IDF + random-forest baseline as a model bundle (kind 'tfidf-rf'). */
export function saveForestBundle(input: SaveForestBundleInput): BundleConfig {
  mkdirSync(input.dir, { recursive: true });
  const forestFile = path.join(input.dir, 'forest.safetensors');
  writeSafetensors(forestFile, forestToTensors(input.forest), { format: `${BUNDLE_FORMAT}-v${BUNDLE_SCHEMA_VERSION}-forest` });
  writeFileAtomic(path.join(input.dir, 'tfidf.json'), JSON.stringify(input.text));
  writeFileAtomic(path.join(input.dir, 'icd_vocabulary.json'), JSON.stringify(input.icdVocabulary));
  const files: BundleConfig['files'] = {};
  for (const name of ['forest.safetensors', 'tfidf.json', 'icd_vocabulary.json']) {
    const bytes = readFileSync(path.join(input.dir, name));
    files[name] = { sha256: sha256Hex(bytes), bytes: bytes.length };
  }
  const { trees: _trees, kind: _kind, ...forest } = input.forest;
  const config = {
    format: BUNDLE_FORMAT,
    schemaVersion: BUNDLE_SCHEMA_VERSION,
    kind: 'tfidf-rf',
    ...input.config,
    forest,
    createdAt: new Date().toISOString(),
    files,
  } as BundleConfig;
  writeFileAtomic(path.join(input.dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  return config;
}

function loadForestBundle(dir: string, config: BundleConfig, contents: Map<string, Buffer>): LoadedBundle {
  const configFile = path.join(dir, 'config.json');
  for (const name of ['forest.safetensors', 'tfidf.json', 'icd_vocabulary.json']) {
    if (!contents.has(name)) throw new BundleError(`${configFile}: a tfidf-rf bundle must list ${name} in files`);
  }
  if (!config.forest) throw new BundleError(`${configFile}: a tfidf-rf bundle needs a forest entry`);
  try {
    const icdVocabulary = JSON.parse(contents.get('icd_vocabulary.json')!.toString('utf8')) as string[];
    const text = JSON.parse(contents.get('tfidf.json')!.toString('utf8')) as ForestTextState;
    const { tensors } = decodeSafetensors(contents.get('forest.safetensors')!, 'forest.safetensors');
    const forest = new ForestLevel(forestFromTensors(tensors, { kind: 'random-forest', ...config.forest }), text);
    return { dir, config, params: null, lora: null, icdVocabulary, tensors: {}, members: [], onnx: { tensors: {}, members: [] }, lexical: null, forest };
  } catch (err) {
    throw new BundleError(`${dir}: ${(err as Error).message}`);
  }
}

/** Reads and checks a bundle; throws BundleError saying what is wrong. */
export function loadBundle(dir: string): LoadedBundle {
  const configFile = path.join(dir, 'config.json');
  if (!existsSync(configFile)) throw new BundleError(`${dir} is not a cladmop model bundle: config.json is missing`);
  let config: BundleConfig;
  const configBytes = readBundleFile(dir, 'config.json', undefined, MAX_BUNDLE_CONFIG_BYTES);
  try {
    config = JSON.parse(configBytes.toString('utf8')) as BundleConfig;
  } catch (err) {
    throw new BundleError(`${configFile} is not valid JSON (${(err as Error).message})`);
  }
  if (config.format !== BUNDLE_FORMAT) throw new BundleError(`${configFile}: format is ${JSON.stringify(config.format)}, expected "${BUNDLE_FORMAT}"`);
  if (!READABLE_SCHEMAS.includes(config.schemaVersion)) {
    throw new BundleError(`${configFile}: schema version ${config.schemaVersion} is not supported (this cladmop reads versions ${READABLE_SCHEMAS.join(' and ')})`);
  }
  if (typeof config.files !== 'object' || config.files === null || Array.isArray(config.files)) throw new BundleError(`${configFile}: "files" must be an object of file name -> { sha256, bytes }`);
  const contents = new Map<string, Buffer>();
  for (const [name, expected] of Object.entries(config.files)) {
    const bytes = readBundleFile(dir, name, typeof expected?.bytes === 'number' ? expected.bytes : undefined);
    contents.set(name, bytes);
    const got = sha256Hex(bytes);
    if (got !== expected?.sha256) throw new BundleError(`${dir}: ${name} is corrupted or was changed (sha256 ${got.slice(0, 12)}…, config.json says ${String(expected?.sha256).slice(0, 12)}…)`);
  }
  const lexicalOnly = config.kind === 'tfidf-lr';
  if (config.kind === 'tfidf-rf') return loadForestBundle(dir, config, contents);
  if (config.kind !== undefined && config.kind !== 'cladmop' && !lexicalOnly) throw new BundleError(`${configFile}: kind ${JSON.stringify(config.kind)} is not known (cladmop, tfidf-lr or tfidf-rf)`);
  if (lexicalOnly && (config.schemaVersion < 2 || !config.lexical)) throw new BundleError(`${configFile}: a tfidf-lr bundle needs schema version 2 and a lexical entry`);
  if ((!lexicalOnly && !config.files?.['weights.safetensors']) || !config.files?.['icd_vocabulary.json']) {
    throw new BundleError(`${configFile}: files must list ${lexicalOnly ? '' : 'weights.safetensors and '}icd_vocabulary.json`);
  }
  // The checked bytes, not a second read of the path (which could have been swapped since).
  const icdVocabulary = JSON.parse(contents.get('icd_vocabulary.json')!.toString('utf8')) as string[];
  let lexical: LexicalState | null = null;
  if (config.lexical) {
    if (config.schemaVersion < 2) throw new BundleError(`${configFile}: a lexical level needs schema version 2`);
    if (!contents.has('lexical.json')) throw new BundleError(`${configFile}: lexical is set but files does not list lexical.json`);
    try {
      lexical = JSON.parse(contents.get('lexical.json')!.toString('utf8')) as LexicalState;
    } catch (err) {
      throw new BundleError(`${dir}: lexical.json is not valid JSON (${(err as Error).message})`);
    }
  }
  if (lexicalOnly) return { dir, config, params: null, lora: null, icdVocabulary, tensors: {}, members: [], onnx: { tensors: {}, members: [] }, lexical, forest: null };
  const { tensors: all } = readSafetensors(path.join(dir, 'weights.safetensors'));
  const arch = config.architecture;
  const nMembers = config.schemaVersion >= 2 ? (config.members ?? []).length : 1;
  if (nMembers < 1) throw new BundleError(`${configFile}: members must list at least one model`);
  const members: LoadedBundle['members'] = [];
  for (let i = 0; i < nMembers; i++) {
    members.push({ info: config.schemaVersion >= 2 ? config.members![i] : { seed: Number((config.training as { seed?: number })?.seed ?? 0) }, tensors: config.schemaVersion >= 2 ? memberTensors(all, i) : all });
  }
  try {
    // Every member is checked against the architecture; member 0 is returned as jax-js trees.
    let first: { params: CladmopParams; lora: CladmopLora } | null = null;
    const used = new Set<string>();
    for (const [i, m] of members.entries()) {
      const source = `weights.safetensors (member ${i})`;
      // The members share the base: it is built (and checked) once; later members check their head and adapters.
      const head = first ? treeFromTensors(tree.ref(first.params.head), m.tensors, 'base.head', source) : null;
      const params: CladmopParams | null = first ? null : treeFromTensors(initCladmop(arch, 0), m.tensors, 'base', source);
      const lora = treeFromTensors(initLoraParams(arch, 0), m.tensors, 'lora', source);
      const leaves = [...(params ? namedLeaves(params, 'base') : namedLeaves(head, 'base.head')), ...namedLeaves(lora, 'lora')];
      for (const [name] of leaves) {
        if (config.schemaVersion < 2) used.add(name);
        else if (name.startsWith('base.head.')) used.add(`members.${i}.${name.slice('base.'.length)}`);
        else if (name.startsWith('lora.')) used.add(`members.${i}.${name}`);
        else used.add(name);
      }
      if (params) first = { params, lora };
      else tree.dispose([head, lora]);
    }
    // Every stored tensor must be used: config.json is not covered by a checksum, and an architecture with
    // fewer layers or levels than the weights would otherwise load silently without them. (Schema 2 keeps
    // member 0's head in base.head too, so that the base alone is a complete tree.)
    const unused = Object.keys(all).filter((name) => !used.has(name) && !(config.schemaVersion >= 2 && name.startsWith('base.head.')));
    if (unused.length > 0) {
      tree.dispose([first!.params, first!.lora]);
      throw new Error(`weights.safetensors holds ${unused.length} tensor(s) the architecture in config.json does not use (${unused.slice(0, 3).join(', ')}${unused.length > 3 ? ', …' : ''})`);
    }
    const onnx = {
      tensors: all,
      members: config.schemaVersion >= 2 ? members.map((_, i) => ({ lora: `members.${i}.lora`, head: `members.${i}.head` })) : SINGLE_MODEL,
    };
    return { dir, config, params: first!.params, lora: first!.lora, icdVocabulary, tensors: members[0].tensors, members, onnx, lexical, forest: null };
  } catch (err) {
    throw new BundleError(`${dir}: ${(err as Error).message}`);
  }
}
