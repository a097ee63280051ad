// The shapes of what a run produces: samples (one measurement of one phase of one workload
// on one target), their aggregation per (workload, phase, target, driver), the machine's
// limits, and the run as a whole (what the JSON file holds and the HTML report shows).

import type { LatencySummary } from './histogram.js';
import { groupBy, spreadOf, type Spread } from './stats.js';

/** MB in every figure of the suite is 2^20 bytes, as in Kafka's own perf tools. */
export const MB = 1024 * 1024;

export interface BrokerUsage {
  /** User + system CPU seconds the broker process used during the sample. */
  cpuS: number;
  /** Largest resident set seen during the sample (bytes). */
  peakRssBytes: number;
  /** Resident set at the end of the sample (bytes). */
  endRssBytes: number;
  /** How the peak was found: 'hwm-reset' (VmHWM after clear_refs) or 'sampled' (VmRSS polled). */
  peakMethod: 'hwm-reset' | 'sampled';
}

export interface Verification {
  /** Records the broker acknowledged. */
  produced: number;
  /** Records the consumer(s) received (per reader, for fan-out: the smallest). */
  consumed: number;
  ok: boolean;
  detail: string;
}

export interface Sample {
  workload: string;
  /** e.g. 'produce', 'consume', 'consume-cold', 'consume-warm', 'end-to-end'. */
  phase: string;
  target: string;
  /** 'loadgen' (the suite's own), 'kcat', 'kafka-perf'. */
  driver: string;
  /** 1-based repetition. */
  repetition: number;
  startedAt: string;
  durationS: number;
  records: number;
  /** Key + value bytes of the records: what MB/s counts. */
  payloadBytes: number;
  /** Record batch bytes (headers included), when the driver knows them. */
  wireBytes: number | null;
  mbPerS: number;
  recordsPerS: number;
  latency: { produce?: LatencySummary; endToEnd?: LatencySummary };
  broker: BrokerUsage | null;
  verification: Verification | null;
  /** Error names with counts, e.g. { NOT_LEADER_OR_FOLLOWER: 3 }. */
  errors: Record<string, number>;
  /** Settings particular to this sample: partitions, offered rate, connections ... */
  settings: Record<string, string | number | boolean>;
  notes: string[];
  /**
   * Produce phases of the throughput workloads: the storage engine appending a phase's
   * byte budget through its append threads just before the phase, in its own process.
   */
  pairedEngine?: { mbPerS: number; bytes: number };
}

export interface MachineLimit {
  name: string;
  /** MB/s (2^20 bytes), or null when it could not be measured (see note). */
  mbPerS: number | null;
  method: string;
  note: string;
}

export interface MachineInfo {
  hostname: string;
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  kernel: string;
  os: string;
  dataDir: string;
  dataFilesystem: string;
  /** 1, 5 and 15 minute load averages when the run started: other work skews every figure. */
  loadAverageAtStart: string;
}

export interface TargetInfo {
  label: string;
  kind: 'strand' | 'bootstrap' | 'kafka-home';
  bootstrap: string;
  version: string;
  pid: number | null;
  /** Broker configuration the suite chose or found (Kafka's names). */
  settings: Record<string, string>;
  /** Negotiated request versions. */
  apiVersions: Record<string, number | null>;
}

export interface SummaryRow {
  workload: string;
  phase: string;
  target: string;
  driver: string;
  mbPerS: Spread;
  recordsPerS: Spread;
  cpuS: Spread | null;
  peakRssBytes: Spread | null;
  /** Medians across repetitions of each reported percentile (ms). */
  latency: {
    produce?: { p50Ms: Spread; p99Ms: Spread; p999Ms: Spread; maxMs: Spread };
    endToEnd?: { p50Ms: Spread; p99Ms: Spread; p999Ms: Spread; maxMs: Spread };
  };
  /** The machine or engine limit this figure is read against, and the fraction of it. */
  limit: { name: string; mbPerS: number; fraction: number } | null;
  verified: boolean | null;
  errors: number;
}

export interface BenchRun {
  schema: 'strand-bench/1';
  startedAt: string;
  finishedAt: string;
  command: string[];
  machine: MachineInfo;
  versions: Record<string, string>;
  settings: Record<string, string | number | boolean>;
  targets: TargetInfo[];
  limits: MachineLimit[];
  samples: Sample[];
  summary: SummaryRow[];
  notes: string[];
}

export function sampleKey(s: Pick<Sample, 'workload' | 'phase' | 'target' | 'driver'>): string {
  return `${s.workload}\u0000${s.phase}\u0000${s.target}\u0000${s.driver}`;
}

function latencySpread(samples: Sample[], kind: 'produce' | 'endToEnd'): SummaryRow['latency']['produce'] {
  const summaries = samples.map((s) => s.latency[kind]).filter((l): l is LatencySummary => l !== undefined && l.count > 0);
  if (summaries.length === 0) return undefined;
  return {
    p50Ms: spreadOf(summaries.map((l) => l.p50Ms)),
    p99Ms: spreadOf(summaries.map((l) => l.p99Ms)),
    p999Ms: spreadOf(summaries.map((l) => l.p999Ms)),
    maxMs: spreadOf(summaries.map((l) => l.maxMs)),
  };
}

export const PAIRED_ENGINE_LIMIT = 'engine append (append threads) just before each repetition';

/** Which limit a phase is read against: writes against the engine's append rate, reads against sendfile. */
export function limitFor(phase: string, limits: readonly MachineLimit[]): MachineLimit | null {
  const byName = (name: string): MachineLimit | null => limits.find((l) => l.name === name && l.mbPerS !== null) ?? null;
  if (phase === 'produce' || phase === 'setup-produce') return byName('engine append (64 KiB batches)') ?? byName('disk sequential write');
  if (phase.startsWith('consume')) return byName('engine sendfile') ?? byName('loopback sendfile');
  return null;
}

/** One row per (workload, phase, target, driver), in the order the samples were taken. */
export function summarize(samples: readonly Sample[], limits: readonly MachineLimit[]): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const group of groupBy(samples, sampleKey).values()) {
    const first = group[0]!;
    const usage = group.map((s) => s.broker).filter((b): b is BrokerUsage => b !== null);
    const mbPerS = spreadOf(group.map((s) => s.mbPerS));
    const paired = group.map((s) => s.pairedEngine).filter((p): p is NonNullable<Sample['pairedEngine']> => p !== undefined);
    const limit = limitFor(first.phase, limits);
    const verifications = group.map((s) => s.verification).filter((v): v is Verification => v !== null);
    const latency: SummaryRow['latency'] = {};
    const produce = latencySpread(group, 'produce');
    const endToEnd = latencySpread(group, 'endToEnd');
    if (produce !== undefined) latency.produce = produce;
    if (endToEnd !== undefined) latency.endToEnd = endToEnd;
    rows.push({
      workload: first.workload,
      phase: first.phase,
      target: first.target,
      driver: first.driver,
      mbPerS,
      recordsPerS: spreadOf(group.map((s) => s.recordsPerS)),
      cpuS: usage.length === 0 ? null : spreadOf(usage.map((u) => u.cpuS)),
      peakRssBytes: usage.length === 0 ? null : spreadOf(usage.map((u) => u.peakRssBytes)),
      latency,
      limit:
        paired.length === group.length
          ? // each repetition against its own engine run: the median of the ratios
            { name: PAIRED_ENGINE_LIMIT, mbPerS: spreadOf(paired.map((p) => p.mbPerS)).median, fraction: spreadOf(group.map((s) => s.mbPerS / s.pairedEngine!.mbPerS)).median }
          : limit === null || limit.mbPerS === null
            ? null
            : { name: limit.name, mbPerS: limit.mbPerS, fraction: mbPerS.median / limit.mbPerS },
      verified: verifications.length === 0 ? null : verifications.every((v) => v.ok),
      errors: group.reduce((n, s) => n + Object.values(s.errors).reduce((a, b) => a + b, 0), 0),
    });
  }
  return rows;
}
