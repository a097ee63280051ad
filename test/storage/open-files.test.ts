// Open segment files from the TypeScript side: the process-wide bound, idle closing by the
// sweep, region fds that stay valid until the event loop moves on, and LogManager's retry
// of a log whose creation failed.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  configureOpenFiles,
  defaultMaxOpenSegments,
  fileLimit,
  Log,
  LogManager,
  openFilesStats,
  raiseFileLimit,
  readRegions,
  retainRegions,
  releaseRegions,
  sweepOpenFiles,
} from '../../src/storage/index.js';
import { batchFor, removeDir, tempDir } from './helpers.js';

function fdOpen(fd: number): boolean {
  return fs.existsSync(`/proc/self/fd/${fd}`);
}

test('the default bound follows the descriptor limit', () => {
  assert.equal(defaultMaxOpenSegments({ soft: 1024, hard: 4096 }), 256);
  assert.equal(defaultMaxOpenSegments({ soft: 100, hard: 100 }), 64);
  assert.equal(defaultMaxOpenSegments({ soft: 1 << 20, hard: 1 << 20 }), 4096);
  assert.equal(defaultMaxOpenSegments({ soft: -1, hard: -1 }), 4096);
  const before = fileLimit();
  const after = raiseFileLimit();
  assert.ok(after.soft >= before.soft);
  assert.ok(after.hard === -1 || after.soft <= after.hard);
});

test('at most maxOpenSegments segments keep their files open, across logs', async () => {
  const dir = tempDir();
  const logs: Log[] = [];
  try {
    configureOpenFiles({ maxOpenSegments: 8, idleCloseMs: -1 });
    for (let i = 0; i < 40; i++) logs.push(Log.open(path.join(dir, `t-${i}`)));
    assert.equal(openFilesStats().openSegments, 0, 'opening a log opens nothing');
    let peak = 0;
    for (let round = 0; round < 3; round++) {
      for (const log of logs) {
        log.append(batchFor(round));
        peak = Math.max(peak, openFilesStats().openSegments);
      }
    }
    assert.ok(peak <= 8, `peak ${peak}`);
    assert.ok(openFilesStats().evictedTotal > 0);
    for (const log of logs) {
      const buffers = log.readBuffers(0, 1 << 20);
      assert.equal(Buffer.concat(buffers).length, batchFor(0).length + batchFor(1).length + batchFor(2).length);
    }
  } finally {
    for (const log of logs) await log.close();
    configureOpenFiles({ maxOpenSegments: 0 });
    removeDir(dir);
  }
});

test('a region fd outlives an eviction in its own turn of the event loop, and closes after', async () => {
  const dir = tempDir();
  const logs: Log[] = [];
  try {
    configureOpenFiles({ maxOpenSegments: 2, idleCloseMs: -1 });
    const a = Log.open(path.join(dir, 'a-0'));
    logs.push(a);
    a.append(batchFor(7));
    for (let i = 0; i < 6; i++) logs.push(Log.open(path.join(dir, `b-${i}`)));
    await nextTurn();
    const { regions } = a.read(0, 1 << 20);
    // the same synchronous run: appends elsewhere evict a's segment ...
    for (const log of logs.slice(1)) log.append(batchFor(1));
    assert.ok(openFilesStats().parkedFds >= 1, 'a read segment evicted in the same turn is parked');
    // ... yet its region still reads a's bytes, and retaining it keeps them
    const bytes = Buffer.concat(readRegions(regions));
    assert.equal(bytes.length, batchFor(7).length);
    assert.ok(bytes.subarray(61).equals(batchFor(7).subarray(61)), 'the records are a\'s');
    const held = retainRegions(regions);
    await nextTurn();
    await nextTurn(); // the sweep scheduled for the parked fd has run
    assert.equal(openFilesStats().parkedFds, 0);
    // the log's own fd was closed at the sweep (its number may have been reused since)
    assert.ok(!fdOpen(regions[0]!.fd) || fs.readlinkSync(`/proc/self/fd/${regions[0]!.fd}`) !== path.join(dir, 'a-0', '00000000000000000000.log'));
    assert.ok(Buffer.concat(readRegions(held)).subarray(61).equals(batchFor(7).subarray(61)), 'the retained copy still reads a');
    releaseRegions(held);
  } finally {
    for (const log of logs) await log.close();
    configureOpenFiles({ maxOpenSegments: 0 });
    removeDir(dir);
  }
});

test('the sweep closes segments idle for idleCloseMs', async () => {
  const dir = tempDir();
  const log = Log.open(path.join(dir, 'idle-0'));
  try {
    configureOpenFiles({ maxOpenSegments: 0, idleCloseMs: 0 });
    log.append(batchFor(1));
    assert.ok(openFilesStats().openSegments >= 1);
    sweepOpenFiles(); // records the moment
    sweepOpenFiles(); // idle since the previous sweep
    assert.equal(openFilesStats().openSegments, 0);
    log.append(batchFor(2)); // opens again, appends after the first batch
    assert.equal(log.logEndOffset, 1 + (1 % 4) + 1 + (2 % 4));
    await log.flush();
    assert.equal(log.recoveryPoint, log.logEndOffset);
  } finally {
    await log.close();
    configureOpenFiles({ idleCloseMs: 30_000 });
    removeDir(dir);
  }
});

test('a log whose creation failed is opened by getLog once it can be', async () => {
  const dir = tempDir();
  const failures: string[] = [];
  const recovered: string[] = [];
  const manager = LogManager.open(dir, {}, {
    onLogOpenFailed: (err, topic, partition) => failures.push(`${topic}-${partition}: ${err.message}`),
    onLogOpenRecovered: (topic, partition) => recovered.push(`${topic}-${partition}`),
  });
  try {
    // a file where the partition's directory must go: creation fails like a full disk
    fs.writeFileSync(path.join(dir, 'blocked-0'), 'x');
    assert.throws(() => manager.createLog('blocked', 0), (err: Error & { code?: string }) => err.code === 'IO');
    assert.equal(failures.length, 1);
    assert.equal(manager.getLog('blocked', 0), undefined);
    assert.ok(manager.openFailure('blocked', 0) !== undefined);
    fs.rmSync(path.join(dir, 'blocked-0'));
    assert.equal(manager.getLog('blocked', 0), undefined, 'retried at most once a second');
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const log = manager.getLog('blocked', 0);
    assert.ok(log !== undefined, 'opened on a later try');
    assert.deepEqual(recovered, ['blocked-0']);
    assert.equal(manager.openFailure('blocked', 0), undefined);
    log.append(batchFor(3));
    assert.equal(log.logEndOffset, 1 + (3 % 4));
  } finally {
    await manager.close();
    removeDir(dir);
  }
});
