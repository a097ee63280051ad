import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  LOG_START_OFFSET_CHECKPOINT,
  buildRecordBatch,
  LogManager,
  parsePartitionDir,
  readCheckpoint,
  RECOVERY_POINT_CHECKPOINT,
  StorageError,
  writeCheckpoint,
} from '../../src/storage/index.js';
import { batchFor, removeDir, tempDir } from './helpers.js';

describe('checkpoint files', () => {
  let root: string;
  beforeEach(() => {
    root = tempDir();
  });
  afterEach(() => removeDir(root));

  it('writes Kafka format and reads it back', () => {
    const file = path.join(root, RECOVERY_POINT_CHECKPOINT);
    writeCheckpoint(file, [
      { topic: 'orders', partition: 0, offset: 42 },
      { topic: 'my-topic.v2', partition: 11, offset: 0 },
    ]);
    assert.equal(fs.readFileSync(file, 'utf8'), '0\n2\norders 0 42\nmy-topic.v2 11 0\n');
    assert.deepEqual([...readCheckpoint(file)], [['orders-0', 42], ['my-topic.v2-11', 0]]);
    assert.deepEqual([...readCheckpoint(path.join(root, 'missing'))], []);
    assert.ok(!fs.existsSync(`${file}.tmp`));
  });

  it('rejects malformed files', () => {
    const file = path.join(root, 'bad');
    for (const text of ['1\n0\n', '0\n2\na 0 1\n', '0\n1\na x 1\n', '']) {
      fs.writeFileSync(file, text);
      assert.throws(() => readCheckpoint(file), (e: unknown) => e instanceof StorageError && e.code === 'IO', JSON.stringify(text));
    }
  });

  it('parses partition directory names', () => {
    assert.deepEqual(parsePartitionDir('a-b-c-12'), { topic: 'a-b-c', partition: 12 });
    assert.equal(parsePartitionDir('orders-0.abc-delete'), null);
    assert.equal(parsePartitionDir('no_partition'), null);
  });
});

describe('LogManager', () => {
  let root: string;
  beforeEach(() => {
    root = tempDir();
  });
  afterEach(() => removeDir(root));

  it('creates partitions, checkpoints on close and reopens them all', async () => {
    const dir = path.join(root, 'logs');
    let manager = LogManager.open(dir, { segmentBytes: 8192 });
    const ends = new Map<string, number>();
    for (const [topic, partitions] of [['orders', 3], ['my-topic.v2', 2]] as const) {
      for (let p = 0; p < partitions; p++) {
        const log = manager.createLog(topic, p);
        assert.equal(manager.createLog(topic, p), log, 'createLog is idempotent');
        for (let i = 0; i < 20 + p; i++) log.append(batchFor(i));
        ends.set(`${topic}-${p}`, log.logEndOffset);
      }
    }
    manager.getLog('orders', 1)!.deleteSegmentsBefore(manager.getLog('orders', 1)!.segments()[1].baseOffset);
    const startOrders1 = manager.getLog('orders', 1)!.logStartOffset;
    assert.ok(startOrders1 > 0);
    assert.equal(manager.getLog('orders', 9), undefined);
    await manager.close();
    assert.throws(() => manager.createLog('x', 0), (e: unknown) => e instanceof StorageError && e.code === 'CLOSED');

    const recovery = readCheckpoint(path.join(dir, RECOVERY_POINT_CHECKPOINT));
    const starts = readCheckpoint(path.join(dir, LOG_START_OFFSET_CHECKPOINT));
    assert.deepEqual(new Map([...recovery].sort()), new Map([...ends].sort()));
    assert.equal(starts.get('orders-1'), startOrders1);
    assert.equal(starts.get('orders-0'), 0);

    manager = LogManager.open(dir, { segmentBytes: 8192 });
    assert.deepEqual(manager.allLogs().map((e) => `${e.topic}-${e.partition}`).sort(), [...ends.keys()].sort());
    for (const [key, end] of ends) {
      const entry = manager.allLogs().find((e) => `${e.topic}-${e.partition}` === key)!;
      assert.equal(entry.log.logEndOffset, end);
    }
    assert.equal(manager.getLog('orders', 1)!.logStartOffset, startOrders1);
    await manager.close();
  });

  it('deletes a partition by renaming it away first, then removing it', async () => {
    const dir = path.join(root, 'logs');
    const manager = LogManager.open(dir, { fileDeleteDelayMs: 60_000 });
    manager.createLog('gone', 0).append(batchFor(1));
    manager.createLog('kept', 0).append(batchFor(2));
    assert.equal(await manager.deleteLog('gone', 0), true);
    assert.equal(await manager.deleteLog('gone', 0), false);
    assert.equal(manager.getLog('gone', 0), undefined);
    const names = fs.readdirSync(dir);
    assert.ok(!names.includes('gone-0'));
    assert.ok(names.some((n) => n.startsWith('gone-0.') && n.endsWith('-delete')), names.join(','));
    assert.ok(!readCheckpoint(path.join(dir, RECOVERY_POINT_CHECKPOINT)).has('gone-0'));
    await manager.close();
    assert.ok(!fs.readdirSync(dir).some((n) => n.endsWith('-delete')), 'pending deletions finish on close');

    const immediate = LogManager.open(dir, { fileDeleteDelayMs: 0 });
    await immediate.deleteLog('kept', 0);
    assert.ok(!fs.readdirSync(dir).some((n) => n.startsWith('kept-0')));
    await immediate.close();
  });

  it('finishes deletions left over from a crash and ignores stray files', async () => {
    const dir = path.join(root, 'logs');
    fs.mkdirSync(path.join(dir, 'old-0.1234-delete'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'old-0.1234-delete', '00000000000000000000.log'), 'x');
    fs.writeFileSync(path.join(dir, 'meta.properties'), 'version=0\n');
    const manager = LogManager.open(dir);
    assert.equal(manager.allLogs().length, 0);
    assert.ok(!fs.existsSync(path.join(dir, 'old-0.1234-delete')));
    assert.throws(() => manager.createLog('../evil', 0), (e: unknown) => e instanceof StorageError && e.code === 'INVALID_ARGUMENT');
    await manager.close();
  });
});

it('a garbled checkpoint file does not stop the log dir from opening', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strand-garbled-'));
  try {
    const first = LogManager.open(dir);
    first.createLog('t', 0).append(buildRecordBatch([{ value: 'a' }, { value: 'b' }]));
    await first.close();
    fs.writeFileSync(path.join(dir, 'recovery-point-offset-checkpoint'), 'garbage\n\u0000\u0001');
    fs.writeFileSync(path.join(dir, 'log-start-offset-checkpoint'), '0\n7\nt 0\n');
    const unreadable: string[] = [];
    const second = LogManager.open(dir, {}, { onCheckpointUnreadable: (_err, file) => unreadable.push(path.basename(file)) });
    assert.deepEqual(unreadable.sort(), ['log-start-offset-checkpoint', 'recovery-point-offset-checkpoint']);
    const log = second.getLog('t', 0)!;
    assert.equal(log.logStartOffset, 0);
    assert.equal(log.logEndOffset, 2);
    await second.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
