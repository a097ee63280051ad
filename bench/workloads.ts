// The named workloads. Each has one topic layout and one set of client settings, used
// unchanged on every target, so that the figures of two brokers are comparable.

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

export type WorkloadKind = 'throughput' | 'small' | 'latency' | 'fanout' | 'partitions' | 'connections' | 'catchup' | 'kcat' | 'kafka-perf';
export type DriverName = 'loadgen' | 'kcat' | 'kafka-perf';

export interface WorkloadDefinition {
  name: string;
  kind: WorkloadKind;
  title: string;
  description: string;
  driver: DriverName;
  partitions: number;
  recordBytes: number;
  /** Upper bound of one record batch (the producer's batch.size). */
  batchBytes: number;
  acks: 1 | -1;
  /** Independent readers of the whole topic (fan-out), else 1. */
  readers: number;
  /** Idle client connections held open during the run. */
  idleConnections: number;
  /** Catch-up read: bytes loaded before reading from the start; kcat/perf: bytes per run. */
  dataBytes: number;
  /** Phases this workload reports, in order. */
  phases: string[];
  /** Left out of --quick. */
  fullOnly: boolean;
}

export interface WorkloadScale {
  quick: boolean;
  /** Bytes loaded for the catch-up read (2 GiB in the full suite). */
  catchupBytes: number;
  /** Bytes each kcat / perf-tool run moves. */
  externalBytes: number;
}

export function defaultScale(quick: boolean): WorkloadScale {
  return quick
    ? { quick, catchupBytes: 256 * MiB, externalBytes: 32 * MiB }
    : { quick, catchupBytes: 2 * GiB, externalBytes: 256 * MiB };
}

const base = {
  driver: 'loadgen' as DriverName,
  partitions: 16,
  recordBytes: KiB,
  batchBytes: 64 * KiB,
  acks: 1 as 1 | -1,
  readers: 1,
  idleConnections: 0,
  dataBytes: 0,
  fullOnly: false,
};

/** Every workload of the suite, at the given scale. */
export function workloadCatalog(scale: WorkloadScale): WorkloadDefinition[] {
  return [
    {
      ...base,
      name: 'throughput-acks1',
      kind: 'throughput',
      title: 'Throughput, 1 KiB records, 16 partitions, acks=1',
      description: 'Produce as fast as the broker takes it (64 KiB batches, pipelined, several connections), leader acknowledgement only; then read it all back from the start.',
      phases: ['produce', 'consume'],
    },
    {
      ...base,
      name: 'throughput-acksall',
      kind: 'throughput',
      title: 'Throughput, 1 KiB records, 16 partitions, acks=all',
      description: 'As throughput-acks1 with acks=all (-1): the broker answers once every in-sync replica has the batch; on one broker that is the leader, so the difference is the broker\'s own cost of the acks=all path.',
      acks: -1,
      phases: ['produce', 'consume'],
    },
    {
      ...base,
      name: 'small-1p',
      kind: 'small',
      title: 'Small records, 100 B, 1 partition',
      description: 'Per-record overhead: 100-byte records in 64 KiB batches to a single partition (one connection carries it).',
      partitions: 1,
      recordBytes: 100,
      phases: ['produce', 'consume'],
    },
    {
      ...base,
      name: 'small-16p',
      kind: 'small',
      title: 'Small records, 100 B, 16 partitions',
      description: '100-byte records in 64 KiB batches spread over 16 partitions.',
      recordBytes: 100,
      phases: ['produce', 'consume'],
    },
    {
      ...base,
      name: 'latency',
      kind: 'latency',
      title: 'Latency at a fixed rate (default: half the peak)',
      description: 'A fixed offered load (default half the target\'s measured acks=1 peak), 1 KiB records on 16 partitions, batches closed every linger interval. Each record carries its intended send time; produce latency is intended send to acknowledgement, end-to-end latency is intended send to arrival at a consumer that long-polls the partitions.',
      phases: ['end-to-end'],
    },
    {
      ...base,
      name: 'fanout',
      kind: 'fanout',
      title: 'Fan-out: 1 producer, 4 consumer groups',
      description: 'One producer (one connection) writes as fast as it can while 4 readers each read the whole topic from the start, concurrently. Each reader stands for a consumer group: an independent fetcher with its own offsets and connection (no group coordinator is involved).',
      readers: 4,
      phases: ['produce', 'consume'],
    },
    {
      ...base,
      name: 'partitions-1000',
      kind: 'partitions',
      title: 'Many partitions: 1,000',
      description: 'A 1,000-partition topic; 1 KiB records in 16 KiB batches, up to 64 partitions per produce request; throughput and the broker\'s memory.',
      partitions: 1000,
      batchBytes: 16 * KiB,
      phases: ['produce'],
    },
    {
      ...base,
      name: 'connections-1000',
      kind: 'connections',
      title: 'Many connections: 1,000 idle + 1 working producer',
      description: '1,000 client connections (each sent ApiVersions and Metadata, then idles) stay open while the throughput-acks1 producer runs; throughput, broker memory, and whether the idle connections survived.',
      idleConnections: 1000,
      phases: ['produce'],
    },
    {
      ...base,
      name: 'catchup',
      kind: 'catchup',
      title: `Catch-up read of ${formatBytes(scale.catchupBytes)}`,
      description: `Load ${formatBytes(scale.catchupBytes)} of 1 KiB records into 16 partitions once, then read all of it from offset 0: first with a cold page cache (caches dropped when permitted), then warm.`,
      dataBytes: scale.catchupBytes,
      phases: ['setup-produce', 'consume-cold', 'consume-warm'],
    },
    {
      ...base,
      name: 'kcat',
      kind: 'kcat',
      driver: 'kcat',
      title: 'kcat (librdkafka) produce and consume',
      description: `A client we did not write: kcat produces ${formatBytes(scale.externalBytes)} of 1 KiB records to 16 partitions (acks=1, batch.size 64 KiB, linger.ms 5) and reads them back from the start.`,
      dataBytes: scale.externalBytes,
      phases: ['produce', 'consume'],
    },
    {
      ...base,
      name: 'kafka-perf',
      kind: 'kafka-perf',
      driver: 'kafka-perf',
      title: "Apache Kafka's perf tools",
      description: `kafka-producer-perf-test (1 KiB records, acks=1, batch.size 64 KiB, linger.ms 5, ${formatBytes(scale.externalBytes)}) and kafka-consumer-perf-test (which uses a consumer group) from the Apache Kafka distribution.`,
      dataBytes: scale.externalBytes,
      phases: ['produce', 'consume'],
    },
    {
      ...base,
      name: 'partitions-10000',
      kind: 'partitions',
      title: 'Many partitions: 10,000',
      description: 'As partitions-1000 with 10,000 partitions. Last in the suite: a broker that runs out of file descriptors here cannot spoil the other workloads.',
      partitions: 10000,
      batchBytes: 16 * KiB,
      phases: ['produce'],
      fullOnly: true,
    },
  ];
}

/**
 * Workloads chosen by names or kinds (`throughput` selects both throughput workloads, `small` both small-record ones), in
 * catalog order. No patterns: every workload of the mode. Unknown names throw.
 */
export function selectWorkloads(catalog: readonly WorkloadDefinition[], patterns: readonly string[] | null, quick: boolean): WorkloadDefinition[] {
  if (patterns === null || patterns.length === 0) return catalog.filter((w) => !quick || !w.fullOnly);
  const chosen = new Set<string>();
  for (const pattern of patterns) {
    const matches = catalog.filter((w) => w.name === pattern || w.kind === pattern);
    if (matches.length === 0) {
      throw new Error(`unknown workload '${pattern}' (known: ${catalog.map((w) => w.name).join(', ')})`);
    }
    for (const w of matches) chosen.add(w.name);
  }
  return catalog.filter((w) => chosen.has(w.name));
}

export function formatBytes(bytes: number): string {
  if (bytes >= GiB && bytes % GiB === 0) return `${bytes / GiB} GiB`;
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= KiB && bytes % KiB === 0) return `${bytes / KiB} KiB`;
  if (bytes >= GiB) return `${(bytes / GiB).toFixed(2)} GiB`;
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  return `${bytes} B`;
}

/** The text of `--list`. */
export function describeWorkloads(catalog: readonly WorkloadDefinition[]): string {
  const lines: string[] = [];
  for (const w of catalog) {
    lines.push(`${w.name.padEnd(20)} ${w.title}${w.fullOnly ? '  [full suite only]' : ''}`);
    lines.push(`${''.padEnd(20)} ${w.description}`);
    lines.push(
      `${''.padEnd(20)} driver ${w.driver}, ${w.partitions} partition(s), ${formatBytes(w.recordBytes)} records, batches up to ${formatBytes(w.batchBytes)}, acks=${w.acks === -1 ? 'all' : '1'}; reports ${w.phases.join(', ')}`,
    );
    lines.push('');
  }
  return lines.join('\n');
}
