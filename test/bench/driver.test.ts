// The load generator against stand-in brokers: the null broker (answers without storing)
// and a silent one (never answers), without Strand.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { ProducerRun } from '../../bench/driver/producer.js';
import { CONSUMER_DEFAULTS, prepareConsumers, prepareProducers, type Endpoint } from '../../bench/driver/loadgen.js';
import type { ProducerWorkerConfig } from '../../bench/driver/messages.js';
import { hasStampTemplate } from '../../bench/driver/batches.js';

const NULL_BROKER = path.join(__dirname, '..', '..', 'bench', 'driver', 'null-broker.js');
const VERSIONS = { apiVersions: 3, produce: 9, fetch: 12, metadata: 12, createTopics: null, deleteTopics: null };

async function withNullBroker(fn: (ep: Endpoint) => Promise<void>): Promise<void> {
  const child = spawn(process.execPath, [NULL_BROKER], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.once('data', (d: Buffer) => resolve((JSON.parse(d.toString('utf8')) as { port: number }).port));
      child.once('exit', () => reject(new Error('null broker exited')));
    });
    await fn({ host: '127.0.0.1', port, versions: VERSIONS, epochNs: process.hrtime.bigint() });
  } finally {
    child.kill();
  }
}

test('producers spread partitions over connections and threads; acknowledged records add up', async () => {
  await withNullBroker(async (ep) => {
    const group = await prepareProducers(
      ep,
      {
        topic: 't',
        partitions: 6,
        recordBytes: 1024,
        batchBytes: 16 * 1024,
        acks: 1,
        connections: 3,
        threads: 2,
        inflight: 3,
        maxRequestBytes: 1024 * 1024,
        mode: { kind: 'max', durationMs: 60_000, warmupMs: 0, maxBytes: 3 * 1024 * 1024 },
        stamped: false,
        drainGraceMs: 5000,
      },
      'test',
    );
    group.start();
    const out = await group.finish();
    assert.deepEqual(out.errors, {});
    assert.equal(out.settings['threads'], 2);
    assert.equal(out.settings['connections'], 3);
    assert.deepEqual([...out.acked.keys()].sort(), [0, 1, 2, 3, 4, 5]);
    let total = 0;
    for (const [p, n] of out.acked) {
      total += n;
      // The null broker numbers each partition from 0, so the end offset is the count.
      assert.equal(out.endOffsets.get(p), n, `partition ${p}`);
      assert.equal(n % 15, 0, 'whole batches of 15 records');
    }
    assert.equal(total, out.records);
    assert.equal(out.payloadBytes, out.records * 1024);
    assert.ok(out.payloadBytes >= 3 * 1024 * 1024, 'the byte budget was spent');
  });
});

test('readers stop exactly at the end offsets and count what they received', async () => {
  await withNullBroker(async (ep) => {
    const ends = new Map([
      [0, 630],
      [1, 63],
      [2, 0],
      [3, 6300],
    ]);
    const group = await prepareConsumers(
      ep,
      {
        topic: 't',
        readers: 2,
        partitions: 4,
        connectionsPerReader: 2,
        threads: 2,
        recordBytes: 1024,
        stamped: false,
        endOffsets: ends,
        ...CONSUMER_DEFAULTS,
        idleTimeoutMs: 10_000,
      },
      'test',
    );
    group.start();
    const out = await group.finish();
    assert.ok(out.reachedEnd);
    assert.deepEqual(out.errors, {});
    for (const [p, end] of ends) assert.equal(out.consumed.get(p) ?? 0, 2 * end, `partition ${p}, two readers`);
    assert.equal(out.records, 2 * (630 + 63 + 6300));
  });
});

test('a broker that never answers cannot hold a produce phase beyond its drain grace', async () => {
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((s) => {
    sockets.add(s);
    s.on('data', () => {});
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const cfg: ProducerWorkerConfig = {
    role: 'producer',
    workerIndex: 0,
    host: '127.0.0.1',
    port: (silent.address() as net.AddressInfo).port,
    clientId: 'test',
    topic: 't',
    produceVersion: 9,
    acks: 1,
    requestTimeoutMs: 30_000,
    connections: [[0, 1], [2]],
    totalPartitions: 3,
    recordBytes: 100,
    recordsPerBatch: 10,
    maxRequestBytes: 1024 * 1024,
    inflight: 2,
    mode: { kind: 'max', durationMs: 200, warmupMs: 0, maxBytes: 1e9 },
    drainGraceMs: 300,
    stamped: false,
    epochNs: process.hrtime.bigint(),
    histogramBits: 8,
  };
  try {
    const run = new ProducerRun(cfg, () => {});
    await run.prepare();
    const result = await run.run();
    assert.equal(result.records, 0);
    const [name, count] = Object.entries(result.errors)[0]!;
    assert.match(name, /abandoned/);
    assert.equal(count, 4, 'two requests in flight on each of two connections');
    assert.deepEqual(new Map(result.failedPerPartition), new Map([[0, 20], [1, 20], [2, 20]]));
  } finally {
    for (const s of sockets) s.destroy();
    silent.close();
  }
});

test('a rate-mode producer is ready before the start signal: every batch template is built, nothing is sent', async () => {
  await withNullBroker(async (ep) => {
    // A record size no other test uses: the templates are cached per worker (module).
    const recordBytes = 333;
    const recordsPerBatch = 12;
    const cfg: ProducerWorkerConfig = {
      role: 'producer',
      workerIndex: 0,
      host: ep.host,
      port: ep.port,
      clientId: 'test',
      topic: 'rate',
      produceVersion: 9,
      acks: 1,
      requestTimeoutMs: 30_000,
      connections: [[0, 1], [2]],
      totalPartitions: 3,
      recordBytes,
      recordsPerBatch,
      maxRequestBytes: 1024 * 1024,
      inflight: 5,
      mode: { kind: 'rate', recordsPerS: 3000, durationMs: 300, lingerMs: 2 },
      drainGraceMs: 5000,
      stamped: true,
      epochNs: ep.epochNs,
      histogramBits: 8,
    };
    for (let count = 1; count <= recordsPerBatch; count++) assert.equal(hasStampTemplate(recordBytes, count), false);
    const run = new ProducerRun(cfg, () => {});
    await run.prepare();
    // Building a template on the schedule (cold code, JS CRC) would start the producer behind it.
    for (let count = 1; count <= recordsPerBatch; count++) assert.equal(hasStampTemplate(recordBytes, count), true, `template of ${count} records`);
    const result = await run.run();
    assert.equal(result.unsentRecords, 0);
    assert.equal(result.records, 900, '3000 records/s for 300 ms');
    assert.equal(result.ackLatency?.count, 900);
    // The null broker numbers each partition's records from 0: the warm-up sent none of its own.
    const ends = new Map(result.endOffsetPerPartition);
    assert.deepEqual(ends, new Map(result.ackedPerPartition));
    assert.equal([...ends.values()].reduce((a, b) => a + b, 0), 900);
  });
});
