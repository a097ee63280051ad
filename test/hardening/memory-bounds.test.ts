// A request that declares a huge array, string or bytes field in a small frame is rejected
// before anything is allocated for it: thousands of them, sent in parallel, do not move the
// broker's RSS, and the broker keeps serving.

import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ApiKey, defaultMetadataRequest } from '../../src/protocol/index.js';
import { buildRecordBatch } from '../../src/protocol/record-batch.js';
import { compress } from '../../src/workers/codecs.js';
import { BrokerProcess, RssSampler, sleep } from './broker-process.js';
import { CodecClient, advertisedApis, createTopics } from './codec-client.js';
import { batchWithSection } from './fuzz-inputs.js';
import { produce } from './log-client.js';

const COPIES = 400;
const PARALLEL = 32;
const RSS_JUMP_LIMIT_KIB = 48 * 1024;

function frame(...parts: Array<Buffer | number[]>): Buffer {
  const payload = Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));
  const out = Buffer.alloc(4 + payload.length);
  out.writeInt32BE(payload.length, 0);
  payload.copy(out, 4);
  return out;
}

function header(apiKey: number, version: number, flexible: boolean): Buffer {
  const h = Buffer.alloc(flexible ? 14 : 13);
  h.writeInt16BE(apiKey, 0);
  h.writeInt16BE(version, 2);
  h.writeInt32BE(1, 4);
  h.writeInt16BE(3, 8);
  h.write('mem', 10);
  return h; // flexible: the trailing 0 byte is an empty tagged-field section
}

const int32 = (v: number): number[] => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
const int16 = (v: number): number[] => [(v >>> 8) & 0xff, v & 0xff];
const UVARINT_MAX = [0xff, 0xff, 0xff, 0xff, 0x0f];

/** Small frames that each declare gigabytes. */
const HOSTILE: Record<string, Buffer> = {
  'Metadata v1, topics count 2^31-1': frame(header(ApiKey.Metadata, 1, false), int32(0x7fffffff)),
  'Metadata v9, compact topics count 2^32-2': frame(header(ApiKey.Metadata, 9, true), UVARINT_MAX),
  'Metadata v1, topic name length 32767': frame(header(ApiKey.Metadata, 1, false), int32(1), int16(0x7fff), [0x61]),
  'Metadata v9, compact name length 2^32-2': frame(header(ApiKey.Metadata, 9, true), [2], UVARINT_MAX, [0x61]),
  'Produce v3, records length 2^31-1': frame(header(ApiKey.Produce, 3, false), int16(0xffff), int16(1), int32(1000), int32(1), int16(1), [0x74], int32(1), int32(0), int32(0x7fffffff), [0, 0]),
  'Produce v9, compact records length 2^32-2': frame(header(ApiKey.Produce, 9, true), [0], int16(1), int32(1000), [2, 2, 0x74, 2], int32(0), UVARINT_MAX, [0, 0]),
  'CreateTopics v0, topics count 2^31-1': frame(header(ApiKey.CreateTopics, 0, false), int32(0x7fffffff)),
  'Fetch v4, topics count 2^31-1': frame(header(ApiKey.Fetch, 4, false), int32(-1), int32(0), int32(1), int32(1000), [0], int32(0x7fffffff)),
  'header client id length 32767': frame(int16(ApiKey.ApiVersions), int16(0), int32(1), int16(0x7fff), [0x61]),
  'header v2 tagged-field count 2^32-1': frame(header(ApiKey.Metadata, 9, false).subarray(0, 13), UVARINT_MAX),
  'header v2 tagged field size 2^32-2': frame(header(ApiKey.Metadata, 9, false).subarray(0, 13), [1, 0], UVARINT_MAX),
};

/** Sends `bytes` on a fresh connection; resolves when the broker answers or closes. */
function sendOne(port: number, bytes: Buffer): Promise<'closed' | 'answered' | 'silent'> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let outcome: 'closed' | 'answered' | 'silent' = 'silent';
    const timer = setTimeout(() => socket.destroy(), 5_000);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', () => {
      outcome = 'answered';
      socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      if (outcome === 'silent' && !socket.destroyed) outcome = 'closed';
      resolve(outcome === 'silent' ? 'closed' : outcome);
    });
    socket.on('end', () => {
      if (outcome === 'silent') outcome = 'closed';
    });
  });
}

describe('requests that declare huge lengths', () => {
  let broker: BrokerProcess;

  before(async () => {
    broker = await BrokerProcess.launch();
  });

  after(async () => {
    await broker?.dispose();
  });

  for (const [name, bytes] of Object.entries(HOSTILE)) {
    it(`${name}: rejected before allocating (${COPIES} copies, ${bytes.length} bytes each)`, async () => {
      await sleep(200);
      const sampler = new RssSampler(() => broker.pid, 10);
      const before = sampler.sample()!;
      sampler.start();
      const outcomes = { closed: 0, answered: 0, silent: 0 };
      let next = 0;
      await Promise.all(
        Array.from({ length: PARALLEL }, async () => {
          while (next < COPIES) {
            next++;
            outcomes[await sendOne(broker.port, bytes)]++;
          }
        }),
      );
      sampler.stop();
      assert.equal(broker.running, true, broker.output().slice(-4000));
      assert.equal(outcomes.silent, 0, `the broker neither answered nor closed ${outcomes.silent} connections`);
      const jump = sampler.maxKiB - before;
      assert.ok(jump < RSS_JUMP_LIMIT_KIB, `RSS went from ${before} KiB to ${sampler.maxKiB} KiB`);
      // And the broker still serves.
      const client = await CodecClient.connect(broker.port);
      try {
        const md = await client.request(ApiKey.Metadata, 1, { ...defaultMetadataRequest(), topics: [] });
        assert.equal(md.brokers.length, 1);
      } finally {
        client.close();
      }
    });
  }

  // Produce decompresses compressed batches to check their records, and holds each whole
  // decompressed section in memory; nothing bounds how many run at once. A 8 KiB gzip batch
  // holding one record of 8 MiB of zeros costs 8 MiB, so 128 of them pipelined over 8
  // connections (1 MiB of requests) took the broker's RSS past 1 GiB (with 32 MiB bombs:
  // 128 requests, 4.5 GiB, and it stayed there; the long fuzz run reached 6.7 GiB).
  // Kafka checks records from a decompressing stream, a few request threads at a time.
  // Fix: walk compressed records from a stream (bounded chunks) instead of inflating the
  // whole section, and/or bound concurrent decompressions (and their bytes) broker-wide.
  it('pipelined decompression bombs do not multiply into the broker\'s memory', async () => {
    const setup = await CodecClient.connect(broker.port);
    const apis = await advertisedApis(setup);
    if (!apis.has(ApiKey.Produce)) {
      setup.close();
      return;
    }
    await createTopics(setup, apis, [{ name: 'bombs', partitions: 1 }]);
    setup.close();
    const section = buildRecordBatch([{ key: null, value: Buffer.alloc(8 * 1024 * 1024) }]).subarray(61);
    const bomb = batchWithSection(await compress(1, section), 1, 1);
    assert.ok(bomb.length < 64 * 1024, `the bomb is small on the wire (${bomb.length} bytes)`);
    const clients = await Promise.all(Array.from({ length: 8 }, () => CodecClient.connect(broker.port)));
    await sleep(300);
    const sampler = new RssSampler(() => broker.pid, 10);
    const before = sampler.sample()!;
    sampler.start();
    try {
      await Promise.all(clients.flatMap((c) => Array.from({ length: 16 }, () => produce(c, apis, 'bombs', 0, bomb, { timeoutMs: 60_000 }))));
    } finally {
      sampler.stop();
      for (const c of clients) c.close();
    }
    assert.equal(broker.running, true);
    const jump = sampler.maxKiB - before;
    assert.ok(jump < 384 * 1024, `128 requests of ${bomb.length} bytes took RSS from ${before >> 10} MiB to ${sampler.maxKiB >> 10} MiB`);
  });
});
