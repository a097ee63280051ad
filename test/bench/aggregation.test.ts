import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatencyHistogram, summarizeLatencyNs } from '../../bench/histogram.js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePageReporting } from '../../bench/machine.js';
import { limitFor, PAIRED_ENGINE_LIMIT, summarize, type MachineLimit, type Sample } from '../../bench/model.js';
import { groupBy, median, spreadOf } from '../../bench/stats.js';

test('median of odd and even counts, unsorted input left alone', () => {
  const values = [5, 1, 4];
  assert.equal(median(values), 4);
  assert.deepEqual(values, [5, 1, 4]);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
  assert.throws(() => median([]), RangeError);
});

test('spread: min, max, (max - min) / median, standard deviation', () => {
  const s = spreadOf([100, 90, 110]);
  assert.equal(s.n, 3);
  assert.equal(s.median, 100);
  assert.equal(s.min, 90);
  assert.equal(s.max, 110);
  assert.equal(s.mean, 100);
  assert.equal(s.spreadPct, 20);
  assert.equal(s.stddev, 10);
  const one = spreadOf([42]);
  assert.equal(one.spreadPct, 0);
  assert.equal(one.stddev, 0);
  assert.equal(spreadOf([0, 0, 1]).spreadPct, null);
  assert.equal(spreadOf([3, Number.NaN, 5]).n, 2);
});

test('groupBy keeps first-seen key order', () => {
  const g = groupBy(['b1', 'a1', 'b2'], (s) => s[0]!);
  assert.deepEqual([...g.keys()], ['b', 'a']);
  assert.deepEqual(g.get('b'), ['b1', 'b2']);
});

function sample(over: Partial<Sample>): Sample {
  return {
    workload: 'throughput-acks1',
    phase: 'produce',
    target: 'strand',
    driver: 'loadgen',
    repetition: 1,
    startedAt: '2026-01-01T00:00:00.000Z',
    durationS: 1,
    records: 1000,
    payloadBytes: 1024000,
    wireBytes: 1030000,
    mbPerS: 100,
    recordsPerS: 1000,
    latency: {},
    broker: { cpuS: 1, peakRssBytes: 100 * 1024 * 1024, endRssBytes: 90 * 1024 * 1024, peakMethod: 'sampled' },
    verification: null,
    errors: {},
    settings: {},
    notes: [],
    ...over,
  };
}

const LIMITS: MachineLimit[] = [
  { name: 'disk sequential write', mbPerS: 1000, method: '', note: '' },
  { name: 'engine append (64 KiB batches)', mbPerS: 400, method: '', note: '' },
  { name: 'engine sendfile', mbPerS: null, method: '', note: 'not measured' },
  { name: 'loopback sendfile', mbPerS: 800, method: '', note: '' },
];

test('summary: one row per workload/phase/target/driver, medians and spread across repetitions', () => {
  const samples = [
    sample({ repetition: 1, target: 'strand', mbPerS: 100 }),
    sample({ repetition: 1, target: 'kafka', mbPerS: 50, broker: null }),
    sample({ repetition: 2, target: 'strand', mbPerS: 300 }),
    sample({ repetition: 2, target: 'kafka', mbPerS: 70, broker: null }),
    sample({ repetition: 3, target: 'strand', mbPerS: 200, broker: { cpuS: 3, peakRssBytes: 1, endRssBytes: 1, peakMethod: 'hwm-reset' } }),
    sample({ repetition: 3, target: 'kafka', mbPerS: 60, broker: null }),
  ];
  const rows = summarize(samples, LIMITS);
  assert.equal(rows.length, 2);
  const [strand, kafka] = rows as [(typeof rows)[0], (typeof rows)[0]];
  assert.equal(strand.target, 'strand');
  assert.equal(strand.mbPerS.median, 200);
  assert.equal(strand.mbPerS.min, 100);
  assert.equal(strand.mbPerS.max, 300);
  assert.equal(strand.mbPerS.spreadPct, 100);
  assert.equal(strand.cpuS?.median, 1);
  assert.deepEqual(strand.limit, { name: 'engine append (64 KiB batches)', mbPerS: 400, fraction: 0.5 });
  assert.equal(kafka.mbPerS.median, 60);
  assert.equal(kafka.cpuS, null, 'no broker figures without a pid');
  assert.equal(kafka.verified, null);
});

test('summary: verification is ok only when every repetition passed; errors are counted', () => {
  const ok = { produced: 10, consumed: 10, ok: true, detail: '' };
  const bad = { produced: 10, consumed: 9, ok: false, detail: 'lost one' };
  const rows = summarize(
    [
      sample({ phase: 'consume', verification: ok, errors: { NOT_LEADER_OR_FOLLOWER: 2 } }),
      sample({ phase: 'consume', repetition: 2, verification: bad, errors: { REQUEST_TIMED_OUT: 1 } }),
    ],
    LIMITS,
  );
  assert.equal(rows[0]!.verified, false);
  assert.equal(rows[0]!.errors, 3);
  // Reads are held against sendfile; the engine's is missing here, so the loopback figure serves.
  assert.equal(rows[0]!.limit?.name, 'loopback sendfile');
});

test('summary: latency percentiles are the medians of the repetitions', () => {
  const lat = (ms: number) => {
    const h = new LatencyHistogram();
    for (let i = 0; i < 100; i++) h.record(ms * 1e6);
    return summarizeLatencyNs(h);
  };
  const rows = summarize(
    [1, 9, 3].map((ms, i) => sample({ workload: 'latency', phase: 'end-to-end', repetition: i + 1, latency: { produce: lat(ms), endToEnd: lat(ms * 2) } })),
    LIMITS,
  );
  const r = rows[0]!;
  assert.ok(Math.abs(r.latency.produce!.p50Ms.median - 3) < 0.05);
  assert.ok(Math.abs(r.latency.endToEnd!.p99Ms.median - 6) < 0.05);
  assert.ok(Math.abs(r.latency.endToEnd!.p99Ms.max - 18) < 0.2);
  assert.equal(r.limit, null, 'no limit for a latency phase');
});

test('limitFor falls back to the disk when the engine was not measured', () => {
  assert.equal(limitFor('produce', LIMITS.filter((l) => !l.name.startsWith('engine')))?.name, 'disk sequential write');
  assert.equal(limitFor('consume-cold', LIMITS)?.name, 'loopback sendfile');
  assert.equal(limitFor('end-to-end', LIMITS), null);
});

test('summary: produce phases paired with an engine run are read against it, as the median of per-repetition ratios', () => {
  const rows = summarize(
    [
      sample({ repetition: 1, mbPerS: 300, pairedEngine: { mbPerS: 600, bytes: 1 } }),
      sample({ repetition: 2, mbPerS: 900, pairedEngine: { mbPerS: 1000, bytes: 1 } }),
      sample({ repetition: 3, mbPerS: 400, pairedEngine: { mbPerS: 2000, bytes: 1 } }),
    ],
    LIMITS,
  );
  // ratios 0.5, 0.9, 0.2: median 0.5 (not 400 / 1000)
  assert.deepEqual(rows[0]!.limit, { name: PAIRED_ENGINE_LIMIT, mbPerS: 1000, fraction: 0.5 });
  // one repetition without its engine run: the whole row falls back to the machine limit
  const partial = summarize([sample({ mbPerS: 200, pairedEngine: { mbPerS: 400, bytes: 1 } }), sample({ repetition: 2, mbPerS: 200 })], LIMITS);
  assert.deepEqual(partial[0]!.limit, { name: 'engine append (64 KiB batches)', mbPerS: 400, fraction: 0.5 });
});

test('free page reporting is read from the virtio balloon device features', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'strand-virtio-'));
  try {
    const device = (name: string, id: string, features: string): void => {
      fs.mkdirSync(path.join(root, name));
      fs.writeFileSync(path.join(root, name, 'device'), `${id}\n`);
      fs.writeFileSync(path.join(root, name, 'features'), `${features}\n`);
    };
    device('virtio0', '0x0002', '0000011111');
    assert.equal(freePageReporting(root), false, 'a block device with bit 5 set is not a balloon');
    device('virtio1', '0x0005', '0110000000');
    assert.equal(freePageReporting(root), false, 'a balloon without VIRTIO_BALLOON_F_REPORTING');
    fs.writeFileSync(path.join(root, 'virtio1', 'features'), '0110010100\n');
    assert.equal(freePageReporting(root), true);
    assert.equal(freePageReporting(path.join(root, 'missing')), false);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
