// The consuming half of the load generator, run inside a worker thread. Each connection
// keeps one Fetch outstanding for its partitions (as a consumer does), advancing each
// partition past the last complete batch it received, until every partition reaches its
// end offset. Stamped records are decoded for end-to-end latency and sequence checks;
// otherwise only batch headers are read.

import { ApiKey, decodeResponseFrame, errorName, ErrorCode, iterateBatches, ZERO_UUID } from '../../src/protocol/index.js';
import type { FetchRequest, RecordBatchView } from '../../src/protocol/index.js';
import { LatencyHistogram } from '../histogram.js';
import { visitStamps } from './batches.js';
import { KafkaConnection } from './connection.js';
import { countError, nowNs, type ConsumerWorkerConfig, type ConsumerWorkerResult } from './messages.js';

const PROGRESS_INTERVAL_MS = 250;
const ERROR_BACKOFF_MS = 100;

interface PartitionState {
  partition: number;
  offset: number;
  end: number;
  nextSequence: number;
  consumed: number;
}

export class ConsumerRun {
  private readonly conns: KafkaConnection[] = [];
  private readonly states: PartitionState[][] = [];
  private readonly endToEnd: LatencyHistogram | null;
  private records = 0;
  private payloadBytes = 0;
  private wireBytes = 0;
  private fetches = 0;
  private firstFetchNs = -1;
  private lastRecordNs = -1;
  private lastProgressAt = Date.now();
  private sequenceErrors = 0;
  private firstSequenceError: string | null = null;
  private readonly errors: Record<string, number> = {};
  private stopped = false;
  private endsKnown: boolean;
  private readonly wake: Array<() => void> = [];

  constructor(
    private readonly cfg: ConsumerWorkerConfig,
    private readonly onProgress: (records: number, payloadBytes: number) => void,
  ) {
    this.endToEnd = cfg.stamped ? new LatencyHistogram(cfg.histogramBits) : null;
    const ends = new Map(cfg.endOffsets ?? []);
    this.endsKnown = cfg.endOffsets !== null;
    for (const list of cfg.connections) {
      this.states.push(
        list.map((p) => ({
          partition: p.partition,
          offset: p.startOffset,
          end: ends.get(p.partition) ?? Number.POSITIVE_INFINITY,
          nextSequence: p.startOffset,
          consumed: 0,
        })),
      );
    }
  }

  async prepare(): Promise<void> {
    for (let i = 0; i < this.cfg.connections.length; i++) {
      this.conns.push(await KafkaConnection.open(this.cfg.host, this.cfg.port, `${this.cfg.clientId}-c${this.cfg.workerIndex}-${i}`));
    }
  }

  /** Where the producer stopped: each partition is read up to (not including) its end offset. */
  setEndOffsets(offsets: Array<[number, number]>): void {
    const ends = new Map(offsets);
    for (const list of this.states) for (const s of list) s.end = ends.get(s.partition) ?? s.offset;
    this.endsKnown = true;
    this.lastProgressAt = Date.now();
    for (const w of this.wake.splice(0)) w();
  }

  stop(): void {
    this.stopped = true;
    for (const c of this.conns) c.close();
    for (const w of this.wake.splice(0)) w();
  }

  async run(): Promise<ConsumerWorkerResult> {
    const progress = setInterval(() => this.onProgress(this.records, this.payloadBytes), PROGRESS_INTERVAL_MS);
    try {
      await Promise.all(this.conns.map((conn, i) => this.fetchLoop(conn, this.states[i]!)));
    } finally {
      clearInterval(progress);
      for (const c of this.conns) c.close();
    }
    this.onProgress(this.records, this.payloadBytes);
    const perPartition: Array<[number, number]> = [];
    let reachedEnd = true;
    for (const list of this.states) {
      for (const s of list) {
        perPartition.push([s.partition, s.consumed]);
        if (s.offset < s.end || !this.endsKnown) reachedEnd = false;
      }
    }
    return {
      records: this.records,
      payloadBytes: this.payloadBytes,
      wireBytes: this.wireBytes,
      firstFetchNs: this.firstFetchNs,
      lastRecordNs: this.lastRecordNs,
      fetches: this.fetches,
      consumedPerPartition: perPartition,
      endToEnd: this.endToEnd === null ? null : this.endToEnd.toJSON(),
      sequenceErrors: this.sequenceErrors,
      firstSequenceError: this.firstSequenceError,
      errors: this.errors,
      reachedEnd,
    };
  }

  private idleTooLong(): boolean {
    return Date.now() - this.lastProgressAt > this.cfg.idleTimeoutMs;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private async fetchLoop(conn: KafkaConnection, states: PartitionState[]): Promise<void> {
    const cfg = this.cfg;
    for (;;) {
      const open = states.filter((s) => s.offset < s.end);
      if (this.stopped || (open.length === 0 && this.endsKnown) || this.idleTooLong()) return;
      if (open.length === 0) {
        // Caught up with what is known to exist; wait for the end offsets.
        await this.sleep(ERROR_BACKOFF_MS);
        continue;
      }
      const request: FetchRequest = {
        replicaId: -1,
        maxWaitMs: cfg.maxWaitMs,
        minBytes: cfg.minBytes,
        maxBytes: cfg.maxBytes,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic: cfg.topic,
            topicId: ZERO_UUID,
            partitions: open.map((s) => ({
              partition: s.partition,
              currentLeaderEpoch: -1,
              fetchOffset: s.offset,
              lastFetchedEpoch: -1,
              logStartOffset: -1,
              partitionMaxBytes: cfg.partitionMaxBytes,
            })),
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
      };
      if (this.firstFetchNs < 0) this.firstFetchNs = nowNs(cfg.epochNs);
      this.fetches++;
      let frame: Buffer;
      try {
        frame = await conn.requestRaw(ApiKey.Fetch, cfg.fetchVersion, request);
      } catch (err) {
        if (!this.stopped) countError(this.errors, `connection: ${(err as Error).message}`);
        return;
      }
      if (!this.absorb(frame, states)) await this.sleep(ERROR_BACKOFF_MS);
    }
  }

  /** Takes in one Fetch response; false when it carried only errors (then back off). */
  private absorb(frame: Buffer, states: PartitionState[]): boolean {
    const cfg = this.cfg;
    const arrivedNs = nowNs(cfg.epochNs);
    const body = decodeResponseFrame(ApiKey.Fetch, cfg.fetchVersion, frame).body;
    if (body.errorCode !== ErrorCode.NONE) {
      countError(this.errors, errorName(body.errorCode));
      return false;
    }
    let errorsOnly = true;
    for (const topic of body.responses) {
      for (const p of topic.partitions) {
        const s = states.find((x) => x.partition === p.partitionIndex);
        if (s === undefined) continue;
        if (p.errorCode !== ErrorCode.NONE) {
          countError(this.errors, errorName(p.errorCode));
          continue;
        }
        errorsOnly = false;
        const records = p.records;
        if (records === null || !Buffer.isBuffer(records) || records.length === 0) continue;
        for (const batch of iterateBatches(records)) {
          const base = batch.baseOffset;
          const last = base + batch.lastOffsetDelta;
          if (last < s.offset) continue; // a batch that starts before the fetch offset comes whole
          const from = Math.max(base, s.offset);
          const upTo = Math.min(last, s.end - 1);
          if (upTo >= from) {
            const n = upTo - from + 1;
            this.records += n;
            this.payloadBytes += n * cfg.recordBytes;
            s.consumed += n;
            if (this.endToEnd !== null) this.checkStamps(batch, s, from, upTo, arrivedNs);
          }
          this.wireBytes += batch.sizeBytes;
          s.offset = last + 1;
          this.lastRecordNs = arrivedNs;
          this.lastProgressAt = Date.now();
        }
      }
    }
    return !errorsOnly;
  }

  private checkStamps(batch: RecordBatchView, s: PartitionState, from: number, upTo: number, arrivedNs: number): void {
    const endToEnd = this.endToEnd!;
    visitStamps(batch, (offset, intendedNs, sequence) => {
      if (offset < from || offset > upTo) return;
      endToEnd.record(arrivedNs - intendedNs);
      if (sequence !== s.nextSequence) {
        this.sequenceErrors++;
        this.firstSequenceError ??= `partition ${s.partition} offset ${offset}: sequence ${sequence}, expected ${s.nextSequence}`;
      }
      s.nextSequence = sequence + 1;
    });
  }
}
