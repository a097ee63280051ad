// Aggregation of repeated measurements: the median is the figure reported, the spread shows
// how far the repetitions disagree (min, max, and (max - min) / median in percent).

export interface Spread {
  /** Number of values aggregated. */
  n: number;
  median: number;
  min: number;
  max: number;
  mean: number;
  /** (max - min) / median * 100; 0 for a single value, null when the median is 0. */
  spreadPct: number | null;
  /** Sample standard deviation (0 for fewer than two values). */
  stddev: number;
}

/** Median of the values (mean of the middle two for an even count). Throws on none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function spreadOf(values: readonly number[]): Spread {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) throw new RangeError('spread of no finite values');
  const med = median(finite);
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  const mean = finite.reduce((a, b) => a + b, 0) / finite.length;
  const variance = finite.length < 2 ? 0 : finite.reduce((a, b) => a + (b - mean) ** 2, 0) / (finite.length - 1);
  return {
    n: finite.length,
    median: med,
    min,
    max,
    mean,
    spreadPct: finite.length < 2 ? 0 : med === 0 ? null : ((max - min) / Math.abs(med)) * 100,
    stddev: Math.sqrt(variance),
  };
}

/** Groups items by a string key, keeping first-seen order of the keys. */
export function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list === undefined) groups.set(k, [item]);
    else list.push(item);
  }
  return groups;
}
