// 10,000 partitions on one broker: creates them, produces a little to each, reads a
// little from each, and prints the broker's VmRSS, open descriptors and memory maps at
// each step, and RSS per partition. Run after `npm run build`:
//
//   node dist/bench/load/partitions.js [--partitions 10000] [--topics 10]
//       [--max-open-segments N] [--idle-close-ms N] [--records 3] [--value-bytes 100]
//
// --max-open-segments and --idle-close-ms set STRAND_LOG_MAX_OPEN_SEGMENTS and
// STRAND_LOG_SEGMENT_IDLE_CLOSE_MS on the broker (defaults: the broker's own).

import { startLoadBroker, sleep, type LoadBroker } from '../../test/load/broker-child.js';
import { batchOf, createTopicsOk, produceMany, RawClient } from '../../test/load/wire.js';
import { fetchV4 } from '../../test/compat/wire.js';

interface Options {
  partitions: number;
  topics: number;
  maxOpenSegments?: number;
  idleCloseMs?: number;
  records: number;
  valueBytes: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { partitions: 10_000, topics: 10, records: 3, valueBytes: 100 };
  for (let i = 0; i < argv.length; i++) {
    const next = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0) throw new Error(`${argv[i - 1]} needs a non-negative integer`);
      return v;
    };
    switch (argv[i]) {
      case '--partitions': o.partitions = next(); break;
      case '--topics': o.topics = next(); break;
      case '--max-open-segments': o.maxOpenSegments = next(); break;
      case '--idle-close-ms': o.idleCloseMs = next(); break;
      case '--records': o.records = next(); break;
      case '--value-bytes': o.valueBytes = next(); break;
      default: throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  if (o.topics < 1 || o.partitions < o.topics) throw new Error('need at least one partition per topic');
  return o;
}

interface Sample {
  step: string;
  rssMiB: number;
  fds: number;
  maps: number;
  seconds: number;
}

function sample(broker: LoadBroker, step: string, startMs: number): Sample {
  return {
    step,
    rssMiB: broker.rssKiB() / 1024,
    fds: broker.fdCount(),
    maps: broker.mapCount(),
    seconds: (Date.now() - startMs) / 1000,
  };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const env: Record<string, string> = {};
  if (o.maxOpenSegments !== undefined) env.STRAND_LOG_MAX_OPEN_SEGMENTS = String(o.maxOpenSegments);
  if (o.idleCloseMs !== undefined) env.STRAND_LOG_SEGMENT_IDLE_CLOSE_MS = String(o.idleCloseMs);
  const broker = await startLoadBroker({ env, overrides: { 'log.retention.check.interval.ms': '3600000' } });
  const start = Date.now();
  const samples: Sample[] = [];
  const show = (s: Sample): void => {
    samples.push(s);
    console.log(`${s.step.padEnd(34)} rss ${s.rssMiB.toFixed(1).padStart(8)} MiB  fds ${String(s.fds).padStart(6)}  maps ${String(s.maps).padStart(6)}  t ${s.seconds.toFixed(1)} s`);
  };
  try {
    await sleep(2_000); // the group coordinator's topic is created at start
    const base = sample(broker, 'started (baseline)', start);
    show(base);

    const perTopic = Math.floor(o.partitions / o.topics);
    const topics = Array.from({ length: o.topics }, (_, i) => ({ name: `load-${i}`, partitions: i === o.topics - 1 ? o.partitions - perTopic * (o.topics - 1) : perTopic }));
    for (const t of topics) await createTopicsOk(broker.port, [t]);
    show(sample(broker, `created ${o.partitions} partitions`, start));

    const client = await RawClient.connect(broker.port);
    const records = await batchOf(o.records, o.valueBytes);
    let produced = 0;
    for (const t of topics) {
      // a few hundred partitions per request, as a client batching per broker would
      for (let from = 0; from < t.partitions; from += 500) {
        const parts = [];
        for (let p = from; p < Math.min(t.partitions, from + 500); p++) parts.push({ partition: p, records });
        const results = await produceMany(client, t.name, parts);
        const bad = results.find((r) => r.errorCode !== 0);
        if (bad) throw new Error(`produce to ${t.name}-${bad.partition} failed with ${bad.errorCode}`);
        produced += parts.length;
      }
    }
    const afterProduce = sample(broker, `produced ${o.records} records to each`, start);
    show(afterProduce);

    let fetched = 0;
    for (const t of topics) {
      for (let p = 0; p < t.partitions; p += 10) {
        const r = await fetchV4(client, t.name, p, 0n, { maxWaitMs: 0, maxBytes: 64 * 1024 });
        if (r.errorCode !== 0 || r.records.length === 0) throw new Error(`fetch ${t.name}-${p}: error ${r.errorCode}, ${r.records.length} bytes`);
        fetched++;
      }
    }
    show(sample(broker, `fetched from ${fetched} partitions`, start));
    client.close();

    const idleWaitMs = (o.idleCloseMs ?? 30_000) + 3_000;
    await sleep(idleWaitMs);
    const idle = sample(broker, `idle ${Math.round(idleWaitMs / 1000)} s`, start);
    show(idle);

    const perPartitionKiB = ((afterProduce.rssMiB - base.rssMiB) * 1024) / o.partitions;
    const idlePerPartitionKiB = ((idle.rssMiB - base.rssMiB) * 1024) / o.partitions;
    console.log('');
    console.log(`partitions ${o.partitions} (${produced} produced to), max open segments ${o.maxOpenSegments ?? 'default'}, idle close ${o.idleCloseMs ?? 'default'} ms`);
    console.log(`RSS per partition: ${perPartitionKiB.toFixed(2)} KiB after produce, ${idlePerPartitionKiB.toFixed(2)} KiB when idle`);
    console.log(`descriptors: ${afterProduce.fds} after produce, ${idle.fds} idle (baseline ${base.fds})`);
    console.log(JSON.stringify({ partitions: o.partitions, perPartitionKiB, idlePerPartitionKiB, samples }));
  } finally {
    await broker.dispose();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
