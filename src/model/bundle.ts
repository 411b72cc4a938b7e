/**
 * Saved-model bundle: a directory with a versioned `config.json`, the weights in safetensors (base model +
 * LoRA adapters), and the ICD vocabulary the disease embeddings are indexed by. Loading checks the schema
 * version and every file's sha256 and never executes anything from the bundle.
 */
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { writeFileAtomic } from '../runtime/atomic-write.ts';
import { readSafetensors, writeSafetensors, type Tensor } from '../runtime/safetensors.ts';
import { tree } from '@jax-js/jax';
import { namedLeaves, treeFromTensors, treeToTensors } from '../runtime/param-tree.ts';
import { initCladmop, initLoraParams, type CladmopConfig, type CladmopLora, type CladmopParams } from './cladmop.ts';

export const BUNDLE_FORMAT = 'cladmop-model';
export const BUNDLE_SCHEMA_VERSION = 1;

export interface BundleConfig {
  format: typeof BUNDLE_FORMAT;
  schemaVersion: number;
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
}

export class BundleError extends Error {}

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

export interface SaveBundleInput {
  dir: string;
  params: CladmopParams;
  lora: CladmopLora;
  icdVocabulary: string[];
  config: Omit<BundleConfig, 'format' | 'schemaVersion' | 'files' | 'createdAt'>;
}

export async function saveBundle(input: SaveBundleInput): Promise<BundleConfig> {
  mkdirSync(input.dir, { recursive: true });
  const weightsFile = path.join(input.dir, 'weights.safetensors');
  const tensors = { ...(await treeToTensors(input.params, 'base')), ...(await treeToTensors(input.lora, 'lora')) };
  writeSafetensors(weightsFile, tensors, { format: `${BUNDLE_FORMAT}-v${BUNDLE_SCHEMA_VERSION}` });
  const vocabFile = path.join(input.dir, 'icd_vocabulary.json');
  writeFileAtomic(vocabFile, JSON.stringify(input.icdVocabulary));
  const files: BundleConfig['files'] = {};
  for (const f of [weightsFile, vocabFile]) {
    const bytes = readFileSync(f);
    files[path.basename(f)] = { sha256: sha256(bytes), bytes: bytes.length };
  }
  const config: BundleConfig = {
    format: BUNDLE_FORMAT,
    schemaVersion: BUNDLE_SCHEMA_VERSION,
    ...input.config,
    createdAt: new Date().toISOString(),
    files,
  };
  writeFileAtomic(path.join(input.dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  return config;
}

export interface LoadedBundle {
  dir: string;
  config: BundleConfig;
  params: CladmopParams;
  lora: CladmopLora;
  icdVocabulary: string[];
  /** The weights as read (base.* and lora.*), checked against the architecture. */
  tensors: Record<string, Tensor>;
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
  if (config.schemaVersion !== BUNDLE_SCHEMA_VERSION) {
    throw new BundleError(`${configFile}: schema version ${config.schemaVersion} is not supported (this cladmop reads version ${BUNDLE_SCHEMA_VERSION})`);
  }
  if (typeof config.files !== 'object' || config.files === null || Array.isArray(config.files)) throw new BundleError(`${configFile}: "files" must be an object of file name -> { sha256, bytes }`);
  const contents = new Map<string, Buffer>();
  for (const [name, expected] of Object.entries(config.files)) {
    const bytes = readBundleFile(dir, name, typeof expected?.bytes === 'number' ? expected.bytes : undefined);
    contents.set(name, bytes);
    const got = sha256(bytes);
    if (got !== expected?.sha256) throw new BundleError(`${dir}: ${name} is corrupted or was changed (sha256 ${got.slice(0, 12)}…, config.json says ${String(expected?.sha256).slice(0, 12)}…)`);
  }
  if (!config.files?.['weights.safetensors'] || !config.files?.['icd_vocabulary.json']) {
    throw new BundleError(`${configFile}: files must list weights.safetensors and icd_vocabulary.json`);
  }
  // The checked bytes, not a second read of the path (which could have been swapped since).
  const icdVocabulary = JSON.parse(contents.get('icd_vocabulary.json')!.toString('utf8')) as string[];
  const { tensors } = readSafetensors(path.join(dir, 'weights.safetensors'));
  const arch = config.architecture;
  try {
    const params = treeFromTensors(initCladmop(arch, 0), tensors, 'base', 'weights.safetensors');
    const lora = treeFromTensors(initLoraParams(arch, 0), tensors, 'lora', 'weights.safetensors');
    // Every stored tensor must be used: config.json is not covered by a checksum, and an architecture with
    // fewer layers or levels than the weights would otherwise load silently without them.
    const used = new Set([...namedLeaves(params, 'base'), ...namedLeaves(lora, 'lora')].map(([name]) => name));
    const unused = Object.keys(tensors).filter((name) => !used.has(name));
    if (unused.length > 0) {
      tree.dispose([params, lora]);
      throw new Error(`weights.safetensors holds ${unused.length} tensor(s) the architecture in config.json does not use (${unused.slice(0, 3).join(', ')}${unused.length > 3 ? ', …' : ''})`);
    }
    return { dir, config, params, lora, icdVocabulary, tensors };
  } catch (err) {
    throw new BundleError(`${dir}: ${(err as Error).message}`);
  }
}
