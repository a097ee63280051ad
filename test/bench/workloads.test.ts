import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey, buildRecordBatch, decodeRequestBody, decodeRequestHeader, encodeRequestFrame, RecordBatchView } from '../../src/protocol/index.js';
import { fillerBatch, produceRequestTail, readStamp, recordsPerBatch, stampedBatch, visitStamps } from '../../bench/driver/batches.js';
import { REQUEST_HEAD_BYTES } from '../../bench/driver/connection.js';
import { deal, spreadOverThreads } from '../../bench/driver/loadgen.js';
import { parseDuration, parseOptions, parseSize, parseTarget } from '../../bench/options.js';
import { defaultScale, describeWorkloads, selectWorkloads, workloadCatalog } from '../../bench/workloads.js';
import { decodeRecords } from '../../src/protocol/index.js';

const KiB = 1024;
const full = workloadCatalog(defaultScale(false));
const byName = (name: string) => {
  const w = full.find((x) => x.name === name);
  assert.ok(w, `workload ${name} exists`);
  return w;
};

test('the catalog has the issue\'s workloads with their layouts', () => {
  assert.equal(new Set(full.map((w) => w.name)).size, full.length, 'names are unique');
  const t1 = byName('throughput-acks1');
  assert.deepEqual([t1.recordBytes, t1.partitions, t1.batchBytes, t1.acks], [KiB, 16, 64 * KiB, 1]);
  const tall = byName('throughput-acksall');
  assert.deepEqual([tall.recordBytes, tall.partitions, tall.acks], [KiB, 16, -1]);
  assert.deepEqual([byName('small-1p').recordBytes, byName('small-1p').partitions], [100, 1]);
  assert.deepEqual([byName('small-16p').recordBytes, byName('small-16p').partitions], [100, 16]);
  assert.deepEqual(byName('latency').phases, ['end-to-end']);
  assert.equal(byName('fanout').readers, 4);
  assert.equal(byName('partitions-1000').partitions, 1000);
  assert.equal(byName('partitions-10000').partitions, 10000);
  assert.equal(byName('connections-1000').idleConnections, 1000);
  const c = byName('catchup');
  assert.equal(c.dataBytes, 2 * 1024 * 1024 * 1024);
  assert.deepEqual(c.phases, ['setup-produce', 'consume-cold', 'consume-warm']);
  assert.equal(byName('kcat').driver, 'kcat');
  assert.equal(byName('kafka-perf').driver, 'kafka-perf');
  for (const w of full) {
    assert.ok(w.recordBytes >= 16, `${w.name}: records hold a latency stamp`);
    assert.ok(recordsPerBatch(w.recordBytes, w.batchBytes) >= 1);
    assert.ok(w.phases.length > 0 && w.title !== '' && w.description !== '');
  }
});

test('quick mode leaves out the 10,000-partition workload and scales the data down', () => {
  const quick = workloadCatalog(defaultScale(true));
  const chosen = selectWorkloads(quick, null, true);
  assert.ok(!chosen.some((w) => w.name === 'partitions-10000'));
  assert.ok(chosen.some((w) => w.name === 'partitions-1000'));
  assert.ok(quick.find((w) => w.name === 'catchup')!.dataBytes < 2 * 1024 ** 3);
  assert.equal(selectWorkloads(full, null, false).length, full.length);
});

test('selection by name or kind, in catalog order; unknown names throw', () => {
  assert.deepEqual(selectWorkloads(full, ['latency', 'throughput'], false).map((w) => w.name), ['throughput-acks1', 'throughput-acksall', 'latency']);
  assert.deepEqual(selectWorkloads(full, ['partitions-10000'], true).map((w) => w.name), ['partitions-10000']);
  assert.throws(() => selectWorkloads(full, ['nope'], false), /unknown workload 'nope'/);
});

test('--list text names every workload', () => {
  const text = describeWorkloads(full);
  for (const w of full) assert.ok(text.includes(w.name));
});

test('recordsPerBatch is the most records that fit the batch size', () => {
  for (const [recordBytes, batchBytes] of [[1024, 64 * KiB], [100, 64 * KiB], [1024, 16 * KiB], [100000, 1024]] as const) {
    const n = recordsPerBatch(recordBytes, batchBytes);
    const batch = fillerBatch(recordBytes, n);
    assert.equal(new RecordBatchView(batch, 0).recordCount, n);
    if (recordBytes < batchBytes) {
      assert.ok(batch.length <= batchBytes, `${n} records of ${recordBytes} B: ${batch.length} > ${batchBytes}`);
      assert.ok(fillerBatch(recordBytes, n + 1).length > batchBytes, `${n + 1} records would fit too`);
    } else {
      assert.equal(n, 1, 'a record larger than the batch size goes alone');
    }
  }
});

test('stamped batches carry valid CRCs, intended times and sequences', () => {
  const filler = Buffer.alloc(2000, 0x41);
  const batch = stampedBatch(100, 7, 40, (i) => 1e9 + i * 1000, filler);
  const view = new RecordBatchView(batch, 0);
  assert.ok(view.crcMatches(), 'CRC-32C valid');
  const records = decodeRecords(view);
  assert.equal(records.length, 7);
  records.forEach((r, i) => {
    assert.equal(r.value!.length, 100);
    assert.deepEqual(readStamp(r.value!), { intendedNs: 1e9 + i * 1000, sequence: 40 + i });
    assert.equal(r.value![16], 0x41, 'filler after the stamp');
  });
  // A second batch of the same shape comes from the cached template: different stamps.
  const again = decodeRecords(new RecordBatchView(stampedBatch(100, 7, 0, () => 5, filler), 0));
  assert.deepEqual(readStamp(again[6]!.value!), { intendedNs: 5, sequence: 6 });
});

test('the consumer reads stamps without decoding records: same offsets and stamps as decodeRecords', () => {
  const filler = Buffer.alloc(3000, 0x42);
  for (const [recordBytes, count] of [[16, 1], [100, 7], [1024, 64], [2000, 3]] as const) {
    const batch = Buffer.from(stampedBatch(recordBytes, count, 1000, (i) => 7e12 + i * 333, filler));
    batch.writeBigInt64BE(500n, 0); // base offset
    const view = new RecordBatchView(batch, 0);
    const seen: Array<[number, number, number]> = [];
    visitStamps(view, (offset, intendedNs, sequence) => seen.push([offset, intendedNs, sequence]));
    const expected = decodeRecords(view).map((r): [number, number, number] => {
      const stamp = readStamp(r.value!);
      return [r.offset, stamp.intendedNs, stamp.sequence];
    });
    assert.equal(seen.length, count);
    assert.deepEqual(seen, expected);
    assert.equal(seen[count - 1]![0], 500 + count - 1);
  }
  // keys, headers and values too short for a stamp: stamps of the others still line up
  const mixed = buildRecordBatch([
    { key: Buffer.from('k1'), value: Buffer.alloc(16, 1), headers: [{ key: 'h', value: Buffer.from('v') }] },
    { value: null },
    { value: Buffer.alloc(8) },
    { key: Buffer.alloc(300, 9), value: Buffer.concat([Buffer.alloc(8), Buffer.alloc(8)]) },
  ]);
  const offsets: number[] = [];
  visitStamps(new RecordBatchView(mixed, 0), (offset) => offsets.push(offset));
  assert.deepEqual(offsets, [0, 3]);
  // a record cut short throws instead of reading past the batch
  const cut = mixed.subarray(0, mixed.length - 5);
  cut.writeInt32BE(cut.length - 12, 8);
  assert.throws(() => visitStamps(new RecordBatchView(cut, 0), () => undefined));
});

test('a produce request sent as chunks is byte for byte the request sent as one buffer, records not copied', () => {
  const filler = Buffer.alloc(2000, 0x43);
  const parts = [
    { partition: 3, records: stampedBatch(1024, 40, 0, (i) => i, filler) },
    { partition: 7, records: stampedBatch(1024, 20, 0, (i) => i, filler) },
    { partition: 9, records: fillerBatch(100, 2) }, // small: copied into the header chunk
  ];
  for (const version of [3, 8, 9, 11]) {
    const body = { transactionalId: null, acks: 1, timeoutMs: 30000, topicData: [{ name: 'topic-a', partitionData: parts.map((p) => ({ index: p.partition, records: p.records })) }] };
    const whole = encodeRequestFrame(ApiKey.Produce, version, 0, 'client-x', body).subarray(REQUEST_HEAD_BYTES);
    const chunks = produceRequestTail(version, 'client-x', 1, 30000, 'topic-a', parts);
    assert.deepEqual(Buffer.concat(chunks), whole, `v${version}`);
    assert.ok(chunks.includes(parts[0]!.records) && chunks.includes(parts[1]!.records), 'large records are chunks of their own');
    assert.ok(!chunks.includes(parts[2]!.records));
    // and it decodes as the request it is
    const frame = Buffer.concat([Buffer.alloc(REQUEST_HEAD_BYTES), ...chunks]);
    frame.writeInt32BE(frame.length - 4, 0);
    frame.writeInt16BE(ApiKey.Produce, 4);
    frame.writeInt16BE(version, 6);
    const header = decodeRequestHeader(frame, 4);
    const decoded = decodeRequestBody(ApiKey.Produce, header, frame);
    assert.deepEqual(decoded.topicData[0]!.partitionData.map((p) => p.index), [3, 7, 9]);
    assert.deepEqual(decoded.topicData[0]!.partitionData[1]!.records, parts[1]!.records);
  }
});

test('partitions are dealt round-robin over connections, and connections over threads', () => {
  assert.deepEqual(deal(5, 2), [[0, 2, 4], [1, 3]]);
  assert.deepEqual(deal(1, 4), [[0]]);
  assert.deepEqual(spreadOverThreads(['a', 'b', 'c'], 2), [['a', 'c'], ['b']]);
  assert.deepEqual(spreadOverThreads(['a'], 4), [['a']]);
});

test('options: targets, sizes, durations and quick defaults', () => {
  assert.deepEqual(parseTarget('strand'), { kind: 'strand' });
  assert.deepEqual(parseTarget('bootstrap=10.0.0.5:9092'), { kind: 'bootstrap', host: '10.0.0.5', port: 9092, pid: null });
  assert.deepEqual(parseTarget('bootstrap=h:1,pid=77'), { kind: 'bootstrap', host: 'h', port: 1, pid: 77 });
  assert.equal(parseTarget('kafka-home=/opt/kafka').kind, 'kafka-home');
  assert.throws(() => parseTarget('bootstrap=nohost'), /HOST:PORT/);
  assert.throws(() => parseTarget('redpanda'), /unknown target/);
  assert.equal(parseSize('2GiB'), 2 * 1024 ** 3);
  assert.equal(parseSize('64KiB'), 65536);
  assert.equal(parseSize('100'), 100);
  assert.throws(() => parseSize('4MB'), /not a size/);
  assert.equal(parseDuration('8s'), 8000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('2m'), 120000);

  const quick = parseOptions(['--workloads=latency,fanout', 'bootstrap=127.0.0.1:9092', '--quick', 'strand']);
  assert.equal(quick.quick, true);
  assert.equal(quick.repetitions, 1);
  assert.deepEqual(quick.workloads, ['latency', 'fanout']);
  assert.deepEqual(quick.targets.map((t) => t.kind), ['bootstrap', 'strand']);
  const fullOpts = parseOptions(['--repetitions', '5', '--duration=10s', '--latency-rate=50']);
  assert.equal(fullOpts.repetitions, 5);
  assert.equal(fullOpts.durationMs, 10000);
  assert.equal(fullOpts.latencyRateMBps, 50);
  assert.deepEqual(fullOpts.targets, [{ kind: 'strand' }], 'strand by default');
  assert.throws(() => parseOptions(['--bogus']), /unknown option/);
  assert.throws(() => parseOptions(['--duration=1s', '--warmup=2s']), /warmup/);
});
