// The short crash-consistency run (the long one is bench/hardening/crash.ts): produce with
// acks=all from several producers and commit group offsets, SIGKILL the broker at a random
// moment, restart, and check that every acknowledged record is exactly at its acknowledged
// offset, in order, and that every acknowledged offset commit is there. 5 cycles with
// flush.messages=1 and 3 with the default flush policy, on small segments so that they roll.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { CrashHarness } from './crash-harness.js';

const SEED = Number(process.env['STRAND_CRASH_SEED'] ?? 7);

/** The segment file of partition dir `dir` whose batch holds `offset`, and where that batch ends. */
function batchEndHolding(dir: string, offset: number): [string, number] {
  for (const name of fs.readdirSync(dir).filter((f) => f.endsWith('.log')).sort()) {
    const file = path.join(dir, name);
    const bytes = fs.readFileSync(file);
    // v2 batches back to back: base offset (8), length (4), then length bytes; the last
    // offset delta sits 23 bytes in.
    for (let at = 0; at + 27 <= bytes.length; ) {
      const end = at + 12 + bytes.readInt32BE(at + 8);
      const base = Number(bytes.readBigInt64BE(at));
      if (offset >= base && offset <= base + bytes.readInt32BE(at + 23)) return [file, end];
      at = end;
    }
  }
  throw new Error(`no batch in ${dir} holds offset ${offset}`);
}

for (const { flushEveryMessage, cycles } of [
  { flushEveryMessage: true, cycles: 5 },
  { flushEveryMessage: false, cycles: 3 },
]) {
  describe(`crash consistency, ${flushEveryMessage ? 'flush.messages=1' : 'default flush policy'}`, () => {
    it(`${cycles} SIGKILL cycles lose nothing acknowledged`, async () => {
      const h = new CrashHarness({
        seed: SEED + (flushEveryMessage ? 0 : 1),
        flushEveryMessage,
        producers: 3,
        partitions: 3,
        maxKillAfterMs: 600,
        overrides: { 'log.segment.bytes': String(256 * 1024) },
      });
      try {
        await h.setup();
        for (let i = 0; i < cycles; i++) await h.cycle();
      } finally {
        await h.dispose();
      }
      const t = h.totals;
      console.log(
        `cycles ${t.cycles}: acknowledged ${t.acknowledged}, found ${t.found}, lost ${t.lost}; commits acknowledged ${t.commitsAcknowledged}, ` +
          `lost ${t.commitsLost}${h.groupOffsetsChecked ? '' : ' (no OffsetCommit yet)'}; max restart ${t.maxRestartMs} ms`,
      );
      assert.equal(t.cycles, cycles);
      assert.ok(t.acknowledged > 0, 'producers got acknowledgements');
      assert.deepEqual(t.problems, []);
      assert.equal(t.lost, 0);
      assert.equal(t.found, t.acknowledged);
      assert.equal(t.commitsLost, 0);
      assert.equal(t.startFailures, 0);
    });
  });
}

describe('crash consistency checker', () => {
  it('notices an acknowledged record that went missing', async () => {
    const h = new CrashHarness({ seed: SEED, flushEveryMessage: false, producers: 1, partitions: 1, minKillAfterMs: 300, maxKillAfterMs: 400, groupOffsets: false });
    try {
      await h.setup();
      await h.cycle();
      assert.equal(h.totals.lost, 0);
      assert.ok(h.totals.acknowledged > 0);
      // Cut the end of the batch holding the last acknowledged record behind the broker's
      // back. (Not simply the segment's last bytes: batches stored but never acknowledged,
      // in flight at the cycle's kill, can sit after it, and cutting those loses nothing.)
      const target = h.highestAcknowledgedOffset(0);
      await h.killRestartAndVerify(() => {
        const dir = path.join(h.dataDir, 'crash-0');
        const [file, batchEnd] = batchEndHolding(dir, target);
        fs.truncateSync(file, batchEnd - 10);
      });
      assert.ok(h.totals.lost > 0, 'the lost records are reported');
      assert.ok(h.totals.problems.some((p) => p.includes('is missing')), h.totals.problems.join('\n'));
    } finally {
      await h.dispose();
    }
  });
});
