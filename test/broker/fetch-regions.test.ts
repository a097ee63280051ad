// The fds of a fetch response's file regions must outlive the log they came from: responses
// wait in request order, and meanwhile retention or a topic deletion may close the segment
// files (and the fd numbers may be reused by other files).
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { waitingFetchCount } from '../../src/broker/handlers/fetch.js';
import { ApiKey, ErrorCode, iterateBatches } from '../../src/protocol/index.js';
import { Log, readRegions, releaseRegions, retainRegions } from '../../src/storage/index.js';
import { batch, createTopic, fetchBody, produceBody, RawClient, recordBytes, startTestBroker } from './produce-helpers.js';

/** Opens many files holding `fill`, so that freed fd numbers are taken by other files. */
function occupyFds(dir: string, count: number, fill: number): number[] {
  const file = path.join(dir, `decoy-${fill}`);
  writeFileSync(file, Buffer.alloc(256 * 1024, fill));
  const fds: number[] = [];
  for (let i = 0; i < count; i++) fds.push(openSync(file, 'r'));
  return fds;
}

describe('retained file regions', () => {
  test('read the original bytes after the log is deleted and its fd numbers reused', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'strand-regions-'));
    try {
      const log = Log.open(path.join(dir, 't-0'));
      const sent = batch([{ value: Buffer.alloc(1000, 7) }]);
      log.append(sent);
      const regions = log.read(0, 1 << 20).regions;
      const held = retainRegions(regions);
      assert.notEqual(held[0]!.fd, regions[0]!.fd);
      await log.delete();
      const decoys = occupyFds(dir, 16, 0x55);
      try {
        const [bytes] = readRegions(held);
        assert.deepEqual(bytes!.subarray(16), sent.subarray(16));
      } finally {
        releaseRegions(held);
        for (const fd of decoys) closeSync(fd);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('fetch responses queued behind a delayed fetch', () => {
  for (const [label, valueBytes] of [['copied (small)', 2_000], ['sendfile (large)', 200_000]] as const) {
    test(`keep their bytes when the topic is deleted before they are written: ${label}`, async () => {
      const tb = await startTestBroker({ 'file.delete.delay.ms': '0' });
      const decoys: number[] = [];
      try {
        await createTopic(tb, 'slow', 1);
        await createTopic(tb, 'doomed', 1);
        const c = await RawClient.connect(tb.port);
        const sent = batch([{ value: Buffer.alloc(valueBytes, 0x42) }]);
        const p = await c.request(ApiKey.Produce, 9, produceBody('doomed', 0, sent));
        assert.equal(p.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);

        // 1. A fetch that waits; 2. a fetch that is answered at once but queued behind it.
        const first = c.request(ApiKey.Fetch, 12, fetchBody([{ topic: 'slow', partition: 0, offset: 0 }], { maxWaitMs: 30_000 }));
        const second = c.request(ApiKey.Fetch, 12, fetchBody([{ topic: 'doomed', partition: 0, offset: 0, maxBytes: 1 << 20 }]));
        for (let i = 0; i < 500 && waitingFetchCount(tb.broker.services) === 0; i++) await new Promise((r) => setTimeout(r, 10));
        assert.equal(waitingFetchCount(tb.broker.services), 1);
        // Let the second response be encoded (it holds the regions) before deleting.
        await new Promise((r) => setTimeout(r, 50));

        const log = tb.broker.services.partitions.getLog('doomed', 0)!;
        await tb.broker.services.registry.delete('doomed');
        for (let i = 0; i < 500 && !log.isClosed; i++) await new Promise((r) => setTimeout(r, 10));
        assert.equal(log.isClosed, true);
        decoys.push(...occupyFds(tb.dir, 16, 0x66));

        const other = await RawClient.connect(tb.port);
        await other.request(ApiKey.Produce, 9, produceBody('slow', 0, batch([{ value: 'go' }])));
        other.close();
        await first;
        const res = await second;
        const got = [...iterateBatches(recordBytes(res.responses[0]!.partitions[0]!.records))];
        assert.equal(got.length, 1);
        assert.equal(got[0]!.crcMatches(), true);
        assert.deepEqual(got[0]!.bytes.subarray(16), sent.subarray(16));
        c.close();
      } finally {
        for (const fd of decoys) closeSync(fd);
        await tb.stop();
      }
    });
  }
});
