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
      // Cut the end of the partition's last segment behind the broker's back.
      await h.killRestartAndVerify(() => {
        const dir = path.join(h.dataDir, 'crash-0');
        // The newest segment that holds data (a restart can leave an empty active one).
        const logs = fs.readdirSync(dir).filter((f) => f.endsWith('.log') && fs.statSync(path.join(dir, f)).size > 0).sort();
        const last = path.join(dir, logs[logs.length - 1]!);
        fs.truncateSync(last, Math.max(0, fs.statSync(last).size - 10));
      });
      assert.ok(h.totals.lost > 0, 'the lost records are reported');
      assert.ok(h.totals.problems.some((p) => p.includes('is missing')), h.totals.problems.join('\n'));
    } finally {
      await h.dispose();
    }
  });
});
