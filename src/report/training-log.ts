/**
 * Training curves from an optional training_log.json. Its exact shape is owned by the training commands,
 * so any of these is accepted:
 *   [ {epoch, trainLoss, validPrAuc, ...}, ... ]                  one curve
 *   { curves: [ ... ] } or { curves: { pretrain: [...], finetune: [...] } }
 *   { pretrain: [ ... ], finetune: [ ... ], ...other fields }     every array of objects is a curve
 * A curve's x is `epoch`, else `step`, else the entry's position; every other finite numeric field is a
 * metric. Entries without a numeric x and non-numeric fields are skipped, not errors: a log is advisory.
 */
export interface TrainingPoint {
  x: number;
  metric: string;
  value: number;
}

export interface TrainingCurve {
  name: string;
  xName: 'epoch' | 'step' | 'index';
  metrics: string[];
  points: TrainingPoint[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function curveOf(name: string, entries: unknown[]): TrainingCurve | null {
  const records = entries.filter(isRecord);
  if (records.length === 0) return null;
  const xName = records.some((r) => typeof r.epoch === 'number') ? 'epoch' : records.some((r) => typeof r.step === 'number') ? 'step' : 'index';
  const points: TrainingPoint[] = [];
  const metrics: string[] = [];
  records.forEach((r, index) => {
    const x = xName === 'index' ? index : r[xName];
    if (typeof x !== 'number' || !Number.isFinite(x)) return;
    for (const [key, value] of Object.entries(r)) {
      if (key === 'epoch' || key === 'step' || typeof value !== 'number' || !Number.isFinite(value)) continue;
      if (!metrics.includes(key)) metrics.push(key);
      points.push({ x, metric: key, value });
    }
  });
  return points.length > 0 ? { name, xName, metrics, points } : null;
}

export function parseTrainingLog(log: unknown): TrainingCurve[] {
  if (Array.isArray(log)) {
    const curve = curveOf('training', log);
    return curve ? [curve] : [];
  }
  if (typeof log !== 'object' || log === null) return [];
  const holder = log as Record<string, unknown>;
  if (Array.isArray(holder.curves)) return parseTrainingLog(holder.curves);
  const source = isRecord(holder.curves) ? holder.curves : holder;
  const out: TrainingCurve[] = [];
  for (const [name, value] of Object.entries(source)) {
    if (!Array.isArray(value)) continue;
    const curve = curveOf(name, value);
    if (curve) out.push(curve);
  }
  return out;
}
