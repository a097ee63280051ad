import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameReader } from '../../bench/driver/frame-reader.js';
import { consumerPerfArgs, parseConsumerPerf, parseProducerPerf, producerPerfArgs } from '../../bench/external/kafka-perf.js';
import { kcatConsumeArgs, kcatProduceArgs } from '../../bench/external/kcat.js';
import { filesystemOf, parseEngineBench } from '../../bench/machine.js';
import { parseStatCpuTicks, parseStatusKb, ProcessSampler } from '../../bench/proc-stats.js';

test('producer perf-test summary line', () => {
  const out = [
    '2347511 records sent, 469408.2 records/sec (458.41 MB/sec), 48.9 ms avg latency, 433.0 ms max latency.',
    '5000000 records sent, 480307.396 records/sec (469.05 MB/sec), 45.12 ms avg latency, 433.00 ms max latency, 31 ms 50th, 128 ms 95th, 190 ms 99th, 402 ms 99.9th.',
  ].join('\n');
  assert.deepEqual(parseProducerPerf(out), {
    records: 5000000,
    recordsPerS: 480307.396,
    mbPerS: 469.05,
    avgMs: 45.12,
    maxMs: 433,
    p50Ms: 31,
    p95Ms: 128,
    p99Ms: 190,
    p999Ms: 402,
  });
  assert.equal(parseProducerPerf('Exception in thread "main" org.apache.kafka...'), null);
});

test('consumer perf-test columns by name, with and without the group-join columns', () => {
  const newer = [
    'WARNING: something',
    'start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec',
    '2026-01-01 10:00:00:000, 2026-01-01 10:00:05:000, 976.5625, 195.3125, 1000000, 200000.0000, 3021, 1979, 493.4626, 505305.7100',
  ].join('\n');
  assert.deepEqual(parseConsumerPerf(newer), { mb: 976.5625, mbPerS: 195.3125, records: 1000000, recordsPerS: 200000, fetchMbPerS: 493.4626 });
  const older = 'start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec\n2019-01-01 10:00:00:000, 2019-01-01 10:00:04:000, 100.0, 25.0, 102400, 25600.0\n';
  assert.equal(parseConsumerPerf(older)?.fetchMbPerS, null);
  assert.equal(parseConsumerPerf(older)?.records, 102400);
  assert.equal(parseConsumerPerf('no header here'), null);
});

test('perf-tool and kcat command lines carry the workload\'s settings', () => {
  const p = producerPerfArgs('127.0.0.1:9092', 't', 1000, 1024, 1);
  assert.deepEqual(p.slice(0, 8), ['--topic', 't', '--num-records', '1000', '--record-size', '1024', '--throughput', '-1']);
  assert.ok(p.includes('bootstrap.servers=127.0.0.1:9092') && p.includes('acks=1') && p.includes('batch.size=65536') && p.includes('linger.ms=5'));
  assert.ok(producerPerfArgs('h:1', 't', 1, 1, -1).includes('acks=all'));
  assert.equal(consumerPerfArgs('3.7.0', 'h:1', 't', 10, 'g')[0], '--bootstrap-server');
  assert.equal(consumerPerfArgs('2.5.0', 'h:1', 't', 10, 'g')[0], '--bootstrap-server');
  assert.equal(consumerPerfArgs('2.4.1', 'h:1', 't', 10, 'g')[0], '--broker-list');
  assert.ok(consumerPerfArgs('3.7.0', 'h:1', 't', 10, 'g').join(' ').includes('--messages 10'));
  const k = kcatProduceArgs('h:1', 't', '/tmp/f', 1).join(' ');
  assert.ok(k.startsWith('-P -b h:1 -t t -l /tmp/f') && k.includes('-X acks=1') && k.includes('-X batch.size=65536'));
  assert.deepEqual(kcatConsumeArgs('h:1', 't'), ['-C', '-b', 'h:1', '-t', 't', '-o', 'beginning', '-e', '-q', '-f', '.']);
});

test('the storage bench lines the suite reads', () => {
  const out = `strand storage bench: 2 cpus, node v20.20.2, dir /tmp/x
crc32c 4 MiB (native)                            25.38 GB/s  vs JS table                      0.44 GB/s  => 57.69x
append 1 KiB batches                            829.75 MB/s  vs fs.writeSync same bytes    1017.06 MB/s  => 0.82x
append 64 KiB batches                          2945.87 MB/s  vs fs.writeSync same bytes    3503.36 MB/s  => 0.84x
append 64 KiB batches, 16 logs, 4096 MiB       1650.10 MB/s  vs fs.writeSync same bytes    1702.00 MB/s  => 0.97x
fetch 1 MiB x1, splice sink                    2729.72 MB/s  vs read into Buffer + write   1876.52 MB/s  => 1.45x
fetch 1 MiB x1, splice sink, per CPU-s         3061.04 MB/s  vs read into Buffer + write   1886.61 MB/s  => 1.62x
`;
  const r = parseEngineBench(out);
  assert.equal(r.appendMBps, 2945.87);
  assert.equal(r.sustainedAppendMBps, 1650.1);
  assert.equal(r.sendfileMBps, 2729.72);
  assert.deepEqual(parseEngineBench('fetch 1 MiB x1, node sink   1200.5 MB/s  vs x').sendfileMBps, 1200.5);
  assert.deepEqual(parseEngineBench('nothing'), { appendMBps: null, sustainedAppendMBps: null, sustainedAppendLine: null, sendfileMBps: null, sendfileLine: null });
});

test('the data filesystem is the longest mount prefix', () => {
  const mounts = '/dev/vda / ext4 rw 0 0\ntmpfs /tmp tmpfs rw 0 0\n/dev/vdb /tmpdata xfs rw 0 0\n';
  assert.equal(filesystemOf('/tmp/x', mounts), 'tmpfs tmpfs on /tmp');
  assert.equal(filesystemOf('/tmpdata/y', mounts), 'xfs /dev/vdb on /tmpdata');
  assert.equal(filesystemOf('/home/u', mounts), 'ext4 /dev/vda on /');
});

test('/proc parsing: CPU ticks past a process name with spaces and parentheses, status sizes', () => {
  const stat = '4242 (node (worker) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 11 0 100 1000000 5000 18446744073709551615';
  assert.equal(parseStatCpuTicks(stat), 325);
  const status = 'Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t11\n';
  assert.equal(parseStatusKb(status, 'VmRSS'), 102400 * 1024);
  assert.equal(parseStatusKb(status, 'VmHWM'), 204800 * 1024);
  assert.equal(parseStatusKb(status, 'VmSwap'), null);
});

test('the process sampler reads this process', () => {
  const sampler = new ProcessSampler(process.pid);
  let x = 0;
  for (let i = 0; i < 2e6; i++) x += Math.sqrt(i);
  const usage = sampler.stop();
  assert.ok(x > 0);
  assert.ok(usage.cpuS >= 0);
  assert.ok(usage.peakRssBytes > 1024 * 1024 && usage.peakRssBytes >= usage.endRssBytes * 0.5);
});

/** Feeds `stream` to a FrameReader in reads of the given sizes, as the kernel would. */
function feed(stream: Buffer, readSizes: number[]): Buffer[] {
  const frames: Buffer[] = [];
  const errors: Error[] = [];
  const reader = new FrameReader();
  reader.attach((f) => frames.push(Buffer.from(f)), (e) => errors.push(e));
  let at = 0;
  let i = 0;
  while (at < stream.length) {
    const target = reader.nextBuffer();
    assert.ok(target.length > 0, 'the reader always offers room');
    const n = Math.min(target.length, stream.length - at, readSizes[i++ % readSizes.length]!);
    stream.copy(target, 0, at, at + n);
    reader.onRead(n);
    at += n;
  }
  assert.deepEqual(errors, []);
  return frames;
}

test('frames come out whole and in order whatever the read sizes (property)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.integer({ min: 4, max: 300 }), fc.integer({ min: 60 * 1024, max: 70 * 1024 }), fc.integer({ min: 200 * 1024, max: 600 * 1024 })), { minLength: 1, maxLength: 12 }),
      fc.array(fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 70000 }), fc.constant(1 << 20)), { minLength: 1, maxLength: 8 }),
      (sizes, reads) => {
        const bodies = sizes.map((size, k) => {
          const b = Buffer.alloc(size);
          for (let j = 0; j < size; j += 997) b[j] = (k * 31 + j) & 0xff;
          b.writeInt32BE(k, 0);
          return b;
        });
        const stream = Buffer.concat(bodies.flatMap((b) => [Buffer.from([b.length >>> 24, (b.length >>> 16) & 0xff, (b.length >>> 8) & 0xff, b.length & 0xff]), b]));
        const frames = feed(stream, reads);
        assert.equal(frames.length, bodies.length);
        frames.forEach((f, k) => assert.ok(f.equals(bodies[k]!), `frame ${k} of ${bodies[k]!.length} bytes`));
      },
    ),
    { numRuns: 150 },
  );
});

test('an impossible frame size is reported', () => {
  const reader = new FrameReader();
  const errors: Error[] = [];
  reader.attach(() => assert.fail('no frame expected'), (e) => errors.push(e));
  const target = reader.nextBuffer();
  Buffer.from([0, 0, 0, 1, 9]).copy(target);
  reader.onRead(5);
  assert.match(errors[0]!.message, /impossible frame size 1/);
});
