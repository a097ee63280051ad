// 5,000 concurrent connections on one broker: opens them (each proven with ApiVersions),
// runs a kafkajs producer and group consumer meanwhile, checks every idle connection still
// answers, and prints the broker's RSS and descriptors. Run after `npm run build`:
//
//   node dist/bench/load/connections.js [--connections 5000] [--messages 20000]
//
// Both processes need descriptors: the broker raises its soft RLIMIT_NOFILE to the hard
// limit at start-up; this script raises its own the same way.

import { startLoadBroker } from '../../test/load/broker-child.js';
import { ensureClientDescriptors, runConnectionLoad } from '../../test/load/connection-load.js';

async function main(): Promise<void> {
  let connections = 5_000;
  let messages = 20_000;
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--connections') connections = Number(argv[++i]);
    else if (argv[i] === '--messages') messages = Number(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  ensureClientDescriptors(connections + 500);
  const broker = await startLoadBroker();
  try {
    const r = await runConnectionLoad(broker, connections, messages);
    const mib = (k: number): string => (k / 1024).toFixed(1);
    console.log(`connections held          ${r.idleConnections} (opened in ${r.connectSeconds.toFixed(1)} s), ${r.stillAnswering} still answering after the work`);
    console.log(`broker RSS                ${mib(r.baseline.rssKiB)} MiB -> ${mib(r.withIdle.rssKiB)} MiB with the connections (${r.rssPerConnectionKiB.toFixed(1)} KiB each), ${mib(r.afterWork.rssKiB)} MiB after the work`);
    console.log(`broker descriptors        ${r.baseline.fds} -> ${r.withIdle.fds} with the connections, ${r.afterClose.fds} after they closed`);
    console.log(`producer (kafkajs)        ${r.produced} messages in ${r.produceSeconds.toFixed(2)} s (acks=all, 100 per send)`);
    console.log(`consumer (kafkajs group)  ${r.consumed} messages in ${r.consumeSeconds.toFixed(2)} s`);
    console.log(JSON.stringify(r));
    if (r.stillAnswering !== connections) process.exitCode = 1;
  } finally {
    await broker.dispose();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
