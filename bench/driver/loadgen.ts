// The load generator as the runner sees it: spread partitions over connections and
// connections over worker threads, run producers and consumers, and combine the workers'
// results into one figure per phase.

import { LatencyHistogram } from '../histogram.js';
import type { NegotiatedVersions } from './admin.js';
import { recordsPerBatch } from './batches.js';
import type { ConsumerWorkerConfig, ConsumerWorkerResult, ProducerMode, ProducerWorkerConfig, ProducerWorkerResult } from './messages.js';
import { WorkerGroup } from './pool.js';

export const HISTOGRAM_BITS = 8;

export interface Endpoint {
  host: string;
  port: number;
  versions: NegotiatedVersions;
  /** The clock origin shared by every worker of the run. */
  epochNs: bigint;
}

export interface ProduceSpec {
  topic: string;
  partitions: number;
  recordBytes: number;
  batchBytes: number;
  acks: number;
  connections: number;
  threads: number;
  inflight: number;
  maxRequestBytes: number;
  mode: ProducerMode;
  stamped: boolean;
  /** Outstanding requests are abandoned this long after the phase's end. */
  drainGraceMs: number;
}

export interface ProduceOutcome {
  records: number;
  payloadBytes: number;
  wireBytes: number;
  requests: number;
  durationS: number;
  mbPerS: number;
  recordsPerS: number;
  acked: Map<number, number>;
  failed: Map<number, number>;
  endOffsets: Map<number, number>;
  errors: Record<string, number>;
  ackLatency: LatencyHistogram | null;
  unsentRecords: number;
  settings: Record<string, number | string>;
}

/** Partitions 0..n-1 dealt round-robin onto `buckets` lists (fewer lists when there are fewer partitions). */
export function deal(partitions: number, buckets: number): number[][] {
  const n = Math.max(1, Math.min(buckets, partitions));
  const out: number[][] = Array.from({ length: n }, () => []);
  for (let p = 0; p < partitions; p++) out[p % n]!.push(p);
  return out;
}

/** Items dealt onto at most `threads` workers, keeping each worker's share contiguous by index modulo. */
export function spreadOverThreads<T>(items: readonly T[], threads: number): T[][] {
  const n = Math.max(1, Math.min(threads, items.length));
  const out: T[][] = Array.from({ length: n }, () => []);
  items.forEach((item, i) => out[i % n]!.push(item));
  return out;
}

const MB = 1024 * 1024;

function addAll(into: Map<number, number>, pairs: Array<[number, number]>, combine: (a: number, b: number) => number = (a, b) => a + b): void {
  for (const [k, v] of pairs) into.set(k, into.has(k) ? combine(into.get(k)!, v) : v);
}

function mergeErrors(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

/** Starts producers; resolves once all are connected. Call start() on the result to go. */
export async function prepareProducers(ep: Endpoint, spec: ProduceSpec, clientId: string): Promise<ProducerGroup> {
  const perConnection = deal(spec.partitions, spec.connections);
  const perWorker = spreadOverThreads(perConnection, spec.threads);
  const perBatch = recordsPerBatch(spec.recordBytes, spec.batchBytes);
  const configs: ProducerWorkerConfig[] = perWorker.map((connections, workerIndex) => {
    const share = connections.length / perConnection.length;
    const mode: ProducerMode = spec.mode.kind === 'max' ? { ...spec.mode, maxBytes: spec.mode.maxBytes * share } : spec.mode;
    return {
      role: 'producer',
      workerIndex,
      host: ep.host,
      port: ep.port,
      clientId,
      topic: spec.topic,
      produceVersion: ep.versions.produce,
      acks: spec.acks,
      requestTimeoutMs: 30_000,
      connections,
      totalPartitions: spec.partitions,
      recordBytes: spec.recordBytes,
      recordsPerBatch: perBatch,
      maxRequestBytes: spec.maxRequestBytes,
      inflight: spec.inflight,
      mode,
      drainGraceMs: spec.drainGraceMs,
      stamped: spec.stamped,
      epochNs: ep.epochNs,
      histogramBits: HISTOGRAM_BITS,
    };
  });
  const group = new ProducerGroup(configs, spec, perConnection.length);
  await group.ready();
  return group;
}

export class ProducerGroup {
  private readonly workers: WorkerGroup<ProducerWorkerResult>;

  constructor(
    configs: ProducerWorkerConfig[],
    private readonly spec: ProduceSpec,
    private readonly connectionCount: number,
  ) {
    this.workers = new WorkerGroup<ProducerWorkerResult>(configs);
  }

  ready(): Promise<void> {
    return this.workers.ready();
  }

  start(): void {
    this.workers.start();
  }

  progress(): { records: number; payloadBytes: number } {
    return this.workers.totals();
  }

  stop(): void {
    this.workers.post({ type: 'stop' });
  }

  terminate(): Promise<void> {
    return this.workers.terminate();
  }

  async finish(): Promise<ProduceOutcome> {
    const results = await this.workers.results();
    const acked = new Map<number, number>();
    const failed = new Map<number, number>();
    const endOffsets = new Map<number, number>();
    const errors: Record<string, number> = {};
    let ackLatency: LatencyHistogram | null = null;
    let records = 0;
    let payloadBytes = 0;
    let wireBytes = 0;
    let requests = 0;
    let measuredPayload = 0;
    let measuredRecords = 0;
    let unsent = 0;
    let first = Number.POSITIVE_INFINITY;
    let last = 0;
    let measuredStart = Number.POSITIVE_INFINITY;
    for (const r of results) {
      records += r.records;
      payloadBytes += r.payloadBytes;
      wireBytes += r.wireBytes;
      requests += r.requests;
      measuredPayload += r.measuredPayloadBytes;
      measuredRecords += r.measuredRecords;
      unsent += r.unsentRecords;
      if (r.firstSendNs >= 0) first = Math.min(first, r.firstSendNs);
      last = Math.max(last, r.lastAckNs);
      measuredStart = Math.min(measuredStart, r.measuredStartNs);
      addAll(acked, r.ackedPerPartition);
      addAll(failed, r.failedPerPartition);
      addAll(endOffsets, r.endOffsetPerPartition, Math.max);
      mergeErrors(errors, r.errors);
      if (r.ackLatency !== null) {
        const h = LatencyHistogram.fromJSON(r.ackLatency);
        if (ackLatency === null) ackLatency = h;
        else ackLatency.merge(h);
      }
    }
    // The rate counts what was acknowledged after the warm-up; a phase too short to have
    // any falls back to the whole span.
    const useMeasured = measuredRecords > 0 && last > measuredStart;
    const spanNs = useMeasured ? last - measuredStart : last - first;
    const durationS = Number.isFinite(spanNs) && spanNs > 0 ? spanNs / 1e9 : 0;
    const rateBytes = useMeasured ? measuredPayload : payloadBytes;
    const rateRecords = useMeasured ? measuredRecords : records;
    return {
      records,
      payloadBytes,
      wireBytes,
      requests,
      durationS,
      mbPerS: durationS > 0 ? rateBytes / MB / durationS : 0,
      recordsPerS: durationS > 0 ? rateRecords / durationS : 0,
      acked,
      failed,
      endOffsets,
      errors,
      ackLatency,
      unsentRecords: unsent,
      settings: {
        connections: this.connectionCount,
        threads: results.length,
        inflightPerConnection: this.spec.inflight,
        recordsPerBatch: recordsPerBatch(this.spec.recordBytes, this.spec.batchBytes),
        requests,
        rateWindow: useMeasured ? 'after warm-up' : 'whole phase',
      },
    };
  }
}

export interface ConsumeSpec {
  topic: string;
  /** Readers of the whole topic; each reads every partition (fan-out), or 1. */
  readers: number;
  partitions: number;
  /** Connections per reader (the partitions are dealt onto them). */
  connectionsPerReader: number;
  threads: number;
  recordBytes: number;
  stamped: boolean;
  endOffsets: Map<number, number> | null;
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  partitionMaxBytes: number;
  idleTimeoutMs: number;
}

export interface ConsumeOutcome {
  records: number;
  payloadBytes: number;
  wireBytes: number;
  durationS: number;
  mbPerS: number;
  recordsPerS: number;
  fetches: number;
  /** Records per partition, summed over readers. */
  consumed: Map<number, number>;
  endToEnd: LatencyHistogram | null;
  sequenceErrors: number;
  firstSequenceError: string | null;
  errors: Record<string, number>;
  reachedEnd: boolean;
  settings: Record<string, number | string>;
}

/** Kafka's consumer defaults: fetch.max.wait.ms 500, fetch.min.bytes 1, fetch.max.bytes 50 MiB, max.partition.fetch.bytes 1 MiB. */
export const CONSUMER_DEFAULTS = { maxWaitMs: 500, minBytes: 1, maxBytes: 50 * MB, partitionMaxBytes: MB };

export async function prepareConsumers(ep: Endpoint, spec: ConsumeSpec, clientId: string): Promise<ConsumerGroup> {
  const connections: Array<Array<{ partition: number; startOffset: number }>> = [];
  for (let r = 0; r < spec.readers; r++) {
    for (const list of deal(spec.partitions, spec.connectionsPerReader)) connections.push(list.map((partition) => ({ partition, startOffset: 0 })));
  }
  const perWorker = spreadOverThreads(connections, spec.threads);
  const configs: ConsumerWorkerConfig[] = perWorker.map((conns, workerIndex) => ({
    role: 'consumer',
    workerIndex,
    host: ep.host,
    port: ep.port,
    clientId,
    topic: spec.topic,
    fetchVersion: ep.versions.fetch,
    connections: conns,
    maxWaitMs: spec.maxWaitMs,
    minBytes: spec.minBytes,
    maxBytes: spec.maxBytes,
    partitionMaxBytes: spec.partitionMaxBytes,
    recordBytes: spec.recordBytes,
    stamped: spec.stamped,
    endOffsets: spec.endOffsets === null ? null : [...spec.endOffsets.entries()],
    idleTimeoutMs: spec.idleTimeoutMs,
    epochNs: ep.epochNs,
    histogramBits: HISTOGRAM_BITS,
  }));
  const group = new ConsumerGroup(configs, spec, connections.length);
  await group.ready();
  return group;
}

export class ConsumerGroup {
  private readonly workers: WorkerGroup<ConsumerWorkerResult>;

  constructor(
    configs: ConsumerWorkerConfig[],
    private readonly spec: ConsumeSpec,
    private readonly connectionCount: number,
  ) {
    this.workers = new WorkerGroup<ConsumerWorkerResult>(configs);
  }

  ready(): Promise<void> {
    return this.workers.ready();
  }

  start(): void {
    this.workers.start();
  }

  setEndOffsets(ends: Map<number, number>): void {
    this.workers.post({ type: 'end-offsets', offsets: [...ends.entries()] });
  }

  progress(): { records: number; payloadBytes: number } {
    return this.workers.totals();
  }

  stop(): void {
    this.workers.post({ type: 'stop' });
  }

  terminate(): Promise<void> {
    return this.workers.terminate();
  }

  async finish(): Promise<ConsumeOutcome> {
    const results = await this.workers.results();
    const consumed = new Map<number, number>();
    const errors: Record<string, number> = {};
    let endToEnd: LatencyHistogram | null = null;
    let records = 0;
    let payloadBytes = 0;
    let wireBytes = 0;
    let fetches = 0;
    let sequenceErrors = 0;
    let firstSequenceError: string | null = null;
    let first = Number.POSITIVE_INFINITY;
    let last = 0;
    let reachedEnd = true;
    for (const r of results) {
      records += r.records;
      payloadBytes += r.payloadBytes;
      wireBytes += r.wireBytes;
      fetches += r.fetches;
      sequenceErrors += r.sequenceErrors;
      firstSequenceError ??= r.firstSequenceError;
      if (r.firstFetchNs >= 0) first = Math.min(first, r.firstFetchNs);
      last = Math.max(last, r.lastRecordNs);
      reachedEnd &&= r.reachedEnd;
      addAll(consumed, r.consumedPerPartition);
      mergeErrors(errors, r.errors);
      if (r.endToEnd !== null) {
        const h = LatencyHistogram.fromJSON(r.endToEnd);
        if (endToEnd === null) endToEnd = h;
        else endToEnd.merge(h);
      }
    }
    const spanNs = last - first;
    const durationS = Number.isFinite(spanNs) && spanNs > 0 ? spanNs / 1e9 : 0;
    return {
      records,
      payloadBytes,
      wireBytes,
      durationS,
      mbPerS: durationS > 0 ? payloadBytes / MB / durationS : 0,
      recordsPerS: durationS > 0 ? records / durationS : 0,
      fetches,
      consumed,
      endToEnd,
      sequenceErrors,
      firstSequenceError,
      errors,
      reachedEnd,
      settings: {
        readers: this.spec.readers,
        connections: this.connectionCount,
        threads: results.length,
        fetchMaxWaitMs: this.spec.maxWaitMs,
        fetchMinBytes: this.spec.minBytes,
        fetchMaxBytes: this.spec.maxBytes,
        partitionMaxBytes: this.spec.partitionMaxBytes,
        fetches,
      },
    };
  }
}
