/**
 * Every path and default of cladmop in one place (like transformers.js `env`): where the TOP data, the default
 * models, the criteria LM and the caches live, and how many threads onnxruntime may use.
 *
 * Each value is resolved when read, in this order:
 *   1. an explicit option of the call that needs it (`loadModel(dir, { dataDir })`, `--data DIR`, ...),
 *   2. a value assigned in code: `settings.cacheDir = '/scratch/cladmop'` (`settings.reset()` undoes it),
 *   3. an environment variable (below),
 *   4. the default, which depends on where the package runs from:
 *      - a checkout (the package folder is not inside a node_modules folder): the repository layout the
 *        development tools use: data at ../shared/data/top beside the checkout, caches in .cache/;
 *      - installed as a dependency: caches in the user's cache directory ($XDG_CACHE_HOME/cladmop or
 *        ~/.cache/cladmop), data in $XDG_DATA_HOME/cladmop/top (or ~/.local/share/cladmop/top), so that
 *        nothing is ever written into node_modules (it may be read-only and is wiped by `npm ci`).
 *   The default models (models/phase-I, -II, -III) and the criteria LM (models/criteria-lm) ship inside the
 *   package in both cases.
 *
 * | setting            | environment           | checkout default          | installed default                 |
 * |--------------------|-----------------------|---------------------------|-----------------------------------|
 * | dataDir            | CLADMOP_DATA          | ../shared/data/top        | $XDG_DATA_HOME/cladmop/top        |
 * | modelsDir          | CLADMOP_MODELS        | <package>/models          | <package>/models                  |
 * | lmDir              | CLADMOP_LM            | <modelsDir>/criteria-lm   | <modelsDir>/criteria-lm           |
 * | cacheDir           | CLADMOP_CACHE_DIR     | <package>/.cache          | $XDG_CACHE_HOME/cladmop           |
 * | embeddingCacheDir  | CLADMOP_CACHE         | <cacheDir>/embeddings     | <cacheDir>/embeddings             |
 * | threads            | CLADMOP_THREADS       | (all cores)               | (all cores)                       |
 *
 * CLADMOP_CACHE keeps the meaning it had before this module (the embedding cache itself), so existing scripts
 * keep their caches; CLADMOP_CACHE_DIR moves every cache at once.
 *
 * `threads` limits onnxruntime sessions created after it is set. jax-js (training, `loadModel`'s weight check)
 * takes its worker count once, when the package is imported (src/runtime/node20-shim.mjs reads JAX_THREADS,
 * else CLADMOP_THREADS), so for jax-js set the environment variable before starting Node.
 *
 * This module imports only Node built-ins: every layer may read it.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package folder (the one holding package.json). This file is src/settings.ts in a checkout and
 * dist/settings.js in the built package: both one level below it.
 */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Whether cladmop runs as an installed dependency (its folder is inside a node_modules folder: a project's
 * dependency, a global install, or npx's cache) rather than from a checkout of the repository.
 */
export function isInstalledPackage(root = PACKAGE_ROOT): boolean {
  return root.split(path.sep).includes('node_modules');
}

/** The version in package.json (one source of truth for `cladmop --version` and bundles' codeVersion). */
export const VERSION: string = (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** The benchmark phases that have a default model under `modelsDir`. */
export type DefaultModelPhase = 'I' | 'II' | 'III';

export interface SettingValues {
  dataDir: string;
  modelsDir: string;
  lmDir: string;
  cacheDir: string;
  embeddingCacheDir: string;
  /** onnxruntime intra-op threads; undefined = onnxruntime's choice (all cores). */
  threads: number | undefined;
}

type Env = Record<string, string | undefined>;

const ENV_NAMES: { [K in keyof SettingValues]: string } = {
  dataDir: 'CLADMOP_DATA',
  modelsDir: 'CLADMOP_MODELS',
  lmDir: 'CLADMOP_LM',
  cacheDir: 'CLADMOP_CACHE_DIR',
  embeddingCacheDir: 'CLADMOP_CACHE',
  threads: 'CLADMOP_THREADS',
};

/** The user's cache directory per the XDG base directory spec (what ~/.cache means on Linux). */
function userCacheHome(env: Env): string {
  return env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
}

function userDataHome(env: Env): string {
  return env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : path.join(os.homedir(), '.local', 'share');
}

function parseThreads(text: string, from: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${from} must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

/**
 * The settings object. Read a property to get the resolved value; assign one to override it for this process.
 * Paths are returned absolute (a relative assignment or variable is resolved against the current directory
 * when read).
 */
export class Settings implements SettingValues {
  readonly #assigned: Partial<SettingValues> = {};

  /**
   * @param root   the package folder (tests pass a fake one to see the installed layout)
   * @param env    where environment variables are read (default process.env, read on every access so a
   *               variable set after import still counts)
   */
  constructor(
    readonly root: string = PACKAGE_ROOT,
    private readonly env: () => Env = () => process.env,
  ) {}

  /** Whether this package runs as an installed dependency (see isInstalledPackage). */
  get installed(): boolean {
    return isInstalledPackage(this.root);
  }

  #path<K extends 'dataDir' | 'modelsDir' | 'lmDir' | 'cacheDir' | 'embeddingCacheDir'>(key: K, fallback: () => string): string {
    const value = this.#assigned[key] ?? this.env()[ENV_NAMES[key]] ?? fallback();
    return path.resolve(value);
  }

  get dataDir(): string {
    return this.#path('dataDir', () =>
      this.installed ? path.join(userDataHome(this.env()), 'cladmop', 'top') : path.resolve(this.root, '../shared/data/top'),
    );
  }
  set dataDir(value: string) {
    this.#assigned.dataDir = value;
  }

  get modelsDir(): string {
    return this.#path('modelsDir', () => path.join(this.root, 'models'));
  }
  set modelsDir(value: string) {
    this.#assigned.modelsDir = value;
  }

  get lmDir(): string {
    return this.#path('lmDir', () => path.join(this.modelsDir, 'criteria-lm'));
  }
  set lmDir(value: string) {
    this.#assigned.lmDir = value;
  }

  get cacheDir(): string {
    return this.#path('cacheDir', () => (this.installed ? path.join(userCacheHome(this.env()), 'cladmop') : path.join(this.root, '.cache')));
  }
  set cacheDir(value: string) {
    this.#assigned.cacheDir = value;
  }

  get embeddingCacheDir(): string {
    return this.#path('embeddingCacheDir', () => path.join(this.cacheDir, 'embeddings'));
  }
  set embeddingCacheDir(value: string) {
    this.#assigned.embeddingCacheDir = value;
  }

  get threads(): number | undefined {
    if (this.#assigned.threads !== undefined) return this.#assigned.threads;
    const text = this.env()[ENV_NAMES.threads];
    return text ? parseThreads(text, ENV_NAMES.threads) : undefined;
  }
  set threads(value: number | undefined) {
    if (value !== undefined) parseThreads(String(value), 'settings.threads');
    this.#assigned.threads = value;
  }

  /** The default model bundle of a benchmark phase (`<modelsDir>/phase-I` etc., shipped in the package). */
  defaultModelDir(phase: DefaultModelPhase): string {
    return path.join(this.modelsDir, `phase-${phase}`);
  }

  /** Assigns several settings at once; `undefined` values are ignored. */
  configure(values: Partial<SettingValues>): this {
    for (const [key, value] of Object.entries(values) as [keyof SettingValues, SettingValues[keyof SettingValues]][]) {
      if (value !== undefined) (this as unknown as Record<string, unknown>)[key] = value;
    }
    return this;
  }

  /** Forgets every assignment (environment variables and defaults apply again). */
  reset(): void {
    for (const key of Object.keys(this.#assigned)) delete this.#assigned[key as keyof SettingValues];
  }

  /** The resolved values, e.g. for `cladmop --version`-style diagnostics or a log line. */
  toJSON(): SettingValues & { installed: boolean; root: string } {
    return {
      root: this.root,
      installed: this.installed,
      dataDir: this.dataDir,
      modelsDir: this.modelsDir,
      lmDir: this.lmDir,
      cacheDir: this.cacheDir,
      embeddingCacheDir: this.embeddingCacheDir,
      threads: this.threads,
    };
  }
}

/** The process-wide settings every module reads. */
export const settings = new Settings();

/** Data directory: an explicit value (option / --data), else settings.dataDir. */
export function resolveDataDir(explicit?: string): string {
  return path.resolve(explicit ?? settings.dataDir);
}

/**
 * onnxruntime session options for a thread count: an explicit one, else settings.threads; none = onnxruntime's
 * own choice (all cores).
 */
export function intraOpThreads(explicit?: number): { intraOpNumThreads?: number } {
  const n = explicit ?? settings.threads;
  return n ? { intraOpNumThreads: n } : {};
}
