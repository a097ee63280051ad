// The short crash-consistency run (the long one is bench/hardening/crash.ts): produce with
// acks=all from several producers and commit group offsets, SIGKILL the broker at a random
// moment, restart, and check that every acknowledged record is exactly at its acknowledged
// offset, in order, and that every acknowledged offset commit is there. 5 cycles with
// flush.messages=1 and 3 with the default flush policy, on small segments so that they roll.

import { strict as assert } from 'node:assert';
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
