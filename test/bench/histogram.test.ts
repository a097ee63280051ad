import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LatencyHistogram, curvePercentiles, summarizeLatencyNs } from '../../bench/histogram.js';

/** The exact answer the histogram approximates: the ceil(p/100 * n)-th smallest value. */
function reference(sorted: readonly number[], percentile: number): number {
  const rank = Math.max(1, Math.ceil((percentile / 100) * sorted.length));
  return sorted[rank - 1]!;
}

const PERCENTILES = [0, 1, 10, 50, 75, 90, 99, 99.9, 99.99, 100];

test('values below 2^subBucketBits are counted exactly', () => {
  const h = new LatencyHistogram(8);
  const values = [0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 255, 255, 7];
  for (const v of values) h.record(v);
  const sorted = [...values].sort((a, b) => a - b);
  for (const p of PERCENTILES) assert.equal(h.valueAtPercentile(p), reference(sorted, p), `p${p}`);
  assert.equal(h.count, values.length);
  assert.equal(h.min, 0);
  assert.equal(h.max, 255);
  assert.equal(h.mean, values.reduce((a, b) => a + b, 0) / values.length);
});

test('percentiles match a sorted-array reference within the bucket width (property)', () => {
  for (const bits of [4, 8]) {
    const relative = 2 ** -(bits - 1);
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })), { minLength: 1, maxLength: 400 }),
        (values) => {
          const h = new LatencyHistogram(bits);
          for (const v of values) h.record(v);
          const sorted = [...values].sort((a, b) => a - b);
          for (const p of PERCENTILES) {
            const exact = reference(sorted, p);
            const got = h.valueAtPercentile(p);
            assert.ok(got >= exact, `p${p}: ${got} below the exact ${exact}`);
            assert.ok(got <= exact + exact * relative, `p${p}: ${got} more than ${relative} above ${exact}`);
          }
          assert.equal(h.max, sorted[sorted.length - 1]);
          assert.equal(h.min, sorted[0]);
        },
      ),
      { numRuns: 300 },
    );
  }
});

test('bucket bounds are consistent: every value lies in its bucket, buckets tile the line', () => {
  const h = new LatencyHistogram(6);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (v) => {
      const i = h.indexOf(v);
      assert.ok(h.lowestEquivalent(i) <= v && v <= h.highestEquivalent(i), `${v} outside bucket ${i}`);
      if (h.highestEquivalent(i) < Number.MAX_SAFE_INTEGER) assert.equal(h.indexOf(h.highestEquivalent(i) + 1), i + 1);
    }),
    { numRuns: 2000 },
  );
  for (let i = 1; i < 600; i++) assert.equal(h.lowestEquivalent(i), h.highestEquivalent(i - 1) + 1, `gap before bucket ${i}`);
});

test('merging equals recording everything into one histogram; JSON round-trips', () => {
  const values = Array.from({ length: 5000 }, (_, i) => Math.floor(((i * 2654435761) % 1_000_003) * 977));
  const all = new LatencyHistogram();
  const a = new LatencyHistogram();
  const b = new LatencyHistogram();
  values.forEach((v, i) => {
    all.record(v);
    (i % 3 === 0 ? a : b).record(v);
  });
  a.merge(LatencyHistogram.fromJSON(JSON.parse(JSON.stringify(b.toJSON()))));
  assert.deepEqual(a.toJSON(), all.toJSON());
  for (const p of PERCENTILES) assert.equal(a.valueAtPercentile(p), all.valueAtPercentile(p));
  assert.throws(() => a.merge(new LatencyHistogram(5)), /different precision/);
});

test('record with a count weighs the value; negative values count as 0', () => {
  const h = new LatencyHistogram();
  h.record(10, 99);
  h.record(1_000_000, 1);
  h.record(-5);
  assert.equal(h.count, 101);
  assert.equal(h.min, 0);
  assert.equal(h.valueAtPercentile(50), 10);
  assert.ok(h.valueAtPercentile(100) >= 1_000_000);
});

test('an empty histogram answers zeros', () => {
  const h = new LatencyHistogram();
  assert.equal(h.valueAtPercentile(99), 0);
  assert.equal(h.min, 0);
  assert.equal(h.mean, 0);
  const round = LatencyHistogram.fromJSON(h.toJSON());
  assert.equal(round.count, 0);
});

test('the summary reports milliseconds of a nanosecond histogram, and a rising curve', () => {
  const h = new LatencyHistogram();
  for (let i = 1; i <= 1000; i++) h.record(i * 1e6); // 1..1000 ms
  const s = summarizeLatencyNs(h);
  assert.equal(s.count, 1000);
  assert.ok(Math.abs(s.p50Ms - 500) <= 500 / 128 + 1e-6, `p50 ${s.p50Ms}`);
  assert.ok(Math.abs(s.p99Ms - 990) <= 990 / 128 + 1e-6, `p99 ${s.p99Ms}`);
  assert.equal(s.maxMs, 1000);
  const ps = curvePercentiles();
  assert.deepEqual(s.curve.map(([p]) => p), ps);
  for (let i = 1; i < s.curve.length; i++) assert.ok(s.curve[i]![1] >= s.curve[i - 1]![1]);
  assert.ok(ps.includes(50) && ps.includes(99.9) && ps[ps.length - 1]! >= 99.999);
});
