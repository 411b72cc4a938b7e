/**
 * Molecule features with RDKit (MinimalLib, WASM): Morgan fingerprint (radius 2, 2048 bits) plus a few
 * physico-chemical descriptors, scaled to O(1) by fixed transforms (no statistics fitted on data, so train and
 * test are featurised identically).
 */
import rdkitFactory from '@rdkit/rdkit';
import type { MainModule } from '@rdkit/rdkit';

export const FP_BITS = 2048;
export const DESCRIPTOR_NAMES = [
  'amw',
  'CrippenClogP',
  'tpsa',
  'NumHBD',
  'NumHBA',
  'NumRotatableBonds',
  'NumRings',
  'NumAromaticRings',
  'NumHeavyAtoms',
  'FractionCSP3',
  'NumAtomStereoCenters',
] as const;
export const N_DESCRIPTORS = DESCRIPTOR_NAMES.length;

export interface MoleculeFeatures {
  /** 2048 Morgan bits as 0/1 bytes. */
  fingerprint: Uint8Array;
  /** Scaled descriptors, in DESCRIPTOR_NAMES order. */
  descriptors: Float32Array;
}

type RDKitModule = MainModule;
let rdkitPromise: Promise<RDKitModule> | null = null;

/** The RDKit WASM module, initialised once (~115 ms). */
export function rdkit(): Promise<RDKitModule> {
  // The package is CommonJS with an ES-style `export default` in its types; at run time the import is the factory.
  const factory = rdkitFactory as unknown as (options?: unknown) => Promise<RDKitModule>;
  rdkitPromise ??= factory();
  return rdkitPromise;
}

function scale(name: (typeof DESCRIPTOR_NAMES)[number], v: number): number {
  switch (name) {
    case 'amw':
      return Math.log1p(Math.max(0, v)) / 6; // ~1 for 400 Da
    case 'CrippenClogP':
      return Math.max(-10, Math.min(10, v)) / 5;
    case 'tpsa':
      return Math.log1p(Math.max(0, v)) / 5;
    case 'FractionCSP3':
      return v;
    default:
      return Math.log1p(Math.max(0, v)) / 3;
  }
}

/**
 * Features of one SMILES, or null if RDKit cannot parse it (invalid SMILES are reported by the caller, not
 * fatal). Results are memoised per SMILES string.
 */
export class MoleculeFeaturizer {
  private readonly memo = new Map<string, MoleculeFeatures | null>();

  private constructor(private readonly rd: RDKitModule) {}

  static async create(): Promise<MoleculeFeaturizer> {
    return new MoleculeFeaturizer(await rdkit());
  }

  featurize(smiles: string): MoleculeFeatures | null {
    const key = smiles.trim();
    if (this.memo.has(key)) return this.memo.get(key)!;
    let result: MoleculeFeatures | null = null;
    // Very long strings are not drug-like small molecules and only cost time.
    const mol = key.length > 0 && key.length <= 2000 ? this.rd.get_mol(key) : null;
    if (mol) {
      try {
        if (mol.is_valid()) {
          const packed = mol.get_morgan_fp_as_uint8array(JSON.stringify({ radius: 2, nBits: FP_BITS }));
          const fingerprint = new Uint8Array(FP_BITS);
          for (let i = 0; i < FP_BITS; i++) fingerprint[i] = (packed[i >> 3] >> (i & 7)) & 1;
          const desc = JSON.parse(mol.get_descriptors()) as Record<string, number>;
          const descriptors = Float32Array.from(DESCRIPTOR_NAMES.map((n) => scale(n, desc[n] ?? 0)));
          result = { fingerprint, descriptors };
        }
      } finally {
        mol.delete();
      }
    }
    this.memo.set(key, result);
    return result;
  }
}
