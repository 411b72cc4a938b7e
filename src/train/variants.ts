/**
 * Ablation variants of CLaDMoP, defined in one place so `cladmop pretrain --variant` (run as a child process)
 * and `cladmop reproduce --ablations` agree on what each one is.
 */
import type { CladmopConfig } from '../model/cladmop.ts';

/**
 * Pre-training epochs by default (`cladmop pretrain`, `cladmop reproduce`). The paper gives no number. Held-out
 * retrieval (successful valid trials, never test) is flat after the first epoch: top-1 11.9, 12.3, 12.5% after
 * epochs 1-3 of a 3-epoch run, 12.3% for a 1-epoch run (chance 6.3%), and that 1-epoch model's best valid PR-AUC
 * on phase I (seed 1) was .749 vs .733 for the 3-epoch one. One epoch costs a third (~6 min on 2 cores).
 * Kept in this light module so the CLI can show it without loading jax-js.
 */
export const DEFAULT_PRETRAIN_EPOCHS = 1;

export interface Variant {
  name: string;
  description: string;
  /** Changes to the model configuration. */
  config: Partial<CladmopConfig>;
  /** Pre-train on successful trials only (the paper) or on all non-test trials, labels ignored. */
  successfulOnly: boolean;
  /** false = no pre-training: fine-tune from random initialisation (all weights trained). */
  pretrain: boolean;
  finetuneMode: 'lora' | 'full';
}

export const MAIN_VARIANT: Variant = {
  name: 'main',
  description: 'CLaDMoP as configured: G=3 (100->50->25), S=2, three levels, successful-only pre-training, LoRA',
  config: {},
  successfulOnly: true,
  pretrain: true,
  finetuneMode: 'lora',
};

export const VARIANTS: Variant[] = [
  MAIN_VARIANT,
  { ...MAIN_VARIANT, name: 'no-pretrain', description: 'no pre-training: every weight trained from random initialisation on the phase', pretrain: false, finetuneMode: 'full' },
  // G=1 keeps 25 final tokens so fusion sees as many tokens as the main model.
  { ...MAIN_VARIANT, name: 'G1S2', description: 'one grouping layer (25 centroids), S=2', config: { centroids: [25], selfAttention: 2 } },
  { ...MAIN_VARIANT, name: 'G3S0', description: 'three grouping layers, no self-attention between them', config: { selfAttention: 0 } },
  { ...MAIN_VARIANT, name: 'fine-only', description: 'only the fine level of the criteria encoder is fused', config: { levels: [2] } },
  { ...MAIN_VARIANT, name: 'full-ft', description: 'full fine-tuning instead of LoRA', finetuneMode: 'full' },
  { ...MAIN_VARIANT, name: 'all-trials-pretrain', description: 'pre-training on all non-test trials (labels ignored) instead of successful ones', successfulOnly: false },
];

export function variantByName(name: string): Variant {
  const v = VARIANTS.find((x) => x.name === name);
  if (!v) throw new Error(`unknown variant "${name}"; known: ${VARIANTS.map((x) => x.name).join(', ')}`);
  return v;
}
