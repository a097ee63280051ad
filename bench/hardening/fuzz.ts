// The long fuzz run: `node dist/bench/hardening/fuzz.js [--inputs 1000000] [--seed 1]
// [--connections 32] [--burst 16] [--minutes 60] [--log-level info] [--weights valid=30,...] [--apis 0,1,3] [--bomb-mib 32]`. Starts its own broker
// (child process), prints progress every 10 s and a summary; exits 1 when the broker died,
// a probe failed, a response was out of order or undecodable, or a check after the run failed.

import { rmSync } from 'node:fs';
import { snapshotBuild } from '../../test/hardening/broker-process.js';
import { formatStats, runFuzzSession } from '../../test/hardening/fuzz-session.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

async function main(): Promise<void> {
  const inputs = Number(arg('inputs', '1000000'));
  const seed = Number(arg('seed', String(Date.now() % 1_000_000)));
  const connections = Number(arg('connections', '32'));
  const maxBurst = Number(arg('burst', '16'));
  const minutes = Number(arg('minutes', '120'));
  const logLevel = arg('log-level', 'info');
  // e.g. --weights valid=30,mutated=60,random=0 (see DEFAULT_WEIGHTS in fuzz-inputs.ts)
  const weights = Object.fromEntries(
    arg('weights', '').split(',').filter((x) => x.includes('=')).map((x) => [x.split('=')[0]!, Number(x.split('=')[1])]),
  );
  console.log(`fuzz: seed ${seed}, ${inputs} inputs, ${connections} connections, bursts up to ${maxBurst}, broker log level ${logLevel}`);
  const started = Date.now();
  // A private copy of the build: others may rebuild dist/ while this runs.
  const snapshot = snapshotBuild();
  const result = await runFuzzSession({
    entry: snapshot.entry,
    seed,
    inputs,
    connections,
    maxBurst,
    logLevel,
    weights,
    bombBytes: Number(arg('bomb-mib', '32')) * 1024 * 1024,
    apiKeys: arg('apis', '') === '' ? undefined : arg('apis', '').split(',').map(Number),
    deadlineMs: minutes * 60_000,
    progressEveryMs: 10_000,
    onProgress: (s, rss) => {
      const secs = (Date.now() - started) / 1000;
      console.log(
        `  ${secs.toFixed(0)} s: ${s.inputsSent} inputs (${Math.round(s.inputsSent / Math.max(secs, 1))}/s), ` +
          `closed by broker ${s.closedByBroker}, responses ${s.responses}, probes ${s.probes}/${s.probeFailures} failed, ` +
          `RSS ${rss === null ? '-' : `${(rss / 1024).toFixed(0)} MiB`}`,
      );
    },
  });
  rmSync(snapshot.dir, { recursive: true, force: true });
  console.log(formatStats(result));
  const s = result.stats;
  const failed =
    !result.brokerAlive || s.brokerExited || s.probeFailures > 0 || s.orderViolations > 0 || s.undecodableResponses > 0 || result.unexpectedLog.length > 0 ||
    result.healthChecks.some((c) => c.startsWith('FAIL'));
  if (failed) {
    console.log(`FAILED. Broker output tail:\n${result.brokerOutputTail.slice(-3000)}`);
    console.log(`last inputs sent (replay with the same seed): ${s.recentInputs.slice(-200).join(',')}`);
  }
  process.exitCode = failed ? 1 : 0;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
