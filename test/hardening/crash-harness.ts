// Crash consistency: start the broker, produce with acks=all from several producers (and
// commit group offsets), SIGKILL the broker at a random moment, restart it, and check with
// raw Fetch requests from offset 0 that every acknowledged record is exactly where its
// acknowledgement said, in order, and that every acknowledged offset commit survived. The
// data directory lives across cycles, so each cycle also re-checks what earlier ones wrote.
//
// Shared by test/hardening/crash.test.ts (a few cycles) and bench/hardening/crash.ts (100).

import { ApiKey, ErrorCode, defaultOffsetCommitRequest, defaultOffsetFetchRequest } from '../../src/protocol/index.js';
import { buildRecordBatch } from '../../src/protocol/record-batch.js';
import { Random } from '../protocol/schema-values.js';
import { BrokerProcess, sleep } from './broker-process.js';
import { CodecClient, advertisedApis, createTopics, pickVersion, type AdvertisedApi } from './codec-client.js';
import { produce, readAll } from './log-client.js';

export interface CrashHarnessOptions {
  seed: number;
  /** Flush after every message (flush.messages=1 on the topic and log.flush.interval.messages=1). */
  flushEveryMessage: boolean;
  producers?: number;
  partitions?: number;
  /** Requests each producer keeps in flight. */
  inFlightPerProducer?: number;
  maxRecordsPerBatch?: number;
  /** The kill comes this long after producing starts: uniform in [min, max]. */
  minKillAfterMs?: number;
  maxKillAfterMs?: number;
  /** Commit group offsets too (needs OffsetCommit/OffsetFetch). */
  groupOffsets?: boolean;
  /** Extra broker overrides (e.g. a small segment.bytes so that segments roll). */
  overrides?: Record<string, string>;
  /** The broker CLI to run (see snapshotBuild); default the repository's dist. */
  entry?: string;
}

export interface CycleReport {
  cycle: number;
  killAfterMs: number;
  acknowledgedThisCycle: number;
  /** Produce requests that were in flight when the broker died. */
  inFlightAtKill: number;
  /** Records of unacknowledged requests that turned out to be stored (allowed). */
  unacknowledgedButStored: number;
  restartMs: number;
  commitsAcknowledgedThisCycle: number;
}

export interface CrashTotals {
  cycles: number;
  /** Records acknowledged over all cycles (each is checked again after every later kill). */
  acknowledged: number;
  /** Acknowledged records found exactly at their offset in the last check. */
  found: number;
  /** Acknowledged records missing or with another value at their offset (in any check). */
  lost: number;
  /** Stored records whose value was never sent, or sent once and stored twice. */
  foreign: number;
  duplicates: number;
  /** Offsets missing between 0 and the high watermark. */
  gaps: number;
  startFailures: number;
  produceErrors: Record<string, number>;
  maxRestartMs: number;
  inFlightAtKill: number;
  unacknowledgedButStored: number;
  commitsAcknowledged: number;
  /** Acknowledged commits not returned by OffsetFetch after a kill (or an older offset returned). */
  commitsLost: number;
  problems: string[];
}

const TOPIC = 'crash';
const GROUP = 'crash-group';

/** Parses the record values this harness writes: "c<cycle>-p<producer>-s<seq>-r<i>". */
function valueOf(cycle: number, producer: number, seq: number, i: number): string {
  return `c${cycle}-p${producer}-s${seq}-r${i}`;
}

export class CrashHarness {
  private broker!: BrokerProcess;
  private apis!: Map<number, AdvertisedApi>;
  private readonly opts: Required<Omit<CrashHarnessOptions, 'overrides' | 'entry'>> & { overrides: Record<string, string>; entry?: string };
  private readonly rnd: Random;
  /** partition -> offset -> value, every acknowledged record so far. */
  private readonly acked: Array<Map<number, string>>;
  /** Every value ever sent (acknowledged or not). */
  private readonly sent = new Set<string>();
  /** partition -> [last acknowledged commit, highest commit sent]. */
  private readonly commits: Array<{ acked: number; maxSent: number }>;
  private cycleNo = 0;
  readonly totals: CrashTotals = {
    cycles: 0, acknowledged: 0, found: 0, lost: 0, foreign: 0, duplicates: 0, gaps: 0, startFailures: 0,
    produceErrors: {}, maxRestartMs: 0, inFlightAtKill: 0, unacknowledgedButStored: 0, commitsAcknowledged: 0,
    commitsLost: 0, problems: [],
  };

  constructor(options: CrashHarnessOptions) {
    this.opts = {
      producers: 4,
      partitions: 3,
      inFlightPerProducer: 3,
      maxRecordsPerBatch: 5,
      minKillAfterMs: 20,
      maxKillAfterMs: 1_200,
      groupOffsets: true,
      overrides: {},
      ...options,
    };
    this.rnd = new Random(options.seed);
    this.acked = Array.from({ length: this.opts.partitions }, () => new Map<number, string>());
    this.commits = Array.from({ length: this.opts.partitions }, () => ({ acked: -1, maxSent: -1 }));
  }

  get dataDir(): string {
    return this.broker.dataDir;
  }

  get brokerProcess(): BrokerProcess {
    return this.broker;
  }

  private problem(text: string): void {
    if (this.totals.problems.length < 50) this.totals.problems.push(text);
  }

  async setup(): Promise<void> {
    const overrides: Record<string, string> = { 'auto.create.topics.enable': 'false', ...this.opts.overrides };
    if (this.opts.flushEveryMessage) overrides['log.flush.interval.messages'] = '1';
    this.broker = await BrokerProcess.launch({ overrides, entry: this.opts.entry });
    const client = await CodecClient.connect(this.broker.port);
    try {
      this.apis = await advertisedApis(client);
      if (!this.apis.has(ApiKey.Produce) || !this.apis.has(ApiKey.Fetch)) throw new Error('the broker has no Produce/Fetch yet');
      const configs: Record<string, string> = this.opts.flushEveryMessage ? { 'flush.messages': '1' } : {};
      await createTopics(client, this.apis, [{ name: TOPIC, partitions: this.opts.partitions, configs }]);
    } finally {
      client.close();
    }
    if (this.opts.groupOffsets && !(this.apis.has(ApiKey.OffsetCommit) && this.apis.has(ApiKey.OffsetFetch))) {
      this.opts.groupOffsets = false;
    }
  }

  get groupOffsetsChecked(): boolean {
    return this.opts.groupOffsets;
  }

  /** One producer: keeps inFlight produce requests going until its connection dies. */
  private async producer(id: number, cycle: number, stats: { acked: number; inFlight: number; attempted: Set<string> }): Promise<void> {
    let client: CodecClient;
    try {
      client = await CodecClient.connect(this.broker.port, { clientId: `crash-producer-${id}` });
    } catch {
      return;
    }
    let seq = 0;
    const rnd = new Random(this.opts.seed * 1000 + cycle * 10 + id);
    const lane = async (): Promise<void> => {
      while (!client.isClosed) {
        const partition = rnd.int(0, this.opts.partitions - 1);
        const n = rnd.int(1, this.opts.maxRecordsPerBatch);
        const s = seq++;
        const values = Array.from({ length: n }, (_, i) => valueOf(cycle, id, s, i));
        for (const v of values) this.sent.add(v);
        const batch = buildRecordBatch(values.map((v) => ({ key: `p${id}`, value: v })));
        stats.inFlight++;
        try {
          const r = await produce(client, this.apis, TOPIC, partition, batch, { acks: -1, timeoutMs: 10_000 });
          stats.inFlight--;
          if (r.errorCode !== ErrorCode.NONE) {
            const k = String(r.errorCode);
            this.totals.produceErrors[k] = (this.totals.produceErrors[k] ?? 0) + 1;
            await sleep(20);
            continue;
          }
          const log = this.acked[partition]!;
          for (let i = 0; i < n; i++) {
            const offset = r.baseOffset + i;
            const prior = log.get(offset);
            if (prior !== undefined) this.problem(`offset ${partition}/${offset} acknowledged twice: ${prior} and ${values[i]}`);
            log.set(offset, values[i]!);
          }
          stats.acked += n;
        } catch {
          // The connection died with the request in flight: it may or may not be stored.
          for (const v of values) stats.attempted.add(v);
          return;
        }
      }
    };
    await Promise.all(Array.from({ length: this.opts.inFlightPerProducer }, () => lane()));
    client.close();
  }

  /** Commits increasing offsets for every partition until the connection dies. */
  private async committer(stats: { acked: number }): Promise<void> {
    let client: CodecClient;
    try {
      client = await CodecClient.connect(this.broker.port, { clientId: 'crash-committer' });
    } catch {
      return;
    }
    const v = pickVersion(this.apis, ApiKey.OffsetCommit, 2, 7)!;
    while (!client.isClosed) {
      const req = defaultOffsetCommitRequest();
      req.groupId = GROUP;
      const offsets = this.commits.map((c) => c.maxSent + 1 + this.rnd.int(0, 3));
      offsets.forEach((o, p) => {
        this.commits[p]!.maxSent = Math.max(this.commits[p]!.maxSent, o);
      });
      req.topics = [{ name: TOPIC, partitions: offsets.map((o, p) => ({ partitionIndex: p, committedOffset: o, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: '' })) }];
      try {
        const res = await client.request(ApiKey.OffsetCommit, v, req, 10_000);
        for (const t of res.topics) {
          for (const p of t.partitions) {
            if (p.errorCode === ErrorCode.NONE) {
              this.commits[p.partitionIndex]!.acked = offsets[p.partitionIndex]!;
              stats.acked++;
            } else {
              const k = `commit:${p.errorCode}`;
              this.totals.produceErrors[k] = (this.totals.produceErrors[k] ?? 0) + 1;
            }
          }
        }
      } catch {
        break;
      }
      await sleep(5);
    }
    client.close();
  }

  /** Produces, kills at a random moment, restarts, and verifies everything acknowledged so far. */
  async cycle(): Promise<CycleReport> {
    const cycle = this.cycleNo++;
    const killAfterMs = this.rnd.int(this.opts.minKillAfterMs, this.opts.maxKillAfterMs);
    const stats = { acked: 0, inFlight: 0, attempted: new Set<string>() };
    const commitStats = { acked: 0 };
    const workers = Array.from({ length: this.opts.producers }, (_, id) => this.producer(id, cycle, stats));
    if (this.opts.groupOffsets) workers.push(this.committer(commitStats));
    await sleep(killAfterMs);
    const inFlightAtKill = stats.inFlight;
    await this.broker.kill();
    await Promise.all(workers);
    const restartStarted = Date.now();
    try {
      await this.broker.start();
    } catch (err) {
      this.totals.startFailures++;
      this.problem(`cycle ${cycle}: broker did not start: ${(err as Error).message.slice(0, 2000)}`);
      throw err;
    }
    const restartMs = Date.now() - restartStarted;
    const unacknowledgedButStored = await this.verify(cycle, stats.attempted);
    this.totals.cycles++;
    this.totals.acknowledged += stats.acked;
    this.totals.inFlightAtKill += inFlightAtKill;
    this.totals.unacknowledgedButStored += unacknowledgedButStored;
    this.totals.commitsAcknowledged += commitStats.acked;
    this.totals.maxRestartMs = Math.max(this.totals.maxRestartMs, restartMs);
    return {
      cycle,
      killAfterMs,
      acknowledgedThisCycle: stats.acked,
      inFlightAtKill,
      unacknowledgedButStored,
      restartMs,
      commitsAcknowledgedThisCycle: commitStats.acked,
    };
  }

  /** Reads every partition from 0 and checks it against what was acknowledged. */
  async verify(cycle: number, attempted: Set<string>): Promise<number> {
    const client = await CodecClient.connect(this.broker.port, { clientId: 'crash-verifier' });
    let unackedStored = 0;
    let found = 0;
    try {
      for (let p = 0; p < this.opts.partitions; p++) {
        const { records, highWatermark } = await readAll(client, this.apis, TOPIC, p, 0);
        const stored = new Map<number, string>();
        const seen = new Set<string>();
        let expectOffset = 0;
        for (const r of records) {
          if (r.offset !== expectOffset) {
            this.totals.gaps += r.offset - expectOffset;
            this.problem(`cycle ${cycle}: partition ${p} jumps from offset ${expectOffset} to ${r.offset}`);
          }
          expectOffset = r.offset + 1;
          const v = r.value?.toString('utf8') ?? '<null>';
          stored.set(r.offset, v);
          if (!this.sent.has(v)) {
            this.totals.foreign++;
            this.problem(`cycle ${cycle}: partition ${p} offset ${r.offset} holds "${v.slice(0, 60)}", never sent`);
          }
          if (seen.has(v)) {
            this.totals.duplicates++;
            this.problem(`cycle ${cycle}: partition ${p} holds "${v}" twice`);
          }
          seen.add(v);
          if (attempted.has(v)) unackedStored++;
        }
        if (expectOffset !== highWatermark) this.problem(`cycle ${cycle}: partition ${p} read to ${expectOffset}, high watermark ${highWatermark}`);
        for (const [offset, value] of this.acked[p]!) {
          const got = stored.get(offset);
          if (got === value) found++;
          else {
            this.totals.lost++;
            this.problem(`cycle ${cycle}: acknowledged ${p}/${offset}="${value}" ${got === undefined ? 'is missing' : `holds "${got}"`}`);
          }
        }
      }
      this.totals.found = found;
      if (this.opts.groupOffsets) await this.verifyCommits(client, cycle);
    } finally {
      client.close();
    }
    return unackedStored;
  }

  private async verifyCommits(client: CodecClient, cycle: number): Promise<void> {
    const v = pickVersion(this.apis, ApiKey.OffsetFetch, 1, 7)!;
    const req = defaultOffsetFetchRequest();
    req.groupId = GROUP;
    req.topics = [{ name: TOPIC, partitionIndexes: this.commits.map((_, p) => p) }];
    for (let attempt = 0; attempt < 200; attempt++) {
      const res = await client.request(ApiKey.OffsetFetch, v, req);
      if (res.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS || res.errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE) {
        await sleep(50);
        continue;
      }
      if (res.errorCode !== ErrorCode.NONE) {
        this.problem(`cycle ${cycle}: OffsetFetch error ${res.errorCode}`);
        return;
      }
      const parts = res.topics.find((t) => t.name === TOPIC)?.partitions ?? [];
      if (parts.some((x) => x.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)) {
        await sleep(50);
        continue;
      }
      for (let p = 0; p < this.commits.length; p++) {
        const c = this.commits[p]!;
        const got = parts.find((x) => x.partitionIndex === p)?.committedOffset ?? -1;
        // The last acknowledged commit, or a later one that was in flight at the kill.
        if (got < c.acked || got > c.maxSent) {
          this.totals.commitsLost++;
          this.problem(`cycle ${cycle}: committed offset of partition ${p} is ${got}; last acknowledged ${c.acked}, highest sent ${c.maxSent}`);
        }
        // A commit in flight that did land is now the floor.
        if (got > c.acked) c.acked = got;
      }
      return;
    }
    this.problem(`cycle ${cycle}: the group coordinator did not load within 10 s`);
  }

  /** The highest offset acknowledged so far on `partition`, or -1. */
  highestAcknowledgedOffset(partition: number): number {
    let highest = -1;
    for (const offset of this.acked[partition]!.keys()) if (offset > highest) highest = offset;
    return highest;
  }

  /** Kills and restarts the broker without producing, then checks everything again. */
  async killRestartAndVerify(between?: () => void): Promise<void> {
    await this.broker.kill();
    between?.();
    await this.broker.start();
    await this.verify(this.cycleNo++, new Set());
  }

  async dispose(): Promise<void> {
    await this.broker?.dispose();
  }
}
