import { validateBinaryInputs } from './validate-binary-inputs.ts';

/**
 * Binary cross-entropy `−mean_i [y_i·ln p_i + (1 − y_i)·ln(1 − p_i)]` (natural log), as sklearn's
 * `log_loss(y, s, eps=1e-15, labels=[0, 1])`.
 *
 * Probabilities are clipped to [eps, 1 − eps] first: one confidently wrong score of exactly 0 or 1 would
 * otherwise make the loss infinite. The default eps = 1e-15 is the value the reference fixture was computed
 * with (sklearn 1.2's own default, "auto", would clip at machine epsilon instead).
 */
export function logLoss(labels: ArrayLike<number>, scores: ArrayLike<number>, eps = 1e-15): number {
  validateBinaryInputs(labels, scores, 'Log-loss', true);
  if (!(eps >= 0 && eps < 0.5)) {
    throw new Error(`Log-loss: eps is ${eps}, expected a number in [0, 0.5)`);
  }
  const high = 1 - eps;
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(Math.max(scores[i], eps), high);
    sum += labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return -sum / labels.length;
}
