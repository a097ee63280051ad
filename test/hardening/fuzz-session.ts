// One whole fuzz session, shared by the short test (test/hardening/fuzz.test.ts) and the long
// bench run (bench/hardening/fuzz.ts): start a broker, learn what it advertises, create a few
// topics for the inputs to aim at, fuzz while sampling the broker's RSS, then check that
// valid requests still work (ApiVersions, Metadata, and a Produce + Fetch round trip when the
// broker has them).

import { ApiKey, defaultMetadataRequest } from '../../src/protocol/index.js';
import { buildRecordBatch } from '../../src/protocol/record-batch.js';
import { BrokerProcess, RssSampler } from './broker-process.js';
import { CodecClient, advertisedApis, createTopics, pickVersion, type AdvertisedApi } from './codec-client.js';
import { runFuzz, type FuzzStats } from './fuzz-driver.js';
import { EXPECTED_CLOSE_REASONS, buildBatchPool, type FuzzContext, type InputKind } from './fuzz-inputs.js';
import { batchRecords, earliestOffset, produce, readAll, readAllBatches } from './log-client.js';

export const FUZZ_TOPICS = ['fuzz-a', 'fuzz-b'];
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

export interface FuzzSessionOptions {
  seed: number;
  inputs: number;
  connections?: number;
  maxBurst?: number;
  endBurstAfterHostile?: number;
  idleMs?: number;
  deadlineMs?: number;
  /** Decompression bomb size in the batch pool. */
  bombBytes?: number;
  weights?: Partial<Record<InputKind, number>>;
  /** Fuzz only these api keys (default: every one the broker advertises). */
  apiKeys?: number[];
  overrides?: Record<string, string>;
  logLevel?: string;
  /** The broker CLI to run (see snapshotBuild); default the repository's dist. */
  entry?: string;
  onProgress?: (stats: FuzzStats, rssKiB: number | null) => void;
  progressEveryMs?: number;
}

export interface FuzzSessionResult {
  stats: FuzzStats;
  advertised: AdvertisedApi[];
  rssStartKiB: number;
  rssMaxKiB: number;
  rssEndKiB: number | null;
  /** RSS after the fuzzing connections closed and a pause (garbage collected or not). */
  rssSettledKiB: number | null;
  brokerAlive: boolean;
  brokerExit: string | null;
  /** What was checked after the run, one line each; an entry starting with "FAIL" is a failure. */
  healthChecks: string[];
  brokerWarnLines: number;
  /**
   * Log lines that are not the expected reaction to bad input: connections closed for a
   * reason other than an undecodable frame/request (a handler that threw, a response the
   * broker could not encode), and every error/fatal line. Grouped, with a count each.
   */
  unexpectedLog: Array<{ what: string; count: number; sample: string; inputs?: number[] }>;
  brokerErrorLines: number;
  brokerOutputTail: string;
  inputsPerSecond: number;
}

/** The checks after a run: every valid request a client would send still works. */
export async function healthChecks(port: number, round: number): Promise<string[]> {
  const out: string[] = [];
  const client = await CodecClient.connect(port, { clientId: 'strand-fuzz-health' });
  try {
    const apis = await advertisedApis(client);
    out.push(`ApiVersions v0: ${apis.size} APIs`);
    const metadataV = pickVersion(apis, ApiKey.Metadata, 0, 12)!;
    const md = await client.request(ApiKey.Metadata, metadataV, { ...defaultMetadataRequest(), topics: metadataV >= 1 ? null : [] });
    out.push(`Metadata v${metadataV}: ${md.brokers.length} broker(s), ${md.topics.length} topic(s)`);
    if (md.brokers.length !== 1) out.push(`FAIL Metadata lists ${md.brokers.length} brokers`);
    const listGroupsV = pickVersion(apis, ApiKey.ListGroups, 0, 4);
    if (listGroupsV !== null) {
      // Valid-but-random requests leave state behind (groups, committed offsets): it explains RSS.
      const lg = await client.request(ApiKey.ListGroups, listGroupsV, { statesFilter: [], typesFilter: [] });
      out.push(`ListGroups v${listGroupsV}: error ${lg.errorCode}, ${lg.groups.length} group(s) left behind by fuzz inputs`);
    }
    if (apis.has(ApiKey.Produce) && apis.has(ApiKey.Fetch)) {
      const topic = `fuzz-health-${round}`;
      await createTopics(client, apis, [{ name: topic, partitions: 1 }]);
      const values = Array.from({ length: 5 }, (_, i) => `health-${round}-${i}`);
      const batch = buildRecordBatch(values.map((v) => ({ key: null, value: v })));
      const p = await produce(client, apis, topic, 0, batch);
      if (p.errorCode !== 0) out.push(`FAIL Produce to ${topic}: error ${p.errorCode}`);
      const { records } = await readAll(client, apis, topic, 0, 0);
      const got = records.map((r) => r.value?.toString('utf8'));
      if (JSON.stringify(got) !== JSON.stringify(values)) out.push(`FAIL Fetch ${topic}: got ${JSON.stringify(got)}`);
      else out.push(`Produce + Fetch round trip on ${topic}: ${values.length} records at offsets ${p.baseOffset}..${p.baseOffset + 4}`);
      // What the fuzz inputs got appended must be whole, valid batches: CRC right, records
      // that decode (decompressed when compressed), as many as the header says.
      for (const t of md.topics) {
        if (!FUZZ_TOPICS.includes(t.name ?? '')) continue;
        let records = 0;
        let batches = 0;
        const bad: string[] = [];
        for (const part of t.partitions) {
          try {
            const start = await earliestOffset(client, apis, t.name!, part.partitionIndex);
            const read = await readAllBatches(client, apis, t.name!, part.partitionIndex, start);
            for (const b of read.batches) {
              batches++;
              let problem: string | null = null;
              if (!b.crcMatches()) problem = 'CRC mismatch';
              else {
                try {
                  const decoded = await batchRecords(b);
                  if (decoded.length !== b.recordCount) problem = `header says ${b.recordCount} records, ${decoded.length} decode`;
                  records += decoded.length;
                } catch (err) {
                  problem = (err as Error).message.slice(0, 100);
                }
              }
              if (problem !== null) bad.push(`${t.name}-${part.partitionIndex}@${b.baseOffset} (codec ${b.compression}, ${b.sizeBytes} bytes): ${problem}`);
            }
          } catch (err) {
            bad.push(`${t.name}-${part.partitionIndex}: ${(err as Error).message}`);
          }
        }
        out.push(`${t.name}: ${batches} batches / ${records} records appended by fuzz inputs`);
        if (bad.length > 0) out.push(`FAIL ${t.name}: ${bad.length} stored batches a consumer cannot read, e.g. ${bad.slice(0, 4).join('; ')}`);
      }
    } else {
      out.push('Produce/Fetch not advertised yet: round trip skipped');
    }
  } catch (err) {
    out.push(`FAIL ${(err as Error).message}`);
  } finally {
    client.close();
  }
  return out;
}

function normalize(text: string): string {
  return text.replace(/-?\d+/g, 'N').slice(0, 200);
}

/** Collects the broker's log lines that are findings rather than expected rejections. */
export class LogClassifier {
  readonly unexpected = new Map<string, { count: number; sample: string; inputs?: number[] }>();
  readonly expectedCloses = new Map<string, number>();
  /** See FuzzRunOptions.inputsByPort: traces a log line's remote port to the inputs sent. */
  inputsByPort = new Map<number, number[]>();

  private inputsOf(entry: Record<string, unknown>): number[] | undefined {
    const remote = typeof entry['remote'] === 'string' ? (entry['remote'] as string) : '';
    const port = Number(remote.slice(remote.lastIndexOf(':') + 1));
    return Number.isInteger(port) ? this.inputsByPort.get(port)?.slice() : undefined;
  }

  add(entry: Record<string, unknown>): void {
    const level = Number(entry['level'] ?? 0);
    const msg = String(entry['msg'] ?? '');
    const reason = typeof entry['reason'] === 'string' ? (entry['reason'] as string) : null;
    if (level === 40 && msg.startsWith('closing connection') && reason !== null) {
      const ok = EXPECTED_CLOSE_REASONS.some((re) => re.test(reason));
      if (ok) {
        const k = normalize(reason.replace(/: .*/, ''));
        this.expectedCloses.set(k, (this.expectedCloses.get(k) ?? 0) + 1);
        return;
      }
      this.note(`${msg}: ${normalize(reason)}`, reason, this.inputsOf(entry));
      return;
    }
    if (level === 40) return; // other warnings (e.g. a rejected produce) are not findings by themselves
    const err = entry['err'];
    const detail = typeof err === 'string' ? err : err !== undefined ? JSON.stringify(err).slice(0, 300) : '';
    this.note(`level ${level}: ${normalize(msg)} ${normalize(detail)}`, `${msg} ${detail}`);
  }

  private note(key: string, sample: string, inputs?: number[]): void {
    const e = this.unexpected.get(key);
    if (e === undefined) this.unexpected.set(key, { count: 1, sample: sample.slice(0, 400), inputs });
    else e.count += 1;
  }

  list(): Array<{ what: string; count: number; sample: string; inputs?: number[] }> {
    return [...this.unexpected.entries()].map(([what, v]) => ({ what, ...v })).sort((a, b) => b.count - a.count);
  }
}

export async function runFuzzSession(opts: FuzzSessionOptions): Promise<FuzzSessionResult> {
  const broker = await BrokerProcess.launch({
    overrides: {
      'socket.request.max.bytes': String(MAX_REQUEST_BYTES),
      // Inputs aim at the fuzz topics; random names must not each become a topic on disk.
      'auto.create.topics.enable': 'false',
      ...(opts.overrides ?? {}),
    },
    logLevel: opts.logLevel,
    entry: opts.entry,
  });
  const classifier = new LogClassifier();
  broker.onLogLine((entry) => classifier.add(entry));
  let exitInfo: string | null = null;
  const exited = new Promise<void>((resolve) => {
    broker.onExit((info) => {
      exitInfo = `code ${info.code} signal ${info.signal}${info.expected ? ' (sent by the harness)' : ''}`;
      resolve();
    });
  });
  const sampler = new RssSampler(() => broker.pid, 100);
  try {
    const setup = await CodecClient.connect(broker.port);
    const apis = await advertisedApis(setup);
    const topics: string[] = [];
    try {
      if (apis.has(ApiKey.CreateTopics)) {
        await createTopics(setup, apis, FUZZ_TOPICS.map((name) => ({ name, partitions: 3 })));
        topics.push(...FUZZ_TOPICS);
      }
    } finally {
      setup.close();
    }
    const ctx: FuzzContext = {
      targets: [...apis.values()].filter((a) => opts.apiKeys === undefined || opts.apiKeys.includes(a.apiKey)),
      topics,
      maxRequestBytes: MAX_REQUEST_BYTES,
      batches: await buildBatchPool(opts.seed, opts.bombBytes ?? 32 * 1024 * 1024),
      weights: opts.weights,
    };
    sampler.start();
    const rssStartKiB = sampler.sample() ?? 0;
    // Hostile inputs may delete the fuzz topics (a DeleteRecords with one bit flipped in its
    // api key is a DeleteTopics): put them back every few seconds so produce inputs land.
    const recreate = topics.length === 0 ? null : setInterval(() => {
      void (async () => {
        const c = await CodecClient.connect(broker.port, { clientId: 'strand-fuzz-setup' });
        try {
          await createTopics(c, apis, FUZZ_TOPICS.map((name) => ({ name, partitions: 3 })));
        } finally {
          c.close();
        }
      })().catch(() => undefined);
    }, 5_000);
    const stats = await runFuzz({
      port: broker.port,
      seed: opts.seed,
      inputs: opts.inputs,
      connections: opts.connections ?? 16,
      maxBurst: opts.maxBurst ?? 16,
      endBurstAfterHostile: opts.endBurstAfterHostile,
      idleMs: opts.idleMs ?? 1_000,
      ctx,
      brokerExit: exited,
      deadlineMs: opts.deadlineMs,
      onProgress: opts.onProgress === undefined ? undefined : (s) => opts.onProgress!(s, sampler.lastKiB),
      progressEveryMs: opts.progressEveryMs,
      inputsByPort: classifier.inputsByPort,
    });
    if (recreate !== null) clearInterval(recreate);
    const rssEndKiB = sampler.sample();
    // Let the broker settle (connections gone, timers run) before the after-checks.
    await new Promise((r) => setTimeout(r, 2_000));
    const rssSettledKiB = sampler.sample();
    const checks = broker.running ? await healthChecks(broker.port, opts.seed) : ['FAIL broker not running'];
    sampler.stop();
    const elapsedS = Math.max(stats.elapsedMs, 1) / 1000;
    return {
      stats,
      advertised: [...apis.values()],
      rssStartKiB,
      rssMaxKiB: sampler.maxKiB,
      rssEndKiB,
      rssSettledKiB,
      brokerAlive: broker.running,
      brokerExit: exitInfo,
      healthChecks: checks,
      brokerWarnLines: broker.linesByLevel.get(40) ?? 0,
      unexpectedLog: classifier.list(),
      brokerErrorLines: (broker.linesByLevel.get(50) ?? 0) + (broker.linesByLevel.get(60) ?? 0),
      brokerOutputTail: broker.output().slice(-6000),
      inputsPerSecond: Math.round(stats.inputsSent / elapsedS),
    };
  } finally {
    sampler.stop();
    await broker.dispose();
  }
}

export function formatStats(r: FuzzSessionResult): string {
  const s = r.stats;
  const mb = (k: number | null): string => (k === null ? '-' : `${(k / 1024).toFixed(0)} MiB`);
  const lines = [
    `inputs ${s.inputsSent} sent, ${s.inputsDelivered} certainly read by the broker, in ${(s.elapsedMs / 1000).toFixed(1)} s (${r.inputsPerSecond}/s), ${(s.bytesSent / 1048576).toFixed(1)} MiB sent`,
    `APIs fuzzed: ${r.advertised.map((a) => `${a.apiKey}:v${a.minVersion}-${a.maxVersion}`).join(' ')}`,
    `connections ${s.connectionsOpened} (closed by broker ${s.closedByBroker}, abandoned idle ${s.idleAbandoned}, connect errors ${s.connectErrors})`,
    `responses ${s.responses} (sentinels ${s.sentinelsAnswered}), undecodable ${s.undecodableResponses}, out of order ${s.orderViolations}`,
    `probes ${s.probes}, failed ${s.probeFailures}, max latency ${s.probeMaxLatencyMs} ms`,
    `broker RSS start ${mb(r.rssStartKiB)}, max ${mb(r.rssMaxKiB)}, end ${mb(r.rssEndKiB)}, settled ${mb(r.rssSettledKiB)}; alive ${r.brokerAlive}${r.brokerExit ? ` (exit: ${r.brokerExit})` : ''}`,
    `broker log lines: warn ${r.brokerWarnLines}, error/fatal ${r.brokerErrorLines}`,
    `by kind: ${Object.entries(s.byKind).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `top mutations: ${Object.entries(s.byMutation).sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    ...r.healthChecks.map((c) => `after: ${c}`),
    ...r.unexpectedLog.slice(0, 15).map(
      (u) => `UNEXPECTED x${u.count}: ${u.what}\n    e.g. ${u.sample}${u.inputs === undefined ? '' : `\n    inputs on that connection: ${u.inputs.slice(-20).join(',')}`}`,
    ),
    ...s.undecodableSamples.slice(0, 5).map((x) => `undecodable: ${x}`),
    ...s.orderSamples.slice(0, 5).map((x) => `order: ${x}`),
    ...s.probeFailureSamples.slice(0, 5).map((x) => `probe: ${x}`),
  ];
  return lines.join('\n');
}
