/**
 * The tiny CLaDMoP architecture the unit tests share: small enough to compile and train in seconds, with every
 * block of the real model (three grouping layers, self-attention, DM branch, fusion, LoRA, head). Tests override
 * what they need, e.g. `{ ...TINY_CLADMOP, levels: [2] }`.
 */
import { MOLECULE_INPUT } from '../../features/dm-features.ts';
import type { CladmopConfig } from '../cladmop.ts';

export const TINY_CLADMOP: CladmopConfig = {
  dEncoder: 8,
  dModel: 16,
  nHeads: 2,
  ffHidden: 32,
  centroids: [6, 4, 3],
  selfAttention: 1,
  levels: [0, 2],
  dmLayers: 1,
  moleculeInput: MOLECULE_INPUT,
  moleculeHidden: 8,
  nameBuckets: 64,
  icdVocab: 20,
  dJoint: 8,
  headHidden: 16,
  loraRank: 2,
  loraAlpha: 4,
  dropout: 0,
  initLogitScale: 0.6,
};
