// Crash simulation: a child process appends, flushes part of it and exits without closing
// (no clean-shutdown marker); the test then tears or corrupts the unflushed tail and
// reopens. Recovery must keep every batch before the damage and drop the rest.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Log, parseRecordBatches } from '../../src/storage/index.js';
import { batchFor, recordsFor, removeDir, rng, tempDir } from './helpers.js';

const FLUSHED = 40;
const UNFLUSHED = 40;
const storageModule = path.resolve(__dirname, '..', '..', 'src', 'storage', 'index.js');
const helpersModule = path.resolve(__dirname, 'helpers.js');

interface Layout {
  /** [filePosition, endPosition, baseOffset] of each batch in the single segment. */
  batches: Array<[number, number, number]>;
  flushedEnd: number;
  recoveryPoint: number;
}

/** Writes the log in a child that exits abruptly; returns where each batch lies. */
function crashWrite(dir: string): Layout {
  const script = `
    const { Log } = require(${JSON.stringify(storageModule)});
    const { batchFor } = require(${JSON.stringify(helpersModule)});
    const log = Log.open(${JSON.stringify(dir)});
    const batches = [];
    let pos = 0;
    const append = (i) => { const r = log.append(batchFor(i)); batches.push([pos, pos + r.bytes, r.baseOffset]); pos += r.bytes; };
    (async () => {
      for (let i = 0; i < ${FLUSHED}; i++) append(i);
      await log.flush();
      const recoveryPoint = log.recoveryPoint;
      for (let i = ${FLUSHED}; i < ${FLUSHED + UNFLUSHED}; i++) append(i);
      process.stdout.write(JSON.stringify({ batches, flushedEnd: batches[${FLUSHED - 1}][1], recoveryPoint }));
      process.exit(0); // no close(): no clean-shutdown marker
    })();
  `;
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout) as Layout;
}

function segmentFile(dir: string): string {
  const logs = fs.readdirSync(dir).filter((f) => f.endsWith('.log'));
  assert.equal(logs.length, 1);
  return path.join(dir, logs[0]);
}

/** Base offset of the first batch that the damage at byte `position` reaches. */
function expectedEnd(layout: Layout, position: number): number {
  const hit = layout.batches.find(([, end]) => end > position);
  return hit ? hit[2] : layout.batches[layout.batches.length - 1][2] + recordsFor(FLUSHED + UNFLUSHED - 1).length;
}

async function verify(dir: string, layout: Layout, position: number): Promise<void> {
  const log = Log.open(dir, { recoveryPoint: layout.recoveryPoint });
  try {
    const end = expectedEnd(layout, position);
    assert.equal(log.logEndOffset, end, `damage at byte ${position}`);
    assert.ok(log.logEndOffset >= layout.batches[FLUSHED - 1][2] + 1, 'a flushed batch was lost');
    const kept = layout.batches.filter(([, , base]) => base < end).length;
    const batches = end === 0 ? [] : parseRecordBatches(Buffer.concat(log.readBuffers(0, 1 << 24)));
    assert.equal(batches.length, kept);
    batches.forEach((b, i) => {
      assert.equal(b.baseOffset, layout.batches[i][2]);
      assert.deepEqual(b.records.map((r) => r.value), recordsFor(i).map((r) => r.value));
    });
    // The log accepts appends at the recovered end.
    assert.equal(log.append(batchFor(999)).baseOffset, end);
  } finally {
    await log.close();
  }
}

describe('recovery after a crash', () => {
  let root: string;
  let pristine: string;
  let layout: Layout;
  before(() => {
    root = tempDir();
    pristine = path.join(root, 'pristine-0');
    layout = crashWrite(pristine);
    assert.equal(layout.recoveryPoint, layout.batches[FLUSHED - 1][2] + recordsFor(FLUSHED - 1).length);
  });
  after(() => removeDir(root));

  let copies = 0;
  function copy(): string {
    const dir = path.join(root, `copy-${copies++}`);
    fs.cpSync(pristine, dir, { recursive: true });
    return dir;
  }

  it('keeps everything when nothing is damaged', async () => {
    await verify(copy(), layout, Number.MAX_SAFE_INTEGER);
  });

  it('truncates a torn tail at random points past the flushed bytes', async () => {
    const random = rng(1);
    const total = layout.batches[layout.batches.length - 1][1];
    const points = [layout.flushedEnd, layout.flushedEnd + 1, total - 1];
    for (let i = 0; i < 12; i++) points.push(layout.flushedEnd + Math.floor(random() * (total - layout.flushedEnd)));
    for (const position of points) {
      const dir = copy();
      fs.truncateSync(segmentFile(dir), position);
      await verify(dir, layout, position);
    }
  });

  it('drops the tail from a corrupted byte at random points past the flushed bytes', async () => {
    const random = rng(2);
    const total = layout.batches[layout.batches.length - 1][1];
    for (let i = 0; i < 15; i++) {
      // Damage a byte the batch's CRC or framing covers (bytes 0-7 and 12-15, base offset
      // and leader epoch, lie outside the CRC by design).
      let position: number;
      let inBatch: number;
      do {
        position = layout.flushedEnd + Math.floor(random() * (total - layout.flushedEnd));
        const batch = layout.batches.find(([start, end]) => position >= start && position < end)!;
        inBatch = position - batch[0];
      } while (inBatch < 8 || (inBatch >= 12 && inBatch < 16));
      const dir = copy();
      const file = segmentFile(dir);
      const fd = fs.openSync(file, 'r+');
      const byte = Buffer.alloc(1);
      fs.readSync(fd, byte, 0, 1, position);
      byte[0] ^= 0x5a;
      fs.writeSync(fd, byte, 0, 1, position);
      fs.closeSync(fd);
      await verify(dir, layout, position);
    }
  });

  it('rebuilds deleted indexes', async () => {
    const dir = path.join(root, 'index-0');
    let log = Log.open(dir, { segmentBytes: 16 * 1024, indexIntervalBytes: 512 });
    for (let i = 0; i < 300; i++) log.append(batchFor(i));
    const end = log.logEndOffset;
    const probes = [0, 1, 77, 250, 500, end - 1];
    const before = probes.map((o) => Buffer.concat(log.readBuffers(o, 2000)).toString('hex'));
    const byTime = log.offsetForTimestamp(1_700_000_000_000 + 150 * 10);
    await log.close();
    for (const f of fs.readdirSync(dir)) {
      if (f.endsWith('.index') || f.endsWith('.timeindex')) fs.rmSync(path.join(dir, f));
    }
    log = Log.open(dir, { segmentBytes: 16 * 1024, indexIntervalBytes: 512 });
    assert.equal(log.logEndOffset, end);
    assert.deepEqual(probes.map((o) => Buffer.concat(log.readBuffers(o, 2000)).toString('hex')), before);
    assert.deepEqual(log.offsetForTimestamp(1_700_000_000_000 + 150 * 10), byTime);
    assert.ok(fs.readdirSync(dir).some((f) => f.endsWith('.index')), 'index files recreated');
    await log.close();
  });
});
