// The crash-consistency run: `node dist/bench/hardening/crash.js [--cycles 100] [--seed 1]
// [--flush every|default|both] [--producers 4] [--partitions 3]`. Each cycle produces with
// acks=all (and commits group offsets), SIGKILLs the broker at a random moment, restarts it,
// and checks every acknowledged record and commit so far. Exits 1 on any loss.

import { rmSync } from 'node:fs';
import { snapshotBuild } from '../../test/hardening/broker-process.js';
import { CrashHarness, type CrashTotals } from '../../test/hardening/crash-harness.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

async function runMode(flushEveryMessage: boolean, cycles: number, seed: number, producers: number, partitions: number, entry: string): Promise<CrashTotals> {
  const h = new CrashHarness({ seed, flushEveryMessage, producers, partitions, entry, overrides: { 'log.segment.bytes': String(1024 * 1024) } });
  await h.setup();
  const label = flushEveryMessage ? 'flush.messages=1' : 'default flush policy';
  console.log(`crash: ${label}, ${cycles} cycles, seed ${seed}, ${producers} producers, ${partitions} partitions, data in ${h.dataDir}`);
  const started = Date.now();
  try {
    for (let i = 0; i < cycles; i++) {
      const c = await h.cycle();
      const t = h.totals;
      if (i % 10 === 9 || i === cycles - 1 || t.lost > 0) {
        console.log(
          `  cycle ${c.cycle + 1}: killed after ${c.killAfterMs} ms with ${c.inFlightAtKill} in flight; restart ${c.restartMs} ms; ` +
            `totals acked ${t.acknowledged}, found ${t.found}, lost ${t.lost}, commits acked ${t.commitsAcknowledged}, commits lost ${t.commitsLost}`,
        );
      }
    }
  } finally {
    await h.dispose();
  }
  const t = h.totals;
  console.log(
    `${label}: ${t.cycles} cycles in ${((Date.now() - started) / 1000).toFixed(0)} s; records acknowledged ${t.acknowledged}, found ${t.found}, lost ${t.lost}; ` +
      `foreign ${t.foreign}, duplicates ${t.duplicates}, gaps ${t.gaps}; in flight at kills ${t.inFlightAtKill} requests, ` +
      `unacknowledged records found stored ${t.unacknowledgedButStored}; start failures ${t.startFailures}, max restart ${t.maxRestartMs} ms; ` +
      `group commits acknowledged ${t.commitsAcknowledged}, lost ${t.commitsLost}${h.groupOffsetsChecked ? '' : ' (OffsetCommit not available: skipped)'}; ` +
      `produce errors ${JSON.stringify(t.produceErrors)}`,
  );
  for (const p of t.problems.slice(0, 20)) console.log(`  PROBLEM ${p}`);
  return t;
}

async function main(): Promise<void> {
  const cycles = Number(arg('cycles', '100'));
  const seed = Number(arg('seed', String(Date.now() % 100_000)));
  const flush = arg('flush', 'both');
  const producers = Number(arg('producers', '4'));
  const partitions = Number(arg('partitions', '3'));
  const results: CrashTotals[] = [];
  // A private copy of the build: others may rebuild dist/ while this runs for minutes.
  const snapshot = snapshotBuild();
  try {
    if (flush === 'every' || flush === 'both') results.push(await runMode(true, cycles, seed, producers, partitions, snapshot.entry));
    if (flush === 'default' || flush === 'both') results.push(await runMode(false, cycles, seed + 1, producers, partitions, snapshot.entry));
  } finally {
    rmSync(snapshot.dir, { recursive: true, force: true });
  }
  const bad = results.some((t) => t.lost > 0 || t.commitsLost > 0 || t.foreign > 0 || t.duplicates > 0 || t.gaps > 0 || t.startFailures > 0 || t.problems.length > 0);
  process.exitCode = bad ? 1 : 0;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
