/**
 * Checks the inputs every binary metric shares and counts the positives, so that each metric can fail
 * with a message naming what is wrong (and where) instead of returning a silently wrong number.
 *
 * @param labels outcome labels, each exactly 0 or 1
 * @param scores one score per label; finite, and within [0, 1] when `requireProbabilities` is set
 * @param metric name used at the start of every error message, e.g. "ROC-AUC"
 * @param requireProbabilities set for metrics that read scores as probabilities (Brier, log-loss, ECE);
 *   ranking and threshold metrics accept any finite score, e.g. logits
 * @returns the number of positive labels
 */
export function validateBinaryInputs(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  metric: string,
  requireProbabilities = false,
): number {
  if (labels.length !== scores.length) {
    throw new Error(
      `${metric}: labels and scores differ in length (${labels.length} labels, ${scores.length} scores)`,
    );
  }
  if (labels.length === 0) {
    throw new Error(`${metric}: no samples (labels and scores are empty)`);
  }
  let positives = 0;
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (y === 1) positives++;
    else if (y !== 0) throw new Error(`${metric}: labels[${i}] is ${y}, expected 0 or 1`);
    const s = scores[i];
    // typeof guards against plain arrays carrying strings or undefined, which arithmetic would coerce.
    if (typeof s !== 'number' || !Number.isFinite(s)) {
      throw new Error(`${metric}: scores[${i}] is ${String(s)}, expected a finite number`);
    }
    if (requireProbabilities && (s < 0 || s > 1)) {
      throw new Error(`${metric}: scores[${i}] is ${s}, expected a probability in [0, 1]`);
    }
  }
  return positives;
}
