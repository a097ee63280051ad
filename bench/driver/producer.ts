// The producing half of the load generator, run inside a worker thread. Max mode sends
// prebuilt requests (one batch per partition, as many partitions per request as fit the
// request size), keeping `inflight` requests outstanding per connection. Rate mode creates
// stamped records on a schedule and closes batches every linger interval.

import { ApiKey, decodeResponseFrame, errorName, ErrorCode } from '../../src/protocol/index.js';
import { LatencyHistogram } from '../histogram.js';
import { fillerBatch, prepareStampTemplates, produceRequestTail, stampedBatch, STAMP_BYTES, type PartitionRecords } from './batches.js';
import { KafkaConnection } from './connection.js';
import { countError, nowNs, type ProducerWorkerConfig, type ProducerWorkerResult } from './messages.js';
import { randomBytes } from 'node:crypto';

const PROGRESS_INTERVAL_MS = 250;
/** Rate mode: requests built (and dropped) before the start signal, so that the schedule starts with warm code. */
const WARMUP_REQUESTS = 200;
const WARMUP_LIMIT_MS = 500;

/** One rate-mode produce request: records first..first+n-1 of a connection's schedule. */
interface RateRequest {
  tail: Buffer[];
  recordsOf: Map<number, number>;
  bytesOf: Map<number, number>;
  firstKOf: Map<number, number>;
}

/**
 * Builds the request for records first..first+n-1 of a connection's schedule: record k
 * goes to partition k mod m as that partition's sequence floor(k / m), stamped with its
 * intended send time.
 */
function buildRateRequest(
  cfg: ProducerWorkerConfig,
  clientId: string,
  partitions: readonly number[],
  first: number,
  n: number,
  intendedNs: (k: number) => number,
  filler: Buffer,
): RateRequest {
  const m = partitions.length;
  const parts: PartitionRecords[] = [];
  const recordsOf = new Map<number, number>();
  const bytesOf = new Map<number, number>();
  const firstKOf = new Map<number, number>();
  for (let j = 0; j < m; j++) {
    const k0 = first + ((j - (first % m) + m) % m); // first k >= first with k % m == j
    if (k0 >= first + n) continue;
    const count = Math.floor((first + n - 1 - k0) / m) + 1;
    const partition = partitions[j]!;
    const records = stampedBatch(cfg.recordBytes, count, Math.floor(k0 / m), (i) => intendedNs(k0 + i * m), filler);
    parts.push({ partition, records });
    recordsOf.set(partition, count);
    bytesOf.set(partition, records.length);
    firstKOf.set(partition, k0);
  }
  const tail = produceRequestTail(cfg.produceVersion, clientId, cfg.acks, cfg.requestTimeoutMs, cfg.topic, parts);
  return { tail, recordsOf, bytesOf, firstKOf };
}

interface Totals {
  records: number;
  payloadBytes: number;
  wireBytes: number;
  requests: number;
  firstSendNs: number;
  lastAckNs: number;
  measuredRecords: number;
  measuredPayloadBytes: number;
  acked: Map<number, number>;
  failed: Map<number, number>;
  endOffsets: Map<number, number>;
  errors: Record<string, number>;
  unsent: number;
}

function addTo(map: Map<number, number>, key: number, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

export class ProducerRun {
  private readonly conns: KafkaConnection[] = [];
  private readonly totals: Totals = {
    records: 0,
    payloadBytes: 0,
    wireBytes: 0,
    requests: 0,
    firstSendNs: -1,
    lastAckNs: -1,
    measuredRecords: 0,
    measuredPayloadBytes: 0,
    acked: new Map(),
    failed: new Map(),
    endOffsets: new Map(),
    errors: {},
    unsent: 0,
  };
  private readonly latency: LatencyHistogram | null;
  /** The incompressible part of every rate-mode record value (after the stamp). */
  private readonly filler: Buffer;
  private stopped = false;
  /** Set when the drain grace ran out: outstanding requests are given up. */
  private abandoned = false;
  private startNs = 0;
  private measuredStartNs = 0;
  private finish: (() => void) | null = null;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly cfg: ProducerWorkerConfig,
    private readonly onProgress: (records: number, payloadBytes: number) => void,
  ) {
    this.latency = cfg.stamped ? new LatencyHistogram(cfg.histogramBits) : null;
    this.filler = randomBytes(Math.max(0, cfg.recordBytes - STAMP_BYTES));
  }

  /** Opens the connections (before the start signal, so connecting is not timed). */
  async prepare(): Promise<void> {
    for (let i = 0; i < this.cfg.connections.length; i++) {
      this.conns.push(await KafkaConnection.open(this.cfg.host, this.cfg.port, `${this.cfg.clientId}-p${this.cfg.workerIndex}-${i}`));
    }
    if (this.cfg.mode.kind === 'rate') this.warmUpRate();
  }

  /**
   * Rate mode keeps a schedule from the start signal on, and a producer that starts behind
   * it (building its stamp templates, running cold code) may never catch up at a high
   * offered load: every later record would then carry the generator's own start-up delay.
   * So before the signal it builds every template and runs the request builder and the
   * latency histogram until they are compiled, sending nothing.
   */
  private warmUpRate(): void {
    const cfg = this.cfg;
    prepareStampTemplates(cfg.recordBytes, cfg.recordsPerBatch, this.filler);
    const scratch = new LatencyHistogram(cfg.histogramBits);
    const deadline = Date.now() + WARMUP_LIMIT_MS;
    const lists = cfg.connections.filter((list) => list.length > 0);
    for (let i = 0; i < WARMUP_REQUESTS && lists.length > 0 && Date.now() < deadline; i++) {
      const partitions = lists[i % lists.length]!;
      const capacity = partitions.length * cfg.recordsPerBatch;
      const n = 1 + ((i * 37) % capacity);
      const req = buildRateRequest(cfg, 'warm-up', partitions, i * capacity, n, (k) => k * 1000, this.filler);
      for (const count of req.recordsOf.values()) for (let r = 0; r < count; r++) scratch.record(r * 1000);
    }
  }

  stop(): void {
    this.stopped = true;
  }

  async run(): Promise<ProducerWorkerResult> {
    this.startNs = nowNs(this.cfg.epochNs);
    const mode = this.cfg.mode;
    this.measuredStartNs = mode.kind === 'max' ? this.startNs + mode.warmupMs * 1e6 : this.startNs;
    const done = new Promise<void>((resolve) => (this.finish = resolve));
    let active = this.conns.length;
    const connectionDone = (): void => {
      active--;
      if (active === 0) this.finish?.();
    };
    const progress = setInterval(() => this.onProgress(this.totals.records, this.totals.payloadBytes), PROGRESS_INTERVAL_MS);
    this.timers.push(progress);
    // A broker that stops answering must not hold the phase (and the suite) hostage.
    const abandon = setTimeout(() => {
      this.abandoned = true;
      this.stopped = true;
      for (const c of this.conns) c.close();
    }, mode.durationMs + this.cfg.drainGraceMs);
    this.timers.push(abandon);
    if (this.conns.length === 0) this.finish?.();
    this.conns.forEach((conn, i) => {
      const partitions = this.cfg.connections[i]!;
      if (partitions.length === 0) connectionDone();
      else if (mode.kind === 'max') this.runMax(conn, partitions, connectionDone);
      else this.runRate(conn, partitions, mode.recordsPerS, mode.durationMs, mode.lingerMs, connectionDone);
    });
    await done;
    for (const t of this.timers) clearInterval(t);
    for (const c of this.conns) c.close();
    this.onProgress(this.totals.records, this.totals.payloadBytes);
    const t = this.totals;
    return {
      records: t.records,
      payloadBytes: t.payloadBytes,
      wireBytes: t.wireBytes,
      requests: t.requests,
      firstSendNs: t.firstSendNs,
      lastAckNs: t.lastAckNs,
      measuredRecords: t.measuredRecords,
      measuredPayloadBytes: t.measuredPayloadBytes,
      measuredStartNs: this.measuredStartNs,
      errors: t.errors,
      ackedPerPartition: [...t.acked.entries()],
      failedPerPartition: [...t.failed.entries()],
      endOffsetPerPartition: [...t.endOffsets.entries()],
      ackLatency: this.latency === null ? null : this.latency.toJSON(),
      unsentRecords: t.unsent,
    };
  }

  /** Counts a produce response; returns the partitions that were appended. */
  private onResponse(frame: Buffer, recordsOf: Map<number, number>, bytesOf: Map<number, number>): Set<number> {
    const now = nowNs(this.cfg.epochNs);
    const t = this.totals;
    t.lastAckNs = now;
    const ok = new Set<number>();
    const body = decodeResponseFrame(ApiKey.Produce, this.cfg.produceVersion, frame).body;
    for (const topic of body.responses) {
      for (const p of topic.partitionResponses) {
        const n = recordsOf.get(p.index) ?? 0;
        if (p.errorCode === ErrorCode.NONE) {
          ok.add(p.index);
          t.records += n;
          t.payloadBytes += n * this.cfg.recordBytes;
          t.wireBytes += bytesOf.get(p.index) ?? 0;
          addTo(t.acked, p.index, n);
          const end = p.baseOffset + n;
          if (end > (t.endOffsets.get(p.index) ?? 0)) t.endOffsets.set(p.index, end);
          if (now >= this.measuredStartNs) {
            t.measuredRecords += n;
            t.measuredPayloadBytes += n * this.cfg.recordBytes;
          }
        } else {
          countError(t.errors, errorName(p.errorCode));
          addTo(t.failed, p.index, n);
        }
      }
    }
    for (const [partition, n] of recordsOf) {
      if (!ok.has(partition) && !body.responses.some((r) => r.partitionResponses.some((p) => p.index === partition))) {
        countError(t.errors, 'MISSING_PARTITION_RESPONSE');
        addTo(t.failed, partition, n);
      }
    }
    return ok;
  }

  private onFailure(err: Error, recordsOf: Map<number, number>): void {
    countError(this.totals.errors, this.abandoned ? `no answer within ${this.cfg.drainGraceMs} ms after the phase ended (abandoned)` : `connection: ${err.message}`);
    for (const [partition, n] of recordsOf) addTo(this.totals.failed, partition, n);
  }

  private markSend(): void {
    if (this.totals.firstSendNs < 0) this.totals.firstSendNs = nowNs(this.cfg.epochNs);
    this.totals.requests++;
  }

  private runMax(conn: KafkaConnection, partitions: number[], done: () => void): void {
    const cfg = this.cfg;
    const mode = cfg.mode as Extract<ProducerWorkerConfig['mode'], { kind: 'max' }>;
    const batch = fillerBatch(cfg.recordBytes, cfg.recordsPerBatch);
    const perRequest = Math.max(1, Math.min(partitions.length, Math.floor(cfg.maxRequestBytes / batch.length)));
    const groups: number[][] = [];
    for (let i = 0; i < partitions.length; i += perRequest) groups.push(partitions.slice(i, i + perRequest));
    // The tails refer to the one filler batch (never changed), so prebuilding them costs
    // no copy of it, however many partitions there are.
    const prebuilt = groups.map((group) =>
      produceRequestTail(cfg.produceVersion, conn.clientId, cfg.acks, cfg.requestTimeoutMs, cfg.topic, group.map((partition) => ({ partition, records: batch }))),
    );
    const recordsOf = groups.map((g) => new Map(g.map((p) => [p, cfg.recordsPerBatch])));
    const bytesOf = groups.map((g) => new Map(g.map((p) => [p, batch.length])));
    const payloadPerGroup = groups.map((g) => g.length * cfg.recordsPerBatch * cfg.recordBytes);
    const endNs = this.startNs + mode.durationMs * 1e6;
    // mode.maxBytes is this worker's share of the phase's budget; its connections split it.
    const byteBudget = mode.maxBytes / this.cfg.connections.length;
    let sentBytes = 0;
    let next = 0;
    let finished = false;

    const pump = (): void => {
      while (!finished && conn.inFlight < cfg.inflight) {
        if (this.stopped || sentBytes >= byteBudget || nowNs(cfg.epochNs) >= endNs) {
          if (conn.inFlight === 0) {
            finished = true;
            done();
          }
          return;
        }
        const g = next;
        next = (next + 1) % groups.length;
        const tail = prebuilt[g]!;
        sentBytes += payloadPerGroup[g]!;
        this.markSend();
        conn.sendPrebuilt(ApiKey.Produce, cfg.produceVersion, tail, (err, frame) => {
          if (err !== null || frame === null) {
            this.onFailure(err ?? new Error('no response'), recordsOf[g]!);
            this.stopped = true;
          } else {
            this.onResponse(frame, recordsOf[g]!, bytesOf[g]!);
          }
          pump();
        });
      }
    };
    pump();
  }

  private runRate(conn: KafkaConnection, partitions: number[], totalRecordsPerS: number, durationMs: number, lingerMs: number, done: () => void): void {
    const cfg = this.cfg;
    const m = partitions.length;
    const rate = (totalRecordsPerS * m) / cfg.totalPartitions; // records/s on this connection
    const nsPerRecord = 1e9 / rate;
    const totalRecords = Math.max(1, Math.floor((durationMs / 1000) * rate));
    const startNs = this.startNs;
    const hardEndNs = startNs + (durationMs + cfg.drainGraceMs) * 1e6;
    const capacity = m * cfg.recordsPerBatch;
    const intendedNs = (k: number): number => startNs + k * nsPerRecord;
    let nextIndex = 0;
    let finished = false;

    const send = (first: number, n: number): void => {
      const { tail, recordsOf, bytesOf, firstKOf } = buildRateRequest(cfg, conn.clientId, partitions, first, n, intendedNs, this.filler);
      this.markSend();
      conn.sendPrebuilt(ApiKey.Produce, cfg.produceVersion, tail, (err, frame) => {
        if (err !== null || frame === null) {
          this.onFailure(err ?? new Error('no response'), recordsOf);
          this.stopped = true;
        } else {
          const ok = this.onResponse(frame, recordsOf, bytesOf);
          const now = nowNs(cfg.epochNs);
          for (const partition of ok) {
            const k0 = firstKOf.get(partition)!;
            const count = recordsOf.get(partition)!;
            for (let i = 0; i < count; i++) this.latency!.record(now - intendedNs(k0 + i * m));
          }
        }
        // Behind schedule: send full requests without waiting for the next tick.
        tick(true);
      });
    };

    const tick = (onlyFull: boolean): void => {
      if (finished) return;
      const now = nowNs(cfg.epochNs);
      const dueTotal = Math.min(totalRecords, Math.floor((now - startNs) / nsPerRecord) + 1);
      const giveUp = this.stopped || now >= hardEndNs;
      while (!giveUp && nextIndex < dueTotal && conn.inFlight < cfg.inflight) {
        const n = Math.min(dueTotal - nextIndex, capacity);
        if (onlyFull && n < capacity) break;
        send(nextIndex, n);
        nextIndex += n;
      }
      if ((nextIndex >= totalRecords || giveUp) && conn.inFlight === 0) {
        finished = true;
        this.totals.unsent += totalRecords - nextIndex;
        clearInterval(timer);
        done();
      }
    };
    const timer = setInterval(() => tick(false), lingerMs);
    this.timers.push(timer);
    tick(false);
  }
}
