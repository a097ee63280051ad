// Log.appendAsync: appends on the engine's append threads. Calls made without waiting land
// in call order, errors reject without disturbing later appends, close waits for queued
// appends, and a closed log refuses new ones.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { Log, type parseRecordBatches, StorageError } from '../../src/storage/index.js';
import { batchFor, readAllBatches as readAll, recordsFor, removeDir, tempDir } from './helpers.js';

function assertBatchesInOrder(batches: ReturnType<typeof parseRecordBatches>, count: number): void {
  assert.equal(batches.length, count);
  let expected = 0;
  batches.forEach((b, i) => {
    assert.equal(b.baseOffset, expected, `batch ${i}`);
    assert.equal(b.records[0]!.key?.toString(), recordsFor(i)[0]!.key, `batch ${i} content`);
    expected = b.lastOffset + 1;
  });
}

describe('Log.appendAsync', () => {
  let root: string;
  before(() => {
    root = tempDir();
  });
  after(() => removeDir(root));

  it('lands appends made without waiting in call order, across segment rolls, on several logs at once', async () => {
    const logs = [0, 1, 2, 3].map((i) => Log.open(path.join(root, `order-${i}`), { segmentBytes: 32 * 1024, indexIntervalBytes: 1024 }));
    const count = 1500;
    const results = await Promise.all(logs.flatMap((log) => Array.from({ length: count }, (_, i) => log.appendAsync(batchFor(i)))));
    for (let l = 0; l < logs.length; l++) {
      let expected = 0;
      for (let i = 0; i < count; i++) {
        const r = results[l * count + i]!;
        assert.equal(r.baseOffset, expected, `log ${l} append ${i}`);
        assert.equal(r.recordCount, recordsFor(i).length);
        expected = r.lastOffset + 1;
      }
      const log = logs[l]!;
      assert.equal(log.logEndOffset, expected);
      assert.ok(log.segments().length > 10);
      assertBatchesInOrder(readAll(log), count);
    }
    await Promise.all(logs.map((log) => log.close()));
  });

  it('rejects a corrupt batch with StorageError and appends the ones around it', async () => {
    const log = Log.open(path.join(root, 'corrupt'));
    const bad = Buffer.from(batchFor(1));
    bad[bad.length - 1] ^= 0xff; // inside the CRC's range
    const first = log.appendAsync(batchFor(0));
    const middle = log.appendAsync(bad);
    const last = log.appendAsync(batchFor(1));
    assert.equal((await first).baseOffset, 0);
    await assert.rejects(middle, (err: unknown) => err instanceof StorageError && err.code === 'CORRUPT_MESSAGE' && /crc/i.test(err.message));
    const r = await last;
    assert.equal(r.baseOffset, recordsFor(0).length);
    assertBatchesInOrder(readAll(log), 2);
    await log.close();
  });

  it('close waits for queued appends, which survive a reopen; a closed log refuses appends', async () => {
    const dir = path.join(root, 'close');
    const log = Log.open(dir, { segmentBytes: 16 * 1024 });
    const count = 400;
    const pending = Array.from({ length: count }, (_, i) => log.appendAsync(batchFor(i)));
    const closed = log.close();
    await assert.rejects(log.appendAsync(batchFor(0)), (err: unknown) => err instanceof StorageError && err.code === 'CLOSED');
    const results = await Promise.all(pending);
    await closed;
    const end = results[count - 1]!.lastOffset + 1;
    const reopened = Log.open(dir);
    assert.equal(reopened.logEndOffset, end);
    assertBatchesInOrder(readAll(reopened), count);
    await reopened.close();
  });

  it('keeps the buffer alive while the append runs (no copy is taken)', async () => {
    const log = Log.open(path.join(root, 'gc'));
    const appends: Array<Promise<unknown>> = [];
    // Buffers referenced only by the engine while queued; a GC in between must not free them.
    for (let i = 0; i < 200; i++) appends.push(log.appendAsync(Buffer.from(batchFor(i))));
    v8.setFlagsFromString('--expose-gc');
    (vm.runInNewContext('gc') as () => void)();
    await Promise.all(appends);
    assertBatchesInOrder(readAll(log), 200);
    await log.close();
  });
});
