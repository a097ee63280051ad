// file.delete.delay.ms: segments leave the log at once, their files are renamed
// "<name>.deleted", stay open for readers that hold their regions, and are removed later.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildRecordBatch, Log, parseRecordBatches, readRegions, segmentFileName } from '../../src/storage/index.js';
import { batchFor, removeDir, tempDir } from './helpers.js';

function deletedFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.endsWith('.deleted')).sort();
}

function fill(log: Log, batches: number): void {
  for (let i = 0; i < batches; i++) log.append(batchFor(i));
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('deleted segments (file.delete.delay.ms)', () => {
  let root: string;
  before(() => {
    root = tempDir();
  });
  after(() => removeDir(root));

  it('renames segments deleted by retention, keeps them readable, removes them after the delay', async () => {
    const dir = path.join(root, 'retention-0');
    const log = Log.open(dir, { segmentBytes: 4096, fileDeleteDelayMs: 300 });
    fill(log, 100);
    const segments = log.segments();
    assert.ok(segments.length > 4);
    // a fetch that resolved its regions before the deletion
    const { regions } = log.read(0, 1 << 20, { maxOffset: segments[2].baseOffset });
    const expected = Buffer.concat(readRegions(regions));

    assert.equal(log.deleteSegmentsBefore(segments[2].baseOffset), 2);
    const gone = [segments[0].baseOffset, segments[1].baseOffset].map(segmentFileName);
    const names = fs.readdirSync(dir);
    for (const name of gone) {
      assert.ok(!names.includes(name), `${name} left the log at once`);
      for (const ext of ['.log', '.index', '.timeindex']) {
        assert.ok(names.includes(name.replace('.log', ext) + '.deleted'), `${ext} renamed: ${names.join(',')}`);
      }
    }
    assert.equal(log.segments()[0].baseOffset, segments[2].baseOffset);
    assert.deepEqual(Buffer.concat(readRegions(regions)), expected, 'the renamed files are still open and readable');

    const started = Date.now();
    await waitFor('the delayed removal', () => deletedFiles(dir).length === 0);
    assert.ok(Date.now() - started >= 250, 'not removed before the delay');
    await log.close();
  });

  it('removes at once with fileDeleteDelayMs 0', async () => {
    const dir = path.join(root, 'immediate-0');
    const log = Log.open(dir, { segmentBytes: 4096, fileDeleteDelayMs: 0 });
    fill(log, 60);
    const segments = log.segments();
    assert.equal(log.deleteSegmentsBefore(segments[1].baseOffset), 1);
    assert.deepEqual(deletedFiles(dir), []);
    assert.ok(!fs.existsSync(path.join(dir, segmentFileName(0))));
    await log.close();
  });

  it('delays the removal of segments cut off by truncation; close removes what still waits', async () => {
    const dir = path.join(root, 'truncate-0');
    const log = Log.open(dir, { segmentBytes: 4096, fileDeleteDelayMs: 60_000 });
    fill(log, 100);
    const segments = log.segments();
    const cut = segments[2].baseOffset;
    log.truncateTo(cut);
    assert.equal(log.logEndOffset, cut);
    const renamed = deletedFiles(dir).filter((n) => n.endsWith('.log.deleted'));
    assert.deepEqual(renamed, segments.slice(3).map((s) => segmentFileName(s.baseOffset) + '.deleted'));
    // appends go on, and may reuse a retired segment's name
    fill(log, 40);
    assert.ok(log.logEndOffset > cut);
    await log.close();
    assert.deepEqual(deletedFiles(dir), [], 'close removes the files waiting for the delay');
    const reopened = Log.open(dir);
    assert.equal(reopened.logStartOffset, 0);
    await reopened.close();
  });

  it('removes leftover .deleted and .cleaned files on open', async () => {
    const dir = path.join(root, 'leftovers-0');
    const log = Log.open(dir, { segmentBytes: 4096 });
    fill(log, 30);
    const end = log.logEndOffset;
    await log.close();
    const junk = [segmentFileName(5) + '.deleted', segmentFileName(5).replace('.log', '.index') + '.deleted', segmentFileName(0) + '.cleaned'];
    for (const j of junk) fs.writeFileSync(path.join(dir, j), 'junk');
    const reopened = Log.open(dir, { segmentBytes: 4096 });
    for (const j of junk) assert.ok(!fs.existsSync(path.join(dir, j)), j);
    assert.equal(reopened.logEndOffset, end);
    await reopened.close();
  });

  it('a sendfile waiting for earlier socket writes still sends the bytes of a segment deleted meanwhile', async () => {
    const dir = path.join(root, 'inflight-0');
    const log = Log.open(dir, { segmentBytes: 64 * 1024, fileDeleteDelayMs: 60_000 });
    const value = Buffer.alloc(8 * 1024);
    for (let i = 0; i < 40; i++) log.append(buildRecordBatch([{ key: `k${i}`, value: value.fill(i) }]));
    const second = log.segments()[1].baseOffset;
    const { regions, bytes } = log.read(0, 1 << 20, { maxOffset: second });
    const expected = Buffer.concat(readRegions(regions));

    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const peer = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    const local = await accepted;
    try {
      // a large write ahead of the file bytes: sendTo must wait for it before dup'ing fds
      const header = Buffer.alloc(8 * 1024 * 1024, 0x33);
      const chunks: Buffer[] = [];
      let got = 0;
      const received = new Promise<Buffer>((resolve) => {
        peer.on('data', (c: Buffer) => {
          chunks.push(c);
          got += c.length;
          if (got >= header.length + bytes) resolve(Buffer.concat(chunks));
        });
      });
      local.write(header);
      const sending = log.sendTo(local, regions);
      // the fetch's segment is deleted while the send waits
      assert.equal(log.deleteSegmentsBefore(second), 1);
      assert.equal(await sending, bytes);
      const all = await received;
      assert.deepEqual(all.subarray(header.length), expected);
      assert.equal(parseRecordBatches(all.subarray(header.length)).length, regions.length === 0 ? 0 : parseRecordBatches(expected).length);
    } finally {
      local.destroy();
      peer.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await log.close();
    }
  });
});
