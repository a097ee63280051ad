// What the runner and the load generator's worker threads tell each other. Times are
// nanoseconds since the run's epoch (a process.hrtime.bigint() value the runner hands every
// worker), so all threads of the process share one clock.

import type { HistogramJson } from '../histogram.js';

export type ProducerMode =
  /** As fast as the broker takes it, for durationMs or until maxBytes were sent. */
  | { kind: 'max'; durationMs: number; warmupMs: number; maxBytes: number }
  /** A fixed offered load; records are due at evenly spaced intended times. */
  | { kind: 'rate'; recordsPerS: number; durationMs: number; lingerMs: number };

export interface ProducerWorkerConfig {
  role: 'producer';
  workerIndex: number;
  host: string;
  port: number;
  clientId: string;
  topic: string;
  produceVersion: number;
  acks: number;
  requestTimeoutMs: number;
  /** Partitions each of this worker's connections writes to. */
  connections: number[][];
  totalPartitions: number;
  recordBytes: number;
  recordsPerBatch: number;
  /** Largest produce request (the producer's max.request.size). */
  maxRequestBytes: number;
  inflight: number;
  mode: ProducerMode;
  /** How long after the phase's end outstanding requests are awaited before they are abandoned. */
  drainGraceMs: number;
  /** Stamp records (send time, sequence) for latency and loss checks. */
  stamped: boolean;
  epochNs: bigint;
  histogramBits: number;
}

export interface ProducerWorkerResult {
  records: number;
  payloadBytes: number;
  wireBytes: number;
  requests: number;
  firstSendNs: number;
  lastAckNs: number;
  /** Acknowledged after the warm-up (max mode): what the rate is computed from. */
  measuredRecords: number;
  measuredPayloadBytes: number;
  measuredStartNs: number;
  errors: Record<string, number>;
  /** [partition, records acknowledged] */
  ackedPerPartition: Array<[number, number]>;
  /** [partition, records the broker refused or never answered] */
  failedPerPartition: Array<[number, number]>;
  /** [partition, base offset + record count of its last appended batch]: where a reader stops. */
  endOffsetPerPartition: Array<[number, number]>;
  ackLatency: HistogramJson | null;
  /** Records that were due but not yet sent when the phase ended (rate mode falling behind). */
  unsentRecords: number;
}

export interface ConsumerWorkerConfig {
  role: 'consumer';
  workerIndex: number;
  host: string;
  port: number;
  clientId: string;
  topic: string;
  fetchVersion: number;
  /** Per connection: the partitions it reads and where it starts. */
  connections: Array<Array<{ partition: number; startOffset: number }>>;
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  partitionMaxBytes: number;
  recordBytes: number;
  stamped: boolean;
  /** Where to stop, when known at the start; otherwise sent later with an 'end-offsets' message. */
  endOffsets: Array<[number, number]> | null;
  /** Give up when no record arrived for this long. */
  idleTimeoutMs: number;
  epochNs: bigint;
  histogramBits: number;
}

export interface ConsumerWorkerResult {
  records: number;
  payloadBytes: number;
  wireBytes: number;
  firstFetchNs: number;
  lastRecordNs: number;
  fetches: number;
  /** [partition, records received] */
  consumedPerPartition: Array<[number, number]>;
  endToEnd: HistogramJson | null;
  /** Stamped records whose sequence was not the next expected one. */
  sequenceErrors: number;
  firstSequenceError: string | null;
  errors: Record<string, number>;
  reachedEnd: boolean;
}

export type WorkerConfig = ProducerWorkerConfig | ConsumerWorkerConfig;

export type ToWorker =
  | { type: 'start' }
  | { type: 'stop' }
  | { type: 'end-offsets'; offsets: Array<[number, number]> };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'progress'; records: number; payloadBytes: number }
  | { type: 'done'; result: ProducerWorkerResult | ConsumerWorkerResult }
  | { type: 'failed'; message: string };

export function nowNs(epochNs: bigint): number {
  return Number(process.hrtime.bigint() - epochNs);
}

export function countError(errors: Record<string, number>, name: string, n = 1): void {
  errors[name] = (errors[name] ?? 0) + n;
}
