// Crashes during a clean leave a log that opens and reads correctly:
//  - a process that appends and cleans in a loop, killed (SIGKILL) at random moments, again
//    and again on the same log;
//  - every intermediate state of a swap (Kafka's .cleaned -> .swap protocol), laid out on
//    disk as a crash between two of its steps would leave it, then opened;
//  - a worker thread terminated in the middle of writing its cleaned file.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Piscina } from 'piscina';
import { buildRecordBatch, Log } from '../../src/storage/index.js';
import { createIoThrottleState } from '../../src/workers/io-throttle.js';
import { cleanLog } from '../../src/workers/log-clean.js';
import { decodeAll, readLog, recordsOf, taskFor, tempDir } from '../workers/cleaner-helpers.js';
import type { DecodedRecord } from '../workers/cleaner-helpers.js';
import { CRASH_CHILD_ENV, CRASH_RECORDS_PER_ROUND, crashRecord } from './cleaner-crash-child.js';

const CLEAN_SHUTDOWN_MARKER = '.strand_clean_shutdown';
const CHILD = path.join(__dirname, 'cleaner-crash-child.js');

function pad(offset: number): string {
  return String(offset).padStart(20, '0');
}

/** Checks a log against the stream it was written with: every record unaltered, offsets
 *  increasing, and a replay giving the latest value of every key among the first `count`. */
function assertConsistent(records: readonly DecodedRecord[], count: number, source: (i: number) => { key: string; value: string | null }): void {
  let previous = -1;
  const state = new Map<string, string>();
  for (const r of records) {
    assert.ok(r.offset > previous, `offset ${r.offset} after ${previous}`);
    previous = r.offset;
    assert.ok(r.offset < count, `offset ${r.offset} below the log end ${count}`);
    assert.deepEqual({ key: r.key, value: r.value }, source(r.offset), `record ${r.offset} unaltered`);
    if (r.value === null) state.delete(r.key!);
    else state.set(r.key!, r.value);
  }
  const expected = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    const w = source(i);
    if (w.value === null) expected.delete(w.key);
    else expected.set(w.key, w.value);
  }
  assert.deepEqual(state, expected);
}

function leftovers(dir: string): string[] {
  return fs.readdirSync(dir).filter((f) => /\.(cleaned|swap|deleted)$/.test(f));
}

describe('crashes during a clean', () => {
  let root: string;
  before(() => {
    root = tempDir('strand-cleaner-crash-');
  });
  after(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('a process killed at random moments of append-and-clean cycles leaves a log that opens and reads correctly', async () => {
    const dir = path.join(root, 'killed');
    fs.mkdirSync(dir);
    let cleansSeen = 0;
    for (let cycle = 0; cycle < 8; cycle++) {
      const child = spawn(process.execPath, [CHILD, dir], { env: { ...process.env, [CRASH_CHILD_ENV]: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      // Wait until it has appended and cleaned at least once, then kill it a little later.
      for (let i = 0; i < 500 && !/cleaned/.test(out) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 5 + ((cycle * 37) % 120)));
      child.kill('SIGKILL');
      await exited;
      assert.equal(err, '', 'the child failed on its own');
      cleansSeen += (out.match(/^cleaned \d+ \d+$/gm) ?? []).filter((l) => !l.endsWith(' -1')).length;
      const appended = [...out.matchAll(/^appended (\d+)$/gm)].map((m) => Number(m[1]));
      const lastReported = appended.at(-1) ?? 0;

      const log = Log.open(path.join(dir, 't-0'), { segmentBytes: 1024, fileDeleteDelayMs: 0 });
      try {
        const end = log.logEndOffset;
        // The kill may land among the appends that follow the last report.
        assert.ok(end >= lastReported && end <= lastReported + CRASH_RECORDS_PER_ROUND, `log end ${end}, last reported ${lastReported}`);
        assert.deepEqual(leftovers(log.dir), [], 'opening finished or discarded every interrupted swap');
        assertConsistent(recordsOf(await readLog(log)), end, crashRecord);
      } finally {
        await log.close();
      }
    }
    assert.ok(cleansSeen >= 8, `the children cleaned ${cleansSeen} times`);
  });

  describe('a crash between two steps of a swap', () => {
    /** A log of two groups' worth of segments, cleaned but not swapped, closed as a crash leaves it. */
    async function prepared(name: string): Promise<{ dir: string; before: DecodedRecord[]; cleaned: DecodedRecord[]; group: number[]; cleanedFile: string; count: number; source: (i: number) => { key: string; value: string | null } }> {
      const source = (i: number) => ({ key: i % 4 === 0 ? `u${i}` : `k${i % 9}`, value: i % 13 === 3 ? null : `v${i}` });
      const log = Log.open(path.join(root, name, 't-0'), { segmentBytes: 400, fileDeleteDelayMs: 0 });
      const count = 120;
      for (let i = 0; i < count; i++) log.append(buildRecordBatch([source(i)]));
      const before = recordsOf(await readLog(log));
      const result = await cleanLog(taskFor(log, { maxSegmentBytes: 1200 }));
      const g = result.groups[0]!;
      assert.ok(g.baseOffsets.length >= 2, 'a group of several segments');
      const cleaned = recordsOf(await decodeAll(fs.readFileSync(g.cleanedPath)));
      assert.ok(cleaned.length > 0 && cleaned.length < recordsOf(await decodeAll(Buffer.concat(g.baseOffsets.map((b) => fs.readFileSync(path.join(log.dir, `${pad(b)}.log`)))))).length, 'the group keeps some records and drops others');
      for (const other of result.groups.slice(1)) fs.rmSync(other.cleanedPath);
      const dir = log.dir;
      await log.close();
      fs.rmSync(path.join(dir, CLEAN_SHUTDOWN_MARKER), { force: true }); // as after a crash
      return { dir, before, cleaned, group: g.baseOffsets, cleanedFile: g.cleanedPath, count, source };
    }

    async function reopened(dir: string): Promise<DecodedRecord[]> {
      const log = Log.open(dir, { segmentBytes: 400, fileDeleteDelayMs: 0 });
      try {
        assert.deepEqual(leftovers(dir), []);
        return recordsOf(await readLog(log));
      } finally {
        await log.close();
      }
    }

    function rename(dir: string, from: string, to: string): void {
      fs.renameSync(path.join(dir, from), path.join(dir, to));
    }

    const old = (s: Awaited<ReturnType<typeof prepared>>, records: DecodedRecord[]) => assert.deepEqual(records, s.before, 'the old segments, as before the clean');
    const swapped = (s: Awaited<ReturnType<typeof prepared>>, records: DecodedRecord[]) => {
      assertConsistent(records, s.count, s.source);
      const present = new Set(records.map((r) => r.offset));
      for (const r of s.cleaned) assert.ok(present.has(r.offset), `cleaned record ${r.offset} is in`);
      const cleanedOffsets = new Set(s.cleaned.map((r) => r.offset));
      const cleanedEnd = s.cleaned.at(-1)!.offset;
      for (const r of records) if (r.offset <= cleanedEnd) assert.ok(cleanedOffsets.has(r.offset), `record ${r.offset} was removed by the clean`);
    };

    it('worker died while writing .cleaned: the old segments', async () => {
      const s = await prepared('s1');
      const bytes = fs.readFileSync(s.cleanedFile);
      fs.writeFileSync(s.cleanedFile, bytes.subarray(0, Math.floor(bytes.length / 2) + 3));
      old(s, await reopened(s.dir));
    });

    it('complete .cleaned, swap not begun: the old segments', async () => {
      const s = await prepared('s2');
      old(s, await reopened(s.dir));
    });

    it('indexes built as .cleaned, or renamed .swap before the log: the old segments', async () => {
      const s = await prepared('s3');
      const b = pad(s.group[0]!);
      fs.copyFileSync(path.join(s.dir, `${b}.index`), path.join(s.dir, `${b}.index.cleaned`));
      fs.copyFileSync(path.join(s.dir, `${b}.timeindex`), path.join(s.dir, `${b}.timeindex.swap`));
      old(s, await reopened(s.dir));
    });

    it('.swap in place, old segments untouched: the swap completes', async () => {
      const s = await prepared('s4');
      rename(s.dir, path.basename(s.cleanedFile), `${pad(s.group[0]!)}.log.swap`);
      swapped(s, await reopened(s.dir));
    });

    it('.swap in place, old segments partly renamed .deleted: the swap completes', async () => {
      const s = await prepared('s5');
      rename(s.dir, path.basename(s.cleanedFile), `${pad(s.group[0]!)}.log.swap`);
      const first = pad(s.group[0]!);
      for (const ext of ['log', 'index', 'timeindex']) rename(s.dir, `${first}.${ext}`, `${first}.${ext}.deleted`);
      swapped(s, await reopened(s.dir));
    });

    it('.swap in place, every old segment renamed .deleted: the swap completes', async () => {
      const s = await prepared('s6');
      rename(s.dir, path.basename(s.cleanedFile), `${pad(s.group[0]!)}.log.swap`);
      for (const base of s.group) for (const ext of ['log', 'index', 'timeindex']) rename(s.dir, `${pad(base)}.${ext}`, `${pad(base)}.${ext}.deleted`);
      swapped(s, await reopened(s.dir));
    });

    it('new segment renamed into place, old ones still .deleted: the new segment', async () => {
      const s = await prepared('s7');
      for (const base of s.group) for (const ext of ['log', 'index', 'timeindex']) rename(s.dir, `${pad(base)}.${ext}`, `${pad(base)}.${ext}.deleted`);
      rename(s.dir, path.basename(s.cleanedFile), `${pad(s.group[0]!)}.log`);
      swapped(s, await reopened(s.dir));
    });
  });

  it('a worker thread terminated mid-clean leaves the log as it was', async () => {
    const dir = path.join(root, 'terminated');
    const log = Log.open(path.join(dir, 't-0'), { segmentBytes: 2048, fileDeleteDelayMs: 0 });
    const source = (i: number) => ({ key: `k${i % 25}`, value: `v${i}-${'q'.repeat(60)}` });
    for (let i = 0; i < 3000; i++) log.append(buildRecordBatch([source(i)]));
    log.roll();
    const before = recordsOf(await readLog(log));
    const pool = new Piscina({ filename: path.resolve(__dirname, '../../src/workers/cleaner-worker.js'), maxThreads: 1 });
    const abort = new AbortController();
    const running = pool.run(taskFor(log, { throttleState: createIoThrottleState(), ioMaxBytesPerSecond: 100_000 }), { signal: abort.signal });
    const cleanedBytes = (): number => fs.readdirSync(log.dir).filter((f) => f.endsWith('.cleaned')).reduce((a, f) => a + fs.statSync(path.join(log.dir, f)).size, 0);
    for (let i = 0; i < 500 && cleanedBytes() === 0; i++) await new Promise((r) => setTimeout(r, 10));
    abort.abort();
    await assert.rejects(running);
    await pool.destroy();
    const logDir = log.dir;
    await log.close();
    fs.rmSync(path.join(logDir, CLEAN_SHUTDOWN_MARKER), { force: true });
    const reopened = Log.open(logDir, { segmentBytes: 2048, fileDeleteDelayMs: 0 });
    assert.deepEqual(leftovers(logDir), []);
    assert.deepEqual(recordsOf(await readLog(reopened)), before);
    await reopened.close();
  });
});
