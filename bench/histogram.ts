// A latency histogram in the manner of HdrHistogram: integer values (nanoseconds here) fall
// into log-spaced buckets, each split into linear sub-buckets, so that every recorded value
// is known to within a fixed relative error whatever its magnitude, in constant memory and
// constant time per record. Histograms merge by adding counts, which is how the worker
// threads' histograms are combined.
//
// Layout for subBucketBits = b: values below 2^b are counted exactly (index = value). A value
// of bit length n > b keeps its top b bits; `shift` = n - b low bits are dropped. Buckets of
// one shift hold the 2^(b-1) top-bit patterns 2^(b-1) .. 2^b - 1, so the index is
// 2^b + (shift - 1) * 2^(b-1) + (top - 2^(b-1)). The width of a bucket is 2^shift and its
// lowest value at least 2^(b-1) * 2^shift: the relative error is below 2^-(b-1).

const TWO_POW_32 = 4294967296;
/** 2^0 .. 2^53: a lookup, as Math.pow showed up in the profile of a million records a second. */
const POW2 = Float64Array.from({ length: 54 }, (_, i) => 2 ** i);

/** Bit length of a non-negative integer below 2^53 (0 for 0). */
function bitLength(v: number): number {
  if (v < TWO_POW_32) return 32 - Math.clz32(v);
  return 64 - Math.clz32(Math.floor(v / TWO_POW_32));
}

export interface HistogramJson {
  subBucketBits: number;
  count: number;
  min: number;
  max: number;
  sum: number;
  /** Non-empty buckets as [index, count] pairs, ascending by index. */
  buckets: Array<[number, number]>;
}

export class LatencyHistogram {
  readonly subBucketBits: number;
  private readonly subBucketCount: number;
  private readonly halfCount: number;
  private counts: Float64Array;
  private total = 0;
  private minValue = Number.POSITIVE_INFINITY;
  private maxValue = 0;
  private sumValue = 0;

  /** subBucketBits 8 keeps every value within 0.8% (1/128) of the truth. */
  constructor(subBucketBits = 8) {
    if (!Number.isInteger(subBucketBits) || subBucketBits < 2 || subBucketBits > 16) {
      throw new RangeError(`subBucketBits must be an integer in 2..16, not ${subBucketBits}`);
    }
    this.subBucketBits = subBucketBits;
    this.subBucketCount = 2 ** subBucketBits;
    this.halfCount = this.subBucketCount / 2;
    // Enough buckets for every value below 2^53.
    this.counts = new Float64Array(this.subBucketCount + (53 - subBucketBits) * this.halfCount);
  }

  get count(): number {
    return this.total;
  }

  get min(): number {
    return this.total === 0 ? 0 : this.minValue;
  }

  get max(): number {
    return this.maxValue;
  }

  get mean(): number {
    return this.total === 0 ? 0 : this.sumValue / this.total;
  }

  /** The bucket index of a value (values are rounded to integers, negatives count as 0). */
  indexOf(value: number): number {
    const v = value <= 0 ? 0 : Math.min(Math.round(value), Number.MAX_SAFE_INTEGER);
    const bits = bitLength(v);
    if (bits <= this.subBucketBits) return v;
    const shift = bits - this.subBucketBits;
    const top = Math.floor(v / POW2[shift]!);
    return this.subBucketCount + (shift - 1) * this.halfCount + (top - this.halfCount);
  }

  /** The lowest value that falls into bucket `index`. */
  lowestEquivalent(index: number): number {
    if (index < this.subBucketCount) return index;
    const rel = index - this.subBucketCount;
    const shift = Math.floor(rel / this.halfCount) + 1;
    const top = (rel % this.halfCount) + this.halfCount;
    return top * 2 ** shift;
  }

  /** The highest value that falls into bucket `index`. */
  highestEquivalent(index: number): number {
    if (index < this.subBucketCount) return index;
    const shift = Math.floor((index - this.subBucketCount) / this.halfCount) + 1;
    return this.lowestEquivalent(index) + 2 ** shift - 1;
  }

  record(value: number, count = 1): void {
    const v = value <= 0 ? 0 : Math.round(value);
    this.counts[this.indexOf(v)]! += count;
    this.total += count;
    this.sumValue += v * count;
    if (v < this.minValue) this.minValue = v;
    if (v > this.maxValue) this.maxValue = v;
  }

  /**
   * The value at `percentile` (0..100): the highest value of the bucket that holds the
   * ceil(p/100 * count)-th smallest recorded value, capped at the largest recorded value.
   * So it is never below the exact answer and above it by at most the bucket's width.
   */
  valueAtPercentile(percentile: number): number {
    if (this.total === 0) return 0;
    const p = Math.min(100, Math.max(0, percentile));
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.max(this.minValue, Math.min(this.highestEquivalent(i), this.maxValue));
    }
    return this.maxValue;
  }

  merge(other: LatencyHistogram): void {
    if (other.subBucketBits !== this.subBucketBits) throw new Error('cannot merge histograms of different precision');
    for (let i = 0; i < other.counts.length; i++) {
      const c = other.counts[i]!;
      if (c !== 0) this.counts[i]! += c;
    }
    this.total += other.total;
    this.sumValue += other.sumValue;
    if (other.total > 0) {
      this.minValue = Math.min(this.minValue, other.minValue);
      this.maxValue = Math.max(this.maxValue, other.maxValue);
    }
  }

  toJSON(): HistogramJson {
    const buckets: Array<[number, number]> = [];
    for (let i = 0; i < this.counts.length; i++) {
      const c = this.counts[i]!;
      if (c !== 0) buckets.push([i, c]);
    }
    return { subBucketBits: this.subBucketBits, count: this.total, min: this.min, max: this.maxValue, sum: this.sumValue, buckets };
  }

  static fromJSON(json: HistogramJson): LatencyHistogram {
    const h = new LatencyHistogram(json.subBucketBits);
    for (const [index, count] of json.buckets) {
      if (!Number.isInteger(index) || index < 0 || index >= h.counts.length) throw new RangeError(`bucket index ${index} out of range`);
      h.counts[index]! += count;
    }
    h.total = json.count;
    h.sumValue = json.sum;
    h.minValue = json.count === 0 ? Number.POSITIVE_INFINITY : json.min;
    h.maxValue = json.max;
    return h;
  }
}

/** The percentiles every latency result reports. */
export const REPORTED_PERCENTILES = [50, 90, 99, 99.9] as const;

/** Percentiles for the latency curves: 0, 50, 75, 87.5 ... (halving the rest), and the usual 90, 99, 99.9 ... */
export function curvePercentiles(): number[] {
  const out = [0, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999];
  for (let rest = 50; rest >= 0.001; rest /= 2) out.push(100 - rest);
  return [...new Set(out)].sort((a, b) => a - b);
}

export interface LatencySummary {
  count: number;
  minMs: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** [percentile, ms] points for the percentile curve. */
  curve: Array<[number, number]>;
  histogram: HistogramJson;
}

const NS_PER_MS = 1e6;

/** Summary in milliseconds of a histogram of nanoseconds. */
export function summarizeLatencyNs(h: LatencyHistogram): LatencySummary {
  return {
    count: h.count,
    minMs: h.min / NS_PER_MS,
    meanMs: h.mean / NS_PER_MS,
    p50Ms: h.valueAtPercentile(50) / NS_PER_MS,
    p90Ms: h.valueAtPercentile(90) / NS_PER_MS,
    p99Ms: h.valueAtPercentile(99) / NS_PER_MS,
    p999Ms: h.valueAtPercentile(99.9) / NS_PER_MS,
    maxMs: h.max / NS_PER_MS,
    curve: curvePercentiles().map((p) => [p, h.valueAtPercentile(p) / NS_PER_MS]),
    histogram: h.toJSON(),
  };
}
