// The load generator's own ceiling: the throughput workload's producers and readers
// against the null broker (bench/driver/null-broker), which answers without storing.
// A target that reaches these figures is limited by the load generator, not by itself.

import * as path from 'node:path';
import type { MachineLimit } from '../model.js';
import { spawnTracked, stopChild } from '../targets/process.js';
import { recordsPerBatch } from './batches.js';
import { CONSUMER_DEFAULTS, prepareConsumers, prepareProducers, type Endpoint } from './loadgen.js';

export interface CeilingSettings {
  threads: number;
  producerConnections: number;
  consumerConnections: number;
  inflight: number;
  durationMs: number;
  warmupMs: number;
  /** Bytes the readers read. */
  readBytes: number;
  epochNs: bigint;
}

const PARTITIONS = 16;
const RECORD_BYTES = 1024;
const BATCH_BYTES = 64 * 1024;

async function startNullBroker(): Promise<{ port: number; stop: () => Promise<void> }> {
  const child = spawnTracked(process.execPath, [path.join(__dirname, 'null-broker.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error('the null broker did not start')), 15_000);
    child.stdout!.on('data', (c: Buffer) => {
      text += c.toString('utf8');
      const m = /\{"port":(\d+)\}/.exec(text);
      if (m !== null) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error('the null broker exited'));
    });
  });
  return { port, stop: async () => { await stopChild(child, 5_000); } };
}

export async function measureLoadgenCeiling(s: CeilingSettings): Promise<MachineLimit[]> {
  const broker = await startNullBroker();
  const ep: Endpoint = {
    host: '127.0.0.1',
    port: broker.port,
    versions: { apiVersions: 3, produce: 9, fetch: 12, metadata: 12, createTopics: null, deleteTopics: null },
    epochNs: s.epochNs,
  };
  const how = `${s.threads} thread(s) per role, the throughput-acks1 layout (16 partitions, 1 KiB records, 64 KiB batches)`;
  try {
    const producers = await prepareProducers(
      ep,
      {
        topic: 'ceiling',
        partitions: PARTITIONS,
        recordBytes: RECORD_BYTES,
        batchBytes: BATCH_BYTES,
        acks: 1,
        connections: s.producerConnections,
        threads: s.threads,
        inflight: s.inflight,
        maxRequestBytes: 1024 * 1024,
        mode: { kind: 'max', durationMs: s.durationMs, warmupMs: s.warmupMs, maxBytes: Number.MAX_SAFE_INTEGER },
        stamped: false,
        drainGraceMs: 5000,
      },
      'strand-bench-ceiling',
    );
    producers.start();
    const produced = await producers.finish();
    const perPartition = Math.ceil(s.readBytes / PARTITIONS / RECORD_BYTES / recordsPerBatch(RECORD_BYTES, BATCH_BYTES)) * recordsPerBatch(RECORD_BYTES, BATCH_BYTES);
    const readers = await prepareConsumers(
      ep,
      {
        topic: 'ceiling',
        readers: 1,
        partitions: PARTITIONS,
        connectionsPerReader: s.consumerConnections,
        threads: s.threads,
        recordBytes: RECORD_BYTES,
        stamped: false,
        endOffsets: new Map(Array.from({ length: PARTITIONS }, (_, p) => [p, perPartition] as [number, number])),
        ...CONSUMER_DEFAULTS,
        idleTimeoutMs: 30_000,
      },
      'strand-bench-ceiling',
    );
    readers.start();
    const consumed = await readers.finish();
    return [
      { name: 'load generator produce ceiling', mbPerS: produced.mbPerS, method: `producers against a null broker that answers without storing; ${how}`, note: '' },
      { name: 'load generator fetch ceiling', mbPerS: consumed.mbPerS, method: `readers against a null broker that serves prebuilt batches; ${how}`, note: '' },
    ];
  } finally {
    await broker.stop();
  }
}
