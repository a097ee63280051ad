// Disk full: produce gets KAFKA_STORAGE_ERROR (56), nothing already written is damaged (the
// log holds exactly the acknowledged batches, CRCs intact), and produce works again once
// space returns, before and after a restart.
//
// The disk is a small tmpfs mounted by the test when mount(8) is permitted (root with
// CAP_SYS_ADMIN, as in CI); otherwise the broker runs with RLIMIT_FSIZE (prlimit) and a
// file that reaches the limit fails with EFBIG the way a full disk fails with ENOSPC.
// Space returns by enlarging the tmpfs (remount) or raising the limit of the running
// broker (prlimit --pid). Which one ran is printed; neither available fails the test.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { decodeRecordBatch, encodeRecordBatch, fetchV4, splitBatches } from '../compat/wire.js';
import { hasPrlimit, startLoadBroker, type LoadBroker } from './broker-child.js';
import { batchOf, createTopicsOk, produceMany, RawClient } from './wire.js';

const KAFKA_STORAGE_ERROR = 56;
const TOPIC = 'full';

interface Acked {
  baseOffset: bigint;
  count: number;
  valueBytes: number;
  seed: number;
}

type Disk =
  | { kind: 'tmpfs'; dir: string; grow(): void; release(): void }
  | { kind: 'fsize'; dir: string; limitBytes: number; grow(broker: LoadBroker): void; release(): void };

function run(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error?.message ?? ''}` };
}

function makeDisk(): Disk {
  const dir = mkdtempSync(path.join(tmpdir(), 'strand-disk-full-'));
  // STRAND_TEST_DISK_FULL=fsize runs the fallback where mount would work
  const mounted =
    process.env.STRAND_TEST_DISK_FULL === 'fsize'
      ? { ok: false, out: 'not tried (STRAND_TEST_DISK_FULL=fsize)' }
      : run('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0755', 'strand-disk-full', dir]);
  if (mounted.ok) {
    return {
      kind: 'tmpfs',
      dir,
      grow: () => {
        const r = run('mount', ['-o', 'remount,size=64m', dir]);
        if (!r.ok) throw new Error(`cannot enlarge the tmpfs: ${r.out}`);
      },
      release: () => {
        run('umount', ['-l', dir]);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  if (!hasPrlimit()) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`neither mount (${mounted.out.trim()}) nor prlimit(1) is available: cannot fill a disk`);
  }
  return {
    kind: 'fsize',
    dir,
    limitBytes: 6 * 1024 * 1024,
    grow: (broker) => {
      const r = run('prlimit', ['--pid', String(broker.pid()), '--fsize=unlimited:unlimited']);
      if (!r.ok) throw new Error(`cannot raise the broker's RLIMIT_FSIZE: ${r.out}`);
    },
    release: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Every batch of the partition, CRCs checked. */
async function readBatches(port: number): Promise<Array<{ baseOffset: bigint; values: Buffer[] }>> {
  const client = await RawClient.connect(port);
  try {
    const out: Array<{ baseOffset: bigint; values: Buffer[] }> = [];
    let next = 0n;
    for (let round = 0; round < 10_000; round++) {
      const r = await fetchV4(client, TOPIC, 0, next, { maxWaitMs: 0, maxBytes: 1024 * 1024 });
      assert.equal(r.errorCode, 0);
      for (const raw of splitBatches(r.records)) {
        const b = await decodeRecordBatch(raw);
        assert.ok(b.crcValid, `batch at offset ${b.baseOffset} has a bad CRC`);
        out.push({ baseOffset: b.baseOffset, values: b.records.map((x) => x.value ?? Buffer.alloc(0)) });
        next = b.baseOffset + BigInt(b.lastOffsetDelta) + 1n;
      }
      if (next >= r.highWatermark) return out;
    }
    throw new Error('partition never ended');
  } finally {
    client.close();
  }
}

/** The log holds the acknowledged batches, in order, byte for byte, and nothing else. */
async function assertExactly(port: number, acked: readonly Acked[]): Promise<void> {
  const batches = await readBatches(port);
  assert.equal(batches.length, acked.length, `${batches.length} batches stored, ${acked.length} acknowledged`);
  for (let i = 0; i < acked.length; i++) {
    const a = acked[i]!;
    const b = batches[i]!;
    assert.equal(b.baseOffset, a.baseOffset);
    assert.equal(b.values.length, a.count);
    for (let j = 0; j < a.count; j++) {
      assert.ok(b.values[j]!.equals(Buffer.alloc(a.valueBytes, (a.seed + j) & 0xff)), `record ${j} of batch ${i}`);
    }
  }
}

/** Produces batches until `failuresWanted` in a row fail; returns the acknowledged ones and the errors seen. */
async function fill(client: RawClient, acked: Acked[], count: number, valueBytes: number, failuresWanted: number, maxAttempts: number): Promise<number[]> {
  const errors: number[] = [];
  let inARow = 0;
  for (let i = 0; i < maxAttempts && inARow < failuresWanted; i++) {
    const seed = acked.length * 7 + i;
    const [r] = await produceMany(client, TOPIC, [{ partition: 0, records: await batchOf(count, valueBytes, seed) }]);
    if (r!.errorCode === 0) {
      acked.push({ baseOffset: r!.baseOffset, count, valueBytes, seed });
      inARow = 0;
    } else {
      errors.push(r!.errorCode);
      inARow++;
    }
  }
  return errors;
}

test('disk full: KAFKA_STORAGE_ERROR, the acknowledged data intact, produce again once space returns', { timeout: 180_000 }, async () => {
  const disk = makeDisk();
  console.log(`# disk full simulated with ${disk.kind === 'tmpfs' ? 'an 8 MiB tmpfs' : `RLIMIT_FSIZE ${disk.kind === 'fsize' ? disk.limitBytes : 0} bytes`}`);
  const overrides: Record<string, string> = {};
  // under RLIMIT_FSIZE every file must stay below the limit: preallocated indexes too
  if (disk.kind === 'fsize') overrides['log.index.size.max.bytes'] = '65536';
  let broker: LoadBroker | null = null;
  try {
    broker = await startLoadBroker({ dataDir: disk.dir, overrides, fsizeBytes: disk.kind === 'fsize' ? disk.limitBytes : undefined });
    const b = broker;
    await createTopicsOk(b.port, [{ name: TOPIC, partitions: 1, configs: { 'index.interval.bytes': '1' } }]);
    const client = await RawClient.connect(b.port);
    const acked: Acked[] = [];
    try {
      // 32 KiB batches until the disk refuses, then small ones into whatever is left
      const bigErrors = await fill(client, acked, 32, 1000, 3, 2_000);
      const smallErrors = await fill(client, acked, 2, 100, 5, 20_000);
      const errors = [...bigErrors, ...smallErrors];
      console.log(`# ${acked.length} batches acknowledged before the disk was full; errors ${[...new Set(errors)].join(',')}`);
      assert.ok(acked.length > 10, 'something was written before the disk filled');
      assert.ok(errors.length >= 8);
      assert.deepEqual([...new Set(errors)], [KAFKA_STORAGE_ERROR], 'a full disk is KAFKA_STORAGE_ERROR');
      assert.ok(b.alive(), 'the broker survives a full disk');
      assert.ok(b.logLines('append failed').length > 0, 'the broker says why');
      await assertExactly(b.port, acked);

      disk.kind === 'tmpfs' ? disk.grow() : disk.grow(b);
      const before = acked.length;
      const again = await fill(client, acked, 32, 1000, 1, 20);
      assert.deepEqual(again, [], 'produce works once space returns');
      assert.equal(acked.length, before + 20);
      assert.equal(acked[before]!.baseOffset, acked[before - 1]!.baseOffset + BigInt(acked[before - 1]!.count), 'offsets go on where they stopped');
      await assertExactly(b.port, acked);
    } finally {
      client.close();
    }

    // and after a restart (limits as at the end: space available)
    await b.restart({ fsizeBytes: undefined });
    await assertExactly(b.port, acked);
    const c = await RawClient.connect(b.port);
    try {
      const [r] = await produceMany(c, TOPIC, [{ partition: 0, records: await batchOf(3, 10, 1) }]);
      assert.equal(r!.errorCode, 0);
    } finally {
      c.close();
    }
  } finally {
    if (broker !== null) await broker.stop();
    disk.release();
  }
});

/** Writes a file until the file system is full; returns its path. */
function fillUp(dir: string): string {
  const file = path.join(dir, 'filler');
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(64 * 1024, 1);
  try {
    for (let size = block.length; size >= 1; size = Math.floor(size / 2)) {
      for (;;) {
        try {
          writeSync(fd, block, 0, size);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return file;
}

test('disk full as an index needs a new page: the entry is skipped, never a crash (SIGBUS)', { timeout: 120_000 }, async (t) => {
  const disk = makeDisk();
  if (disk.kind !== 'tmpfs') {
    disk.release();
    t.skip('needs a tmpfs (mount not permitted here): under RLIMIT_FSIZE index maps never grow past their file');
    return;
  }
  let broker: LoadBroker | null = null;
  try {
    broker = await startLoadBroker({ dataDir: disk.dir });
    const b = broker;
    await createTopicsOk(b.port, [{ name: TOPIC, partitions: 1, configs: { 'index.interval.bytes': '1' } }]);
    const client = await RawClient.connect(b.port);
    const acked: Acked[] = [];
    const tsBase = 1_700_000_000_000;
    const produceOne = async (i: number): Promise<number> => {
      const records = await encodeRecordBatch([{ key: null, value: Buffer.alloc(10, i & 0xff) }], { baseTimestampMs: BigInt(tsBase + i) });
      const [r] = await produceMany(client, TOPIC, [{ partition: 0, records }]);
      if (r!.errorCode === 0) acked.push({ baseOffset: r!.baseOffset, count: 1, valueBytes: 10, seed: i });
      return r!.errorCode;
    };
    try {
      // an index entry per batch after the first, timestamps rising: 341 batches leave
      // 340 time index entries (12 bytes each), two short of the end of its first page
      for (let i = 0; i < 341; i++) assert.equal(await produceOne(i), 0);
      const filler = fillUp(disk.dir);
      // the .log's last page still has room for a few small batches; their entries cross
      // into the time index's second page, which the full disk cannot give
      const codes: number[] = [];
      for (let i = 341; i < 400 && codes.filter((c) => c !== 0).length < 3; i++) codes.push(await produceOne(i));
      console.log(`# appends after the disk filled: ${codes.join(',')}`);
      assert.ok(b.alive(), `the broker survives:\n${b.output().slice(-2000)}`);
      assert.ok(codes.filter((c) => c === 0).length >= 2, 'appends into the last page went on past the index page boundary');
      assert.ok(codes.every((c) => c === 0 || c === KAFKA_STORAGE_ERROR));
      await assertExactly(b.port, acked);
      rmSync(filler);
      assert.equal(await produceOne(1000), 0, 'space returned');
      await assertExactly(b.port, acked);
    } finally {
      client.close();
    }
    await b.restart();
    await assertExactly(b.port, acked);
  } finally {
    if (broker !== null) await broker.stop();
    disk.release();
  }
});
