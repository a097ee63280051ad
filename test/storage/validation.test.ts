import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildRecordBatch, Log, parseRecordBatches, StorageError } from '../../src/storage/index.js';
import type { StorageErrorCode } from '../../src/storage/index.js';
import { batchFor, removeDir, tempDir } from './helpers.js';

function isStorageError(code: StorageErrorCode): (e: unknown) => boolean {
  return (e: unknown) => e instanceof StorageError && e.code === code && e.message.length > 0;
}

describe('append rejects bad batches and leaves the log unchanged', () => {
  let root: string;
  let log: Log;
  let before_: { end: number; size: number; bytes: Buffer };
  before(() => {
    root = tempDir();
    log = Log.open(path.join(root, 'bad-0'));
    for (let i = 0; i < 5; i++) log.append(batchFor(i));
  });
  after(async () => {
    await log.close();
    removeDir(root);
  });

  function snapshot(): { end: number; size: number; bytes: Buffer } {
    return { end: log.logEndOffset, size: log.sizeBytes, bytes: Buffer.concat(log.readBuffers(0, 1 << 20)) };
  }

  function expectRejected(buf: Buffer, code: StorageErrorCode, opts?: { maxBatchBytes?: number }): void {
    before_ = snapshot();
    assert.throws(() => log.append(buf, opts), isStorageError(code));
    const now = snapshot();
    assert.equal(now.end, before_.end);
    assert.equal(now.size, before_.size);
    assert.ok(now.bytes.equals(before_.bytes));
  }

  const good = batchFor(100);

  it('wrong magic', () => {
    const b = Buffer.from(good);
    b[16] = 1;
    expectRejected(b, 'INVALID_RECORD');
  });

  it('bad CRC', () => {
    const b = Buffer.from(good);
    b[b.length - 3] ^= 0x40;
    expectRejected(b, 'CORRUPT_MESSAGE');
  });

  it('batch length below the minimum', () => {
    const b = Buffer.from(good);
    b.writeInt32BE(10, 8);
    expectRejected(b, 'CORRUPT_MESSAGE');
  });

  it('buffer shorter than a batch header', () => {
    expectRejected(good.subarray(0, 30), 'CORRUPT_MESSAGE');
    // No batch at all is a malformed request rather than damaged data.
    expectRejected(Buffer.alloc(0), 'INVALID_RECORD');
  });

  it('batch length beyond the buffer', () => {
    const b = Buffer.from(good);
    b.writeInt32BE(good.length, 8);
    expectRejected(b, 'CORRUPT_MESSAGE');
    expectRejected(good.subarray(0, good.length - 1), 'CORRUPT_MESSAGE');
  });

  it('a good batch followed by a bad one appends neither', () => {
    const bad = Buffer.from(good);
    bad[bad.length - 1] ^= 1;
    expectRejected(Buffer.concat([good, bad]), 'CORRUPT_MESSAGE');
    expectRejected(Buffer.concat([good, good.subarray(0, 20)]), 'CORRUPT_MESSAGE');
  });

  it('a batch above maxBatchBytes', () => {
    const big = buildRecordBatch([{ value: Buffer.alloc(10_000) }]);
    expectRejected(big, 'MESSAGE_TOO_LARGE', { maxBatchBytes: 5000 });
  });

  it('still appends good batches afterwards at the next offset', () => {
    const end = log.logEndOffset;
    const r = log.append(good);
    assert.equal(r.baseOffset, end);
    const batches = parseRecordBatches(Buffer.concat(log.readBuffers(end, 1 << 20)));
    assert.equal(batches[0].baseOffset, end);
  });
});
