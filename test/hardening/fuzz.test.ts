// A short seeded fuzz run against a live broker (the long one is bench/hardening/fuzz.ts):
// 20,000 hostile inputs over 16 pipelined connections. The broker must stay up, keep
// answering a health probe throughout, answer in order with responses that decode, keep its
// RSS bounded, log nothing but the expected rejections, and serve valid requests afterwards.

import { strict as assert } from 'node:assert';
import { before, describe, it } from 'node:test';
import { formatStats, runFuzzSession, type FuzzSessionResult } from './fuzz-session.js';

const SEED = Number(process.env['STRAND_FUZZ_SEED'] ?? 20_240_601);
const INPUTS = Number(process.env['STRAND_FUZZ_INPUTS'] ?? 20_000);
// Generous: the broker idles at ~70 MiB; a leak or an allocation sized by a hostile length
// field shows up far above this.
const RSS_LIMIT_KIB = 512 * 1024;
const RSS_GROWTH_LIMIT_KIB = 192 * 1024;

describe(`fuzz: ${INPUTS} hostile inputs, seed ${SEED}`, () => {
  let r: FuzzSessionResult;

  before(async () => {
    r = await runFuzzSession({ seed: SEED, inputs: INPUTS, connections: 16, maxBurst: 16, bombBytes: 8 * 1024 * 1024, deadlineMs: 50_000 });
    console.log(formatStats(r));
  });

  it('the broker never exits and the health probe never fails', () => {
    assert.equal(r.stats.brokerExited, false, `broker exited: ${r.brokerExit}\n${r.brokerOutputTail}`);
    assert.equal(r.brokerAlive, true);
    assert.ok(r.stats.probes > 0, 'the probe ran');
    assert.deepEqual(r.stats.probeFailureSamples, []);
  });

  it('all the inputs went out and the broker read most of them', () => {
    assert.equal(r.stats.inputsSent, INPUTS);
    assert.ok(r.stats.inputsDelivered >= INPUTS / 2, `${r.stats.inputsDelivered} of ${INPUTS} certainly read`);
  });

  it('responses come in request order and decode', () => {
    assert.deepEqual(r.stats.orderSamples, []);
    assert.equal(r.stats.orderViolations, 0);
    assert.deepEqual(r.stats.undecodableSamples, []);
  });

  // Issue 7: valid decompression bombs (8 MiB values) and snappy blocks that declare hundreds
  // of MiB once drove the broker to ~600 MiB. Compressed batches are now walked as they
  // decompress, impossible snappy lengths are refused before allocating, and malloc is tuned
  // (storage/malloc.ts): ~120-140 MiB at the peak, ~30-60 MiB above the start after.
  it('RSS stays bounded', () => {
    assert.ok(r.rssMaxKiB < RSS_LIMIT_KIB, `max RSS ${r.rssMaxKiB} KiB`);
    assert.ok(r.rssSettledKiB !== null && r.rssSettledKiB - r.rssStartKiB < RSS_GROWTH_LIMIT_KIB, `RSS ${r.rssStartKiB} -> ${r.rssSettledKiB} KiB`);
  });

  it('valid requests still work afterwards', () => {
    const failures = r.healthChecks.filter((c) => c.startsWith('FAIL'));
    assert.deepEqual(failures, [], r.healthChecks.join('\n'));
  });

  it('the broker logs nothing but the expected rejections (no handler exceptions, no unencodable responses)', () => {
    assert.deepEqual(r.unexpectedLog.map((u) => `x${u.count} ${u.what} (e.g. ${u.sample})`), []);
  });
});
