// The run: start the targets, measure the machine, then for each workload and repetition
// run every target in turn (A B A B ...), so a drift of the machine hits all of them, and
// collect one sample per phase. Each sample has its own fresh topic, deleted afterwards.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { summarizeLatencyNs } from './histogram.js';
import { recordsPerBatch } from './driver/batches.js';
import { brokerCount, createTopic, deleteTopic, negotiateVersions, type NegotiatedVersions } from './driver/admin.js';
import { measureLoadgenCeiling } from './driver/ceiling.js';
import { KafkaConnection } from './driver/connection.js';
import {
  CONSUMER_DEFAULTS,
  prepareConsumers,
  prepareProducers,
  type ConsumeOutcome,
  type ConsumerGroup,
  type Endpoint,
  type ProduceOutcome,
  type ProducerGroup,
  type ProduceSpec,
} from './driver/loadgen.js';
import { KCAT_PRODUCER_SETTINGS, kcatAvailable, runKcatConsume, runKcatProduce, writeRecordFile } from './external/kcat.js';
import {
  consumerPerfArgs,
  parseConsumerPerf,
  parseProducerPerf,
  perfToolsIn,
  PERF_PRODUCER_SETTINGS,
  producerPerfArgs,
  runPerfTool,
  type PerfTools,
} from './external/kafka-perf.js';
import {
  dropCaches,
  writeBackDirtyPages,
  loadAverage,
  machineInfo,
  measureDiskWrite,
  measureEngine,
  measureEngineAppendKept,
  freePageReporting,
  measureLoopbackSendfile,
  measureMemoryCopy,
  toolVersions,
} from './machine.js';
import { MB, summarize, type BenchRun, type BrokerUsage, type MachineLimit, type Sample, type TargetInfo, type Verification } from './model.js';
import type { BenchOptions } from './options.js';
import { rssKiB, sampleProcess, type ProcessSampler } from './proc-stats.js';
import { median } from './stats.js';
import { KafkaHomeTarget, findJava } from './targets/kafka.js';
import { sleep } from './targets/process.js';
import { StrandTarget } from './targets/strand.js';
import { BootstrapTarget, type Target } from './targets/target.js';
import { ProgressLine, fmtMBps, fmtMiB, fmtMs, fmtNumber, limitsTable, renderTable, SUMMARY_HEADERS, summaryRow } from './terminal.js';
import { defaultScale, selectWorkloads, workloadCatalog, type WorkloadDefinition } from './workloads.js';

const MiB = 1024 * 1024;
const ADMIN_TIMEOUT_MS = 120_000;
const READY_TIMEOUT_MS = 90_000;
/** A reader that receives nothing for this long gives up (the sample then fails its check). */
const CONSUMER_IDLE_TIMEOUT_MS = 30_000;
/** The producer's max.request.size. */
const MAX_REQUEST_BYTES = 1024 * 1024;
/** The pause before write phases where freed memory goes back to the host (machine.ts). */
const DEFAULT_SETTLE_MS = 10_000;
/** Produce phases with a byte budget but no time budget (catch-up load) stop after this long. */
const LOAD_TIME_LIMIT_MS = 30 * 60_000;
const IDLE_OPEN_PARALLELISM = 50;
/** The workload whose produce figure is a target's peak, of which the latency workload offers half. */
const LATENCY_PEAK_WORKLOAD = 'throughput-acks1';

interface Session {
  target: Target;
  versions: NegotiatedVersions;
  admin: KafkaConnection;
  endpoint: Endpoint;
  /** Median acks=1 produce MB/s, once known: the latency workload offers half of it. */
  peakMBps: number | null;
  catchup: { topic: string; endOffsets: Map<number, number>; acked: Map<number, number>; records: number } | null;
  dead: string | null;
}

interface SampleBase {
  workload: string;
  phase: string;
  target: string;
  driver: string;
  repetition: number;
}

function makeTarget(spec: BenchOptions['targets'][number], opts: BenchOptions): Target {
  switch (spec.kind) {
    case 'strand':
      return new StrandTarget(opts.dataDir, opts.strandOverrides, opts.keepData, opts.nofile);
    case 'bootstrap':
      return new BootstrapTarget(spec.host, spec.port, spec.pid);
    case 'kafka-home':
      return new KafkaHomeTarget(spec.dir, opts.dataDir, opts.kafkaOverrides, opts.kafkaHeapOpts, opts.keepData, opts.nofile);
  }
}

/** The last line of broker output that looks like a warning or an error, shortened. */
function lastComplaint(output: string): string | null {
  const lines = output.split('\n').filter((l) => /warn|error|"level":(40|50|60)/i.test(l));
  const last = lines[lines.length - 1];
  return last === undefined ? null : last.trim().slice(0, 300);
}

/** The suite's own soft open-file limit (what started brokers inherit). */
function openFileLimit(): string {
  try {
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    return m === null ? 'unknown' : `soft ${m[1]}, hard ${m[2]}`;
  } catch {
    return 'unknown';
  }
}

function safeName(s: string): string {
  return s.replace(/[^a-zA-Z0-9._-]+/g, '-').replace(/^-+|-+$/g, '');
}

let topicCounter = 0;
function topicName(workload: string, target: string, repetition: number): string {
  topicCounter++;
  return `bench-${safeName(workload)}-${safeName(target)}-r${repetition}-${process.pid}-${topicCounter}`.slice(0, 200);
}

function sumValues(m: Map<number, number>): number {
  let n = 0;
  for (const v of m.values()) n += v;
  return n;
}

/** Every partition's end offset (0 for partitions that got nothing), for the readers. */
function endOffsetsFor(partitions: number, ends: Map<number, number>): Map<number, number> {
  const out = new Map<number, number>();
  for (let p = 0; p < partitions; p++) out.set(p, ends.get(p) ?? 0);
  return out;
}

/** Each partition read exactly what was acknowledged to it (times `readers`). */
function verifyCounts(acked: Map<number, number>, consumed: Map<number, number>, readers: number, reachedEnd: boolean, extra: string[] = []): Verification {
  const produced = sumValues(acked);
  const got = sumValues(consumed);
  const mismatched: string[] = [];
  const partitions = new Set([...acked.keys(), ...consumed.keys()]);
  for (const p of partitions) {
    const want = (acked.get(p) ?? 0) * readers;
    const have = consumed.get(p) ?? 0;
    if (want !== have) mismatched.push(`p${p}: ${have}/${want}`);
  }
  const ok = mismatched.length === 0 && reachedEnd && produced > 0 && extra.length === 0;
  const problems = [...extra];
  if (!reachedEnd) problems.push('readers did not reach the end offsets');
  if (produced === 0) problems.push('nothing was produced');
  if (mismatched.length > 0) problems.push(`per-partition counts differ: ${mismatched.slice(0, 5).join(', ')}${mismatched.length > 5 ? ' ...' : ''}`);
  return {
    produced,
    consumed: readers > 0 ? Math.floor(got / readers) : got,
    ok,
    detail: ok
      ? `${fmtNumber(produced)} records acknowledged, ${readers > 1 ? `each of ${readers} readers` : 'the reader'} received exactly those`
      : problems.join('; '),
  };
}

export class Runner {
  private readonly samples: Sample[] = [];
  private readonly notes: string[] = [];
  private readonly sessions: Session[] = [];
  private limits: MachineLimit[] = [];
  private readonly epochNs = process.hrtime.bigint();
  private readonly progress: ProgressLine;
  private readonly workloads: WorkloadDefinition[];
  private perfTools: PerfTools | null = null;
  private kcatFile: string | null = null;
  private readonly scratchDir: string;
  /** Pause before each write phase (options.settleMs resolved for this machine). */
  private readonly settleMs: number;

  constructor(
    private readonly opts: BenchOptions,
    private readonly argv: readonly string[],
  ) {
    this.progress = new ProgressLine(!opts.quiet && (opts.progress === 'on' || (opts.progress === 'auto' && process.stdout.isTTY === true)));
    const scale = defaultScale(opts.quick);
    if (opts.catchupBytes !== null) scale.catchupBytes = opts.catchupBytes;
    if (opts.externalBytes !== null) scale.externalBytes = opts.externalBytes;
    this.workloads = selectWorkloads(workloadCatalog(scale), opts.workloads, opts.quick);
    fs.mkdirSync(opts.dataDir, { recursive: true });
    this.scratchDir = fs.mkdtempSync(path.join(opts.dataDir, 'strand-bench-scratch-'));
    this.settleMs = opts.settleMs ?? (freePageReporting() ? DEFAULT_SETTLE_MS : 0);
  }

  private log(line: string): void {
    if (!this.opts.quiet) this.progress.log(line);
  }

  async run(): Promise<BenchRun> {
    const startedAt = new Date().toISOString();
    const machine = machineInfo(this.opts.dataDir);
    const versions = toolVersions();
    this.log(`strand bench: ${machine.cores} cores (${machine.cpuModel}), ${(machine.memoryBytes / 1024 ** 3).toFixed(1)} GiB, ${machine.kernel}; load average ${machine.loadAverageAtStart}`);
    this.log(`workloads: ${this.workloads.map((w) => w.name).join(', ')}; ${this.opts.repetitions} repetition(s)${this.opts.quick ? ' (quick)' : ''}`);
    const targetInfos: TargetInfo[] = [];
    try {
      for (const spec of this.opts.targets) {
        const target = makeTarget(spec, this.opts);
        this.log(`starting target ${target.label} ...`);
        try {
          await target.start();
        } catch (err) {
          await target.stop().catch(() => {});
          throw err;
        }
        const session = await this.connect(target);
        this.sessions.push(session);
        versions[`target ${target.label}`] = target.version;
        this.log(`  ${target.label}: ${target.version} on ${target.host}:${target.port}${target.pid === null ? '' : ` (pid ${target.pid})`}`);
      }
      this.limits = await this.measureLimits();
      this.setUpExternalDrivers();
      for (const w of this.workloads) await this.runWorkload(w);
    } finally {
      this.progress.clear();
      for (const s of this.sessions) {
        targetInfos.push({
          label: s.target.label,
          kind: s.target.kind,
          bootstrap: `${s.target.host}:${s.target.port}`,
          version: s.target.version,
          pid: s.target.pid,
          settings: { ...s.target.settings },
          apiVersions: { ...s.versions },
        });
        s.admin.close();
        try {
          await s.target.stop();
        } catch (err) {
          this.notes.push(`stopping ${s.target.label}: ${(err as Error).message}`);
        }
      }
      fs.rmSync(this.scratchDir, { recursive: true, force: true });
    }
    const summary = summarize(this.samples, this.limits);
    this.log('');
    this.log(renderTable(SUMMARY_HEADERS, summary.map(summaryRow)));
    return {
      schema: 'strand-bench/1',
      startedAt,
      finishedAt: new Date().toISOString(),
      command: ['npm run bench --', ...this.argv],
      machine,
      versions,
      settings: this.runSettings(),
      targets: targetInfos,
      limits: this.limits,
      samples: this.samples,
      summary,
      notes: [...this.staticNotes(), ...this.notes, `Load average (1, 5, 15 min) at the start: ${machine.loadAverageAtStart}; at the end: ${loadAverage()} (on ${machine.cores} cores; anything else running skews the figures).`],
    };
  }

  private staticNotes(): string[] {
    const notes = [
      'Fan-out: each of the 4 "consumer groups" is an independent fetcher with its own connection and offsets that reads the whole topic; the load generator does not join groups through a group coordinator, so the figure is the broker serving 4 readers, without group protocol traffic.',
      'Latency: records carry their intended send time (a fixed schedule at the offered rate), so a stalled broker shows as latency rather than as a lower offered rate. Produce latency runs from the intended send time to the acknowledgement, end-to-end latency to the arrival of the record at a long-polling reader. Both include the linger interval.',
      'The load generator runs on the same machine as the broker and competes with it for the cores.',
      'Broker CPU seconds and memory come from /proc/<pid>/stat and /proc/<pid>/status of the broker process (for Kafka the JVM; ZooKeeper is not counted).',
    ];
    return notes;
  }

  private runSettings(): Record<string, string | number | boolean> {
    const o = this.opts;
    return {
      quick: o.quick,
      workloads: this.workloads.map((w) => w.name).join(', '),
      repetitions: o.repetitions,
      'order of targets': 'alternating per repetition (A B A B)',
      'produce phase duration ms': o.durationMs,
      'produce warm-up ms (not counted)': o.warmupMs,
      'produce drain grace ms (then unanswered requests are abandoned)': o.drainGraceMs,
      'max bytes per produce phase': o.maxBytesPerPhase,
      'pause before each write phase ms': this.settleMs,
      'catch-up bytes': this.workloads.find((w) => w.kind === 'catchup')?.dataBytes ?? 0,
      'kcat / perf-tool bytes': this.workloads.find((w) => w.kind === 'kcat' || w.kind === 'kafka-perf')?.dataBytes ?? 0,
      'driver threads per role': o.driverThreads,
      'producer connections': o.producerConnections,
      'consumer connections': o.consumerConnections,
      'produce requests in flight per connection': o.inflight,
      'producer max request bytes': MAX_REQUEST_BYTES,
      'produce request timeout ms': 30_000,
      'latency offered load': o.latencyRateMBps === null ? 'half of each target\'s acks=1 peak' : `${o.latencyRateMBps} MB/s`,
      'latency linger ms': o.lingerMs,
      'fetch max wait ms': CONSUMER_DEFAULTS.maxWaitMs,
      'fetch min bytes': CONSUMER_DEFAULTS.minBytes,
      'fetch max bytes': CONSUMER_DEFAULTS.maxBytes,
      'fetch partition max bytes': CONSUMER_DEFAULTS.partitionMaxBytes,
      'reader idle timeout ms': CONSUMER_IDLE_TIMEOUT_MS,
      'record keys': 'none (null), values of incompressible bytes, no compression',
      'kcat producer settings': Object.entries(KCAT_PRODUCER_SETTINGS).map(([k, v]) => `${k}=${v}`).join(' '),
      'perf-tool producer settings': Object.entries(PERF_PRODUCER_SETTINGS).map(([k, v]) => `${k}=${v}`).join(' '),
      'drop page cache for cold reads': o.dropCaches,
      'dirty pages written back (sync) before each produce phase': true,
      'data dir parent': o.dataDir,
      'strand overrides': o.strandOverrides.join(' ') || '(none)',
      'kafka overrides': o.kafkaOverrides.join(' ') || '(none)',
      'kafka heap': o.kafkaHeapOpts ?? '(scripts\' default)',
      'open-file limit of started brokers': o.nofile ?? `inherited (${openFileLimit()})`,
    };
  }

  /** Connects to a started target and waits until it answers ApiVersions and Metadata with a broker. */
  private async connect(target: Target): Promise<Session> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let last: unknown = null;
    while (Date.now() < deadline) {
      let conn: KafkaConnection | null = null;
      try {
        conn = await KafkaConnection.open(target.host, target.port, 'strand-bench-admin');
        const versions = await negotiateVersions(conn);
        if ((await brokerCount(conn, versions)) > 0) {
          return {
            target,
            versions,
            admin: conn,
            endpoint: { host: target.host, port: target.port, versions, epochNs: this.epochNs },
            peakMBps: null,
            catchup: null,
            dead: null,
          };
        }
        last = new Error('Metadata lists no brokers yet');
      } catch (err) {
        last = err;
        if (err instanceof Error && err.message.startsWith('the broker lacks')) {
          conn?.close();
          throw new Error(`${target.label}: ${err.message}`);
        }
      }
      conn?.close();
      if (!target.isRunning()) break;
      await sleep(250);
    }
    await target.stop().catch(() => {});
    throw new Error(`${target.label} did not become ready: ${(last as Error | null)?.message ?? 'unknown'}\n${target.logTail()}`);
  }

  private async measureLimits(): Promise<MachineLimit[]> {
    const limits: MachineLimit[] = [];
    if (this.opts.machineLimits) {
      this.progress.update('machine limits', null, 'disk write');
      limits.push(...measureDiskWrite(this.scratchDir, this.opts.quick ? 256 * MiB : 1024 * MiB));
      this.progress.update('machine limits', null, 'loopback sendfile');
      limits.push(await measureLoopbackSendfile(this.scratchDir, 256 * MiB, this.opts.quick ? 4 : 8));
      this.progress.update('machine limits', null, 'memory copy');
      limits.push(measureMemoryCopy(this.opts.quick ? 512 * MiB : 2048 * MiB));
    }
    if (this.opts.machineLimits) {
      this.progress.update('load generator ceiling', null, '(against a null broker)');
      const ceiling = await measureLoadgenCeiling({
        threads: this.opts.driverThreads,
        producerConnections: this.opts.producerConnections,
        consumerConnections: this.opts.consumerConnections,
        inflight: this.opts.inflight,
        durationMs: this.opts.quick ? 1500 : 4000,
        warmupMs: this.opts.quick ? 300 : 1000,
        readBytes: (this.opts.quick ? 1 : 4) * 1024 * MiB,
        epochNs: this.epochNs,
      }).catch((err: unknown): MachineLimit[] => [
        { name: 'load generator produce ceiling', mbPerS: null, method: 'null broker', note: `not measured: ${(err as Error).message}` },
      ]);
      limits.push(...ceiling);
    }
    if (this.opts.engineBaseline) {
      this.progress.update('storage engine baseline', null, '(bench/storage, about 30 s)');
      // The sustained figure writes what one produce phase may write at most.
      await this.writeBackAndSettle('storage engine baseline');
      limits.push(...(await measureEngine(this.scratchDir, Math.round(this.opts.maxBytesPerPhase / MiB))));
    }
    if (limits.length > 0) this.log(limitsTable(limits));
    return limits;
  }

  private setUpExternalDrivers(): void {
    const wants = (kind: string): boolean => this.workloads.some((w) => w.kind === kind);
    if (wants('kafka-perf')) {
      const home = this.opts.kafkaTools ?? this.sessions.map((s) => s.target).find((t): t is KafkaHomeTarget => t instanceof KafkaHomeTarget)?.home ?? null;
      if (home === null) this.notes.push('kafka-perf skipped: no Apache Kafka distribution given (kafka-home=DIR or --kafka-tools=DIR).');
      else if (findJava() === null) this.notes.push('kafka-perf skipped: no java found for the Kafka perf tools.');
      else {
        let version = 'unknown';
        try {
          version = new KafkaHomeTarget(home, this.opts.dataDir, [], null, false).version.replace(/^Apache Kafka (\S+).*$/, '$1');
        } catch (err) {
          this.notes.push(`kafka-perf skipped: ${(err as Error).message}`);
        }
        this.perfTools = version === 'unknown' ? null : perfToolsIn(home, version);
        if (this.perfTools === null && version !== 'unknown') this.notes.push(`kafka-perf skipped: ${home} has no perf-test scripts.`);
      }
    }
    if (wants('kcat') && !kcatAvailable()) this.notes.push('kcat skipped: kcat is not installed.');
  }

  private async runWorkload(w: WorkloadDefinition): Promise<void> {
    if (w.kind === 'kcat' && !kcatAvailable()) return;
    if (w.kind === 'kafka-perf' && this.perfTools === null) return;
    this.log('');
    this.log(`== ${w.name}: ${w.title}`);
    for (let rep = 1; rep <= this.opts.repetitions; rep++) {
      for (const s of this.sessions) {
        if (s.dead !== null) continue;
        if (!s.target.isRunning()) {
          s.dead = `${s.target.label} exited`;
          this.notes.push(`${s.target.label} stopped running before ${w.name} rep ${rep}: ${s.target.logTail().slice(-500)}`);
          continue;
        }
        try {
          await this.runOne(w, s, rep);
        } catch (err) {
          this.progress.clear();
          const message = (err as Error).message.split('\n')[0]!;
          const complaint = lastComplaint(s.target.logTail());
          this.notes.push(`${w.name} on ${s.target.label}, repetition ${rep}, failed: ${message}${complaint === null ? '' : ` (broker output: ${complaint})`}`);
          this.log(`  ${s.target.label} rep ${rep}: FAILED: ${message}`);
        }
      }
    }
    if (w.name === LATENCY_PEAK_WORKLOAD) {
      for (const s of this.sessions) {
        const mine = this.samples.filter((x) => x.workload === w.name && x.phase === 'produce' && x.target === s.target.label && x.mbPerS > 0);
        if (mine.length > 0) s.peakMBps = median(mine.map((x) => x.mbPerS));
      }
    }
    if (w.kind === 'catchup') {
      for (const s of this.sessions) {
        if (s.catchup !== null) await this.dropTopic(s, s.catchup.topic);
        s.catchup = null;
      }
    }
  }

  private async runOne(w: WorkloadDefinition, s: Session, rep: number): Promise<void> {
    switch (w.kind) {
      case 'throughput':
      case 'small':
      case 'partitions':
      case 'connections':
        return this.runThroughput(w, s, rep);
      case 'latency':
        return this.runLatency(w, s, rep);
      case 'fanout':
        return this.runFanout(w, s, rep);
      case 'catchup':
        return this.runCatchup(w, s, rep);
      case 'kcat':
        return this.runKcat(w, s, rep);
      case 'kafka-perf':
        return this.runKafkaPerf(w, s, rep);
    }
  }

  // ---- samples -------------------------------------------------------------------------

  private record(base: SampleBase, fields: Omit<Sample, keyof SampleBase | 'startedAt'> & { startedAt?: string }): Sample {
    const sample: Sample = { ...base, startedAt: fields.startedAt ?? new Date().toISOString(), ...fields };
    this.samples.push(sample);
    const lat = sample.latency.endToEnd ?? sample.latency.produce;
    const parts = [`${fmtMBps(sample.mbPerS)} MB/s`, `${fmtNumber(sample.recordsPerS)} rec/s`];
    if (lat !== undefined) parts.push(`p50 ${fmtMs(lat.p50Ms)} ms, p99 ${fmtMs(lat.p99Ms)} ms, p99.9 ${fmtMs(lat.p999Ms)} ms`);
    if (sample.broker !== null) parts.push(`broker CPU ${fmtNumber(sample.broker.cpuS, 1)} s, peak RSS ${fmtMiB(sample.broker.peakRssBytes)}`);
    if (sample.verification !== null) parts.push(sample.verification.ok ? 'check ok' : `CHECK FAILED: ${sample.verification.detail}`);
    const errorCount = Object.values(sample.errors).reduce((a, b) => a + b, 0);
    if (errorCount > 0) parts.push(`${errorCount} errors (${Object.keys(sample.errors).slice(0, 3).join(', ')})`);
    this.log(`  ${base.target.padEnd(16)} rep ${base.repetition} ${base.phase.padEnd(14)} ${parts.join(', ')}`);
    return sample;
  }

  private startSampler(s: Session): ProcessSampler | null {
    return sampleProcess(s.target.pid);
  }

  private stopSampler(sampler: ProcessSampler | null): BrokerUsage | null {
    if (sampler === null) return null;
    try {
      return sampler.stop();
    } catch {
      return null;
    }
  }

  /** Redraws the progress line while `work` runs. */
  private async withProgress<T>(label: string, fraction: () => number | null, detail: () => string, work: Promise<T>): Promise<T> {
    const timer = setInterval(() => this.progress.update(label, fraction(), detail()), 250);
    try {
      return await work;
    } finally {
      clearInterval(timer);
      this.progress.clear();
    }
  }

  private produceSpec(w: WorkloadDefinition, topic: string, partitions: number, overrides: Partial<ProduceSpec> = {}): ProduceSpec {
    return {
      topic,
      partitions,
      recordBytes: w.recordBytes,
      batchBytes: w.batchBytes,
      acks: w.acks,
      connections: this.opts.producerConnections,
      threads: this.opts.driverThreads,
      inflight: this.opts.inflight,
      maxRequestBytes: MAX_REQUEST_BYTES,
      mode: { kind: 'max', durationMs: this.opts.durationMs, warmupMs: this.opts.warmupMs, maxBytes: this.opts.maxBytesPerPhase },
      stamped: false,
      drainGraceMs: this.opts.drainGraceMs,
      ...overrides,
    };
  }

  /**
   * Writes dirty pages back, then waits settleMs, so that every write phase starts from the
   * same state of the machine: no writeback of an earlier phase still running, and (on VMs
   * that report freed memory to their host) no memory freed moments ago that the phase
   * would get cheaper than the next one.
   */
  private async writeBackAndSettle(label: string): Promise<void> {
    await this.withProgress(label, () => null, () => 'writing back dirty pages first', writeBackDirtyPages());
    if (this.settleMs > 0) await this.withProgress(label, () => null, () => `pausing ${this.settleMs / 1000} s for freed memory to settle`, sleep(this.settleMs));
  }

  /** Runs a max-rate produce phase with a progress bar. */
  private async produce(label: string, s: Session, spec: ProduceSpec, clientId: string): Promise<{ outcome: ProduceOutcome; usage: BrokerUsage | null; startedAt: string }> {
    await this.writeBackAndSettle(label);
    const group = await prepareProducers(s.endpoint, spec, clientId);
    const startedAt = new Date().toISOString();
    const sampler = this.startSampler(s);
    const t0 = Date.now();
    const mode = spec.mode;
    const budget = mode.kind === 'max' ? mode.maxBytes : 0;
    group.start();
    try {
      const outcome = await this.withProgress(
        label,
        () => {
          if (mode.kind !== 'max') return Math.min(1, (Date.now() - t0) / mode.durationMs);
          return Math.max(Math.min(1, (Date.now() - t0) / mode.durationMs), Math.min(1, group.progress().payloadBytes / budget));
        },
        () => `${fmtNumber(group.progress().payloadBytes / MB)} MB acknowledged`,
        group.finish(),
      );
      return { outcome, usage: this.stopSampler(sampler), startedAt };
    } catch (err) {
      this.stopSampler(sampler);
      await group.terminate();
      throw err;
    }
  }

  /** Reads a topic up to known end offsets with a progress bar. */
  private async consume(label: string, s: Session, w: WorkloadDefinition, topic: string, partitions: number, ends: Map<number, number>, readers: number): Promise<{ outcome: ConsumeOutcome; usage: BrokerUsage | null; startedAt: string }> {
    const group = await prepareConsumers(
      s.endpoint,
      {
        topic,
        readers,
        partitions,
        connectionsPerReader: readers > 1 ? 1 : this.opts.consumerConnections,
        threads: this.opts.driverThreads,
        recordBytes: w.recordBytes,
        stamped: false,
        endOffsets: ends,
        ...CONSUMER_DEFAULTS,
        idleTimeoutMs: CONSUMER_IDLE_TIMEOUT_MS,
      },
      'strand-bench',
    );
    const expected = sumValues(ends) * readers;
    const startedAt = new Date().toISOString();
    const sampler = this.startSampler(s);
    group.start();
    try {
      const outcome = await this.withProgress(
        label,
        () => (expected === 0 ? 1 : group.progress().records / expected),
        () => `${fmtNumber(group.progress().payloadBytes / MB)} MB read`,
        group.finish(),
      );
      return { outcome, usage: this.stopSampler(sampler), startedAt };
    } catch (err) {
      this.stopSampler(sampler);
      await group.terminate();
      throw err;
    }
  }

  private produceSample(base: SampleBase, run: { outcome: ProduceOutcome; usage: BrokerUsage | null; startedAt: string }, settings: Record<string, string | number | boolean>, notes: string[] = []): Sample {
    const o = run.outcome;
    return this.record(base, {
      startedAt: run.startedAt,
      durationS: o.durationS,
      records: o.records,
      payloadBytes: o.payloadBytes,
      wireBytes: o.wireBytes,
      mbPerS: o.mbPerS,
      recordsPerS: o.recordsPerS,
      latency: o.ackLatency === null ? {} : { produce: summarizeLatencyNs(o.ackLatency) },
      broker: run.usage,
      verification: null,
      errors: o.errors,
      settings: { ...settings, ...o.settings },
      notes,
    });
  }

  private consumeSample(
    base: SampleBase,
    run: { outcome: ConsumeOutcome; usage: BrokerUsage | null; startedAt: string },
    verification: Verification,
    settings: Record<string, string | number | boolean>,
    notes: string[] = [],
  ): Sample {
    const o = run.outcome;
    return this.record(base, {
      startedAt: run.startedAt,
      durationS: o.durationS,
      records: o.records,
      payloadBytes: o.payloadBytes,
      wireBytes: o.wireBytes,
      mbPerS: o.mbPerS,
      recordsPerS: o.recordsPerS,
      latency: o.endToEnd === null ? {} : { endToEnd: summarizeLatencyNs(o.endToEnd) },
      broker: run.usage,
      verification,
      errors: o.errors,
      settings: { ...settings, ...o.settings },
      notes,
    });
  }

  private base(w: WorkloadDefinition, s: Session, rep: number, phase: string, driver = 'loadgen'): SampleBase {
    return { workload: w.name, phase, target: s.target.label, driver, repetition: rep };
  }

  /** The admin connection, reopened when the broker closed it (e.g. after connections.max.idle.ms). */
  private async admin(s: Session): Promise<KafkaConnection> {
    if (s.admin.failed !== null) s.admin = await KafkaConnection.open(s.target.host, s.target.port, 'strand-bench-admin');
    return s.admin;
  }

  private async newTopic(w: WorkloadDefinition, s: Session, rep: number, partitions: number): Promise<{ topic: string; partitions: number; notes: string[] }> {
    const topic = topicName(w.name, s.target.label, rep);
    const admin = await this.admin(s);
    const layout = await this.withProgress(`${s.target.label} ${w.name}`, () => null, () => `creating ${partitions} partitions`, createTopic(admin, s.versions, topic, partitions, ADMIN_TIMEOUT_MS));
    const notes: string[] = [];
    if (layout.partitions !== partitions) notes.push(`topic has ${layout.partitions} partitions (${layout.createdBy}), not ${partitions}`);
    else if (layout.createdBy !== 'CreateTopics') notes.push(`topic created by ${layout.createdBy}`);
    return { topic, partitions: layout.partitions, notes };
  }

  private async dropTopic(s: Session, topic: string): Promise<void> {
    const reason = await this.admin(s)
      .then((admin) => deleteTopic(admin, s.versions, topic, ADMIN_TIMEOUT_MS))
      .catch((err: unknown) => (err as Error).message);
    if (reason === null) return;
    const note = `${s.target.label}: a topic could not be deleted after its sample (${reason}); its data stayed on disk until the end of the run.`;
    if (!this.notes.includes(note)) this.notes.push(note);
  }

  // ---- workloads -----------------------------------------------------------------------

  private async runThroughput(w: WorkloadDefinition, s: Session, rep: number): Promise<void> {
    const t = await this.newTopic(w, s, rep, w.partitions);
    const label = `${s.target.label} ${w.name} rep ${rep}`;
    const idle: KafkaConnection[] = [];
    const settings: Record<string, string | number | boolean> = { partitions: t.partitions, recordBytes: w.recordBytes, batchBytes: w.batchBytes, acks: w.acks === -1 ? 'all' : 1 };
    try {
      if (w.kind === 'partitions') {
        if (s.target.pid !== null) settings['brokerRssAfterCreateMiB'] = Math.round((rssKiB(s.target.pid) ?? 0) / 1024);
        // A broker's first write to a partition can cost far more than the rest (Apache
        // Kafka writes each partition's leader-epoch checkpoint then): one batch to every
        // partition first, not timed, so the phase measures the steady state on every target.
        const onePerPartition = t.partitions * recordsPerBatch(w.recordBytes, w.batchBytes) * w.recordBytes;
        const primeSpec = this.produceSpec(w, t.topic, t.partitions, { mode: { kind: 'max', durationMs: LOAD_TIME_LIMIT_MS, warmupMs: 0, maxBytes: onePerPartition } });
        await this.produce(`${label} first write to each partition`, s, primeSpec, 'strand-bench-prime');
        settings['primedBeforeMeasuring'] = 'one batch per partition';
      }
      if (w.idleConnections > 0) {
        await this.withProgress(label, () => idle.length / w.idleConnections, () => `opening ${w.idleConnections} idle connections`, this.openIdle(s, w.idleConnections, idle));
        settings['idleConnections'] = idle.length;
        if (s.target.pid !== null) settings['brokerRssWithIdleConnectionsMiB'] = Math.round((rssKiB(s.target.pid) ?? 0) / 1024);
      }
      const engine = w.kind === 'throughput' && this.opts.pairEngine ? await this.engineBeforeProduce(label) : null;
      const produced = await this.produce(`${label} produce`, s, this.produceSpec(w, t.topic, t.partitions), 'strand-bench');
      const notes = [...t.notes];
      if (w.idleConnections > 0) {
        const closed = idle.filter((c) => c.failed !== null).length;
        settings['idleConnectionsClosedByBroker'] = closed;
        if (closed > 0) notes.push(`${closed} of ${idle.length} idle connections were closed by the broker during the run`);
      }
      const sample = this.produceSample(this.base(w, s, rep, 'produce'), produced, settings, notes);
      if (w.phases.includes('consume')) {
        const ends = endOffsetsFor(t.partitions, produced.outcome.endOffsets);
        const consumed = await this.consume(`${label} consume`, s, w, t.topic, t.partitions, ends, 1);
        const failures = sumValues(produced.outcome.failed);
        const extra = failures > 0 ? [`${failures} records were refused by the broker`] : [];
        this.consumeSample(this.base(w, s, rep, 'consume'), consumed, verifyCounts(produced.outcome.acked, consumed.outcome.consumed, 1, consumed.outcome.reachedEnd, extra), { partitions: t.partitions }, t.notes);
      }
      if (engine !== null) this.pairWithEngine(sample, engine);
    } finally {
      for (const c of idle) c.close();
      await this.dropTopic(s, t.topic);
    }
  }

  /**
   * The storage engine appending what a produce phase may write at most, through its append
   * threads, in its own process, just before the phase. Both start from the same state: the
   * engine after the previous repetition's topic was deleted and the pause, the phase after
   * the engine's logs are deleted and the pause. (Keeping the engine's logs instead left the
   * phase the memory the VM had long handed back, while the engine got what the pause had
   * not: 0.2-0.4x. Running the engine after the phase biases it the other way.)
   */
  private async engineBeforeProduce(label: string): Promise<{ mbPerS: number | null; note: string; bytes: number }> {
    await this.writeBackAndSettle(label);
    const mib = Math.round(this.opts.maxBytesPerPhase / MiB);
    const dir = path.join(this.scratchDir, 'paired-engine');
    try {
      const engine = await this.withProgress(`${label} engine append`, () => null, () => `${mib} MiB through the engine alone`, measureEngineAppendKept(dir, mib));
      return { ...engine, bytes: mib * MiB };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  private pairWithEngine(sample: Sample, engine: { mbPerS: number | null; note: string; bytes: number }): void {
    if (engine.mbPerS === null) {
      sample.notes.push(`engine append before the phase: ${engine.note}`);
      return;
    }
    sample.pairedEngine = { mbPerS: engine.mbPerS, bytes: engine.bytes };
    this.log(`  ${sample.target.padEnd(16)} rep ${sample.repetition} engine append  ${fmtMBps(engine.mbPerS)} MB/s just before (produce is ${(sample.mbPerS / engine.mbPerS).toFixed(2)}x of it)`);
  }

  /** Opens `count` connections that each send ApiVersions and Metadata, then stay idle. */
  private async openIdle(s: Session, count: number, into: KafkaConnection[]): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        next++;
        const conn = await KafkaConnection.open(s.target.host, s.target.port, `strand-bench-idle-${into.length}`);
        into.push(conn);
        await negotiateVersions(conn);
        await brokerCount(conn, s.versions);
      }
    };
    await Promise.all(Array.from({ length: IDLE_OPEN_PARALLELISM }, worker));
  }

  private async offeredRateMBps(w: WorkloadDefinition, s: Session, rep: number): Promise<{ mbPerS: number; how: string }> {
    if (this.opts.latencyRateMBps !== null) return { mbPerS: this.opts.latencyRateMBps, how: 'set with --latency-rate' };
    if (s.peakMBps === null) {
      // No acks=1 throughput result for this target yet: measure the peak briefly.
      const t = await this.newTopic(w, s, rep, w.partitions);
      try {
        const probe = await this.produce(`${s.target.label} peak probe`, s, this.produceSpec(w, t.topic, t.partitions), 'strand-bench-probe');
        s.peakMBps = probe.outcome.mbPerS;
        this.notes.push(`${s.target.label}: latency offered load from a ${this.opts.durationMs} ms peak probe (${fmtMBps(s.peakMBps)} MB/s), as throughput-acks1 did not run first.`);
      } finally {
        await this.dropTopic(s, t.topic);
      }
    }
    return { mbPerS: Math.max(1, s.peakMBps / 2), how: `half of the measured acks=1 peak (${fmtMBps(s.peakMBps)} MB/s)` };
  }

  private async runLatency(w: WorkloadDefinition, s: Session, rep: number): Promise<void> {
    const rate = await this.offeredRateMBps(w, s, rep);
    const recordsPerS = (rate.mbPerS * MB) / w.recordBytes;
    const t = await this.newTopic(w, s, rep, w.partitions);
    const label = `${s.target.label} ${w.name} rep ${rep}`;
    let readers: ConsumerGroup | null = null;
    let producers: ProducerGroup | null = null;
    try {
      readers = await prepareConsumers(
        s.endpoint,
        {
          topic: t.topic,
          readers: 1,
          partitions: t.partitions,
          connectionsPerReader: this.opts.consumerConnections,
          threads: this.opts.driverThreads,
          recordBytes: w.recordBytes,
          stamped: true,
          endOffsets: null,
          ...CONSUMER_DEFAULTS,
          idleTimeoutMs: CONSUMER_IDLE_TIMEOUT_MS,
        },
        'strand-bench-latency',
      );
      await this.writeBackAndSettle(label);
      readers.start();
      producers = await prepareProducers(
        s.endpoint,
        this.produceSpec(w, t.topic, t.partitions, { stamped: true, mode: { kind: 'rate', recordsPerS, durationMs: this.opts.durationMs, lingerMs: this.opts.lingerMs } }),
        'strand-bench-latency',
      );
      const startedAt = new Date().toISOString();
      const sampler = this.startSampler(s);
      const t0 = Date.now();
      producers.start();
      const p = producers;
      const produced = await this.withProgress(label, () => (Date.now() - t0) / this.opts.durationMs, () => `offered ${fmtMBps(rate.mbPerS)} MB/s`, p.finish());
      readers.setEndOffsets(endOffsetsFor(t.partitions, produced.endOffsets));
      const consumed = await readers.finish();
      const usage = this.stopSampler(sampler);
      const extra: string[] = [];
      if (consumed.sequenceErrors > 0) extra.push(`${consumed.sequenceErrors} records out of sequence (first: ${consumed.firstSequenceError})`);
      const failures = sumValues(produced.failed);
      if (failures > 0) extra.push(`${failures} records were refused by the broker`);
      const notes = [...t.notes];
      if (produced.unsentRecords > 0) notes.push(`the producer fell behind the offered load: ${fmtNumber(produced.unsentRecords)} due records were never sent`);
      this.record(this.base(w, s, rep, 'end-to-end'), {
        startedAt,
        durationS: produced.durationS,
        records: produced.records,
        payloadBytes: produced.payloadBytes,
        wireBytes: produced.wireBytes,
        mbPerS: produced.mbPerS,
        recordsPerS: produced.recordsPerS,
        latency: {
          ...(produced.ackLatency === null ? {} : { produce: summarizeLatencyNs(produced.ackLatency) }),
          ...(consumed.endToEnd === null ? {} : { endToEnd: summarizeLatencyNs(consumed.endToEnd) }),
        },
        broker: usage,
        verification: verifyCounts(produced.acked, consumed.consumed, 1, consumed.reachedEnd, extra),
        errors: { ...produced.errors, ...consumed.errors },
        settings: {
          partitions: t.partitions,
          recordBytes: w.recordBytes,
          offeredMBps: Number(rate.mbPerS.toFixed(2)),
          offeredRecordsPerS: Math.round(recordsPerS),
          offeredLoad: rate.how,
          lingerMs: this.opts.lingerMs,
          ...produced.settings,
        },
        notes,
      });
    } catch (err) {
      await producers?.terminate();
      await readers?.terminate();
      throw err;
    } finally {
      await this.dropTopic(s, t.topic);
    }
  }

  private async runFanout(w: WorkloadDefinition, s: Session, rep: number): Promise<void> {
    const t = await this.newTopic(w, s, rep, w.partitions);
    const label = `${s.target.label} ${w.name} rep ${rep}`;
    let readers: ConsumerGroup | null = null;
    let producers: ProducerGroup | null = null;
    try {
      readers = await prepareConsumers(
        s.endpoint,
        {
          topic: t.topic,
          readers: w.readers,
          partitions: t.partitions,
          connectionsPerReader: 1,
          threads: this.opts.driverThreads,
          recordBytes: w.recordBytes,
          stamped: false,
          endOffsets: null,
          ...CONSUMER_DEFAULTS,
          idleTimeoutMs: CONSUMER_IDLE_TIMEOUT_MS,
        },
        'strand-bench-fanout',
      );
      await this.writeBackAndSettle(label);
      readers.start();
      producers = await prepareProducers(s.endpoint, this.produceSpec(w, t.topic, t.partitions, { connections: 1, threads: 1 }), 'strand-bench-fanout');
      const startedAt = new Date().toISOString();
      const sampler = this.startSampler(s);
      const t0 = Date.now();
      producers.start();
      const p = producers;
      const r = readers;
      const produced = await this.withProgress(
        label,
        () => (Date.now() - t0) / this.opts.durationMs,
        () => `${fmtNumber(p.progress().payloadBytes / MB)} MB written, ${fmtNumber(r.progress().payloadBytes / MB)} MB read`,
        p.finish(),
      );
      readers.setEndOffsets(endOffsetsFor(t.partitions, produced.endOffsets));
      const consumed = await readers.finish();
      const usage = this.stopSampler(sampler);
      const settings = { partitions: t.partitions, readers: w.readers, recordBytes: w.recordBytes };
      this.produceSample(this.base(w, s, rep, 'produce'), { outcome: produced, usage, startedAt }, settings, t.notes);
      const failures = sumValues(produced.failed);
      this.consumeSample(
        this.base(w, s, rep, 'consume'),
        { outcome: consumed, usage, startedAt },
        verifyCounts(produced.acked, consumed.consumed, w.readers, consumed.reachedEnd, failures > 0 ? [`${failures} records were refused by the broker`] : []),
        settings,
        ['MB/s is the sum over the 4 readers, which read while the producer wrote; broker usage is shared with the produce sample.'],
      );
    } catch (err) {
      await producers?.terminate();
      await readers?.terminate();
      throw err;
    } finally {
      await this.dropTopic(s, t.topic);
    }
  }

  private async runCatchup(w: WorkloadDefinition, s: Session, rep: number): Promise<void> {
    if (s.catchup === null) {
      const t = await this.newTopic(w, s, 0, w.partitions);
      s.catchup = { topic: t.topic, endOffsets: new Map(), acked: new Map(), records: 0 };
      const spec = this.produceSpec(w, t.topic, t.partitions, { mode: { kind: 'max', durationMs: LOAD_TIME_LIMIT_MS, warmupMs: 0, maxBytes: w.dataBytes } });
      const loaded = await this.produce(`${s.target.label} ${w.name} loading ${fmtNumber(w.dataBytes / MiB)} MiB`, s, spec, 'strand-bench-load');
      s.catchup.endOffsets = endOffsetsFor(t.partitions, loaded.outcome.endOffsets);
      s.catchup.acked = loaded.outcome.acked;
      s.catchup.records = loaded.outcome.records;
      this.produceSample(this.base(w, s, rep, 'setup-produce'), loaded, { partitions: t.partitions, loadBytes: w.dataBytes }, t.notes);
    }
    const c = s.catchup;
    const label = `${s.target.label} ${w.name} rep ${rep}`;
    const dropped = this.opts.dropCaches ? dropCaches() : { dropped: false, reason: 'page cache not dropped (--no-drop-caches): not cold' };
    const coldPhase = dropped.dropped ? 'consume-cold' : 'consume-not-cold';
    const cold = await this.consume(`${label} ${coldPhase}`, s, w, c.topic, w.partitions, c.endOffsets, 1);
    this.consumeSample(this.base(w, s, rep, coldPhase), cold, verifyCounts(c.acked, cold.outcome.consumed, 1, cold.outcome.reachedEnd), { partitions: w.partitions, cacheDropped: dropped.dropped }, [dropped.reason]);
    const warm = await this.consume(`${label} consume-warm`, s, w, c.topic, w.partitions, c.endOffsets, 1);
    this.consumeSample(this.base(w, s, rep, 'consume-warm'), warm, verifyCounts(c.acked, warm.outcome.consumed, 1, warm.outcome.reachedEnd), { partitions: w.partitions }, ['read again right after the first read: the data is in the page cache']);
  }

  private kcatRecordFile(w: WorkloadDefinition): { file: string; records: number } {
    const records = Math.max(1, Math.floor(w.dataBytes / w.recordBytes));
    if (this.kcatFile === null) {
      this.kcatFile = path.join(this.scratchDir, 'kcat-records.txt');
      writeRecordFile(this.kcatFile, records, w.recordBytes);
    }
    return { file: this.kcatFile, records };
  }

  private async runKcat(w: WorkloadDefinition, s: Session, rep: number): Promise<void> {
    const { file, records } = this.kcatRecordFile(w);
    const t = await this.newTopic(w, s, rep, w.partitions);
    const bootstrap = `${s.target.host}:${s.target.port}`;
    const payload = records * w.recordBytes;
    const settings = { partitions: t.partitions, records, recordBytes: w.recordBytes, acks: 1 };
    try {
      let startedAt = new Date().toISOString();
      let sampler = this.startSampler(s);
      const produced = await this.withProgress(`${s.target.label} kcat -P rep ${rep}`, () => null, () => `${fmtNumber(payload / MiB)} MiB`, runKcatProduce(bootstrap, t.topic, file, w.acks));
      let usage = this.stopSampler(sampler);
      this.record(this.base(w, s, rep, 'produce', 'kcat'), {
        startedAt,
        durationS: produced.elapsedS,
        records: produced.ok ? records : 0,
        payloadBytes: produced.ok ? payload : 0,
        wireBytes: null,
        mbPerS: produced.ok ? payload / MB / produced.elapsedS : 0,
        recordsPerS: produced.ok ? records / produced.elapsedS : 0,
        latency: {},
        broker: usage,
        verification: null,
        errors: produced.error === null ? {} : { [produced.error]: 1 },
        settings,
        notes: ['wall-clock time of the kcat process, start-up and metadata included', ...t.notes],
      });
      if (!produced.ok) return;
      startedAt = new Date().toISOString();
      sampler = this.startSampler(s);
      const consumed = await this.withProgress(`${s.target.label} kcat -C rep ${rep}`, () => null, () => `${fmtNumber(payload / MiB)} MiB`, runKcatConsume(bootstrap, t.topic));
      usage = this.stopSampler(sampler);
      const ok = consumed.ok && consumed.messages === records;
      this.record(this.base(w, s, rep, 'consume', 'kcat'), {
        startedAt,
        durationS: consumed.elapsedS,
        records: consumed.messages,
        payloadBytes: consumed.messages * w.recordBytes,
        wireBytes: null,
        mbPerS: (consumed.messages * w.recordBytes) / MB / consumed.elapsedS,
        recordsPerS: consumed.messages / consumed.elapsedS,
        latency: {},
        broker: usage,
        verification: {
          produced: records,
          consumed: consumed.messages,
          ok,
          detail: ok ? `kcat read back all ${fmtNumber(records)} records` : `kcat read ${consumed.messages} of ${records} records${consumed.error === null ? '' : `: ${consumed.error}`}`,
        },
        errors: consumed.error === null ? {} : { [consumed.error]: 1 },
        settings,
        notes: ['wall-clock time of the kcat process, start-up and metadata included'],
      });
    } finally {
      await this.dropTopic(s, t.topic);
    }
  }

  private async runKafkaPerf(w: WorkloadDefinition, s: Session, rep: number): Promise<void> {
    const tools = this.perfTools!;
    const records = Math.max(1, Math.floor(w.dataBytes / w.recordBytes));
    const t = await this.newTopic(w, s, rep, w.partitions);
    const bootstrap = `${s.target.host}:${s.target.port}`;
    const env = { ...process.env, LOG_DIR: path.join(this.scratchDir, 'perf-logs') };
    const settings = { partitions: t.partitions, records, recordBytes: w.recordBytes, acks: 1, tools: `${tools.home} (${tools.version})` };
    try {
      let startedAt = new Date().toISOString();
      let sampler = this.startSampler(s);
      const prod = await this.withProgress(`${s.target.label} producer-perf-test rep ${rep}`, () => null, () => '', runPerfTool(tools.producer, producerPerfArgs(bootstrap, t.topic, records, w.recordBytes, w.acks), env));
      let usage = this.stopSampler(sampler);
      const p = parseProducerPerf(prod.output);
      this.record(this.base(w, s, rep, 'produce', 'kafka-perf'), {
        startedAt,
        durationS: prod.elapsedS,
        records: p?.records ?? 0,
        payloadBytes: (p?.records ?? 0) * w.recordBytes,
        wireBytes: null,
        mbPerS: p?.mbPerS ?? 0,
        recordsPerS: p?.recordsPerS ?? 0,
        latency: {},
        broker: usage,
        verification: null,
        errors: prod.ok && p !== null ? {} : { [`producer-perf-test: ${prod.output.trim().split('\n').slice(-2).join(' ').slice(0, 200)}`]: 1 },
        settings: p === null ? settings : { ...settings, toolAvgMs: p.avgMs, toolP50Ms: p.p50Ms, toolP95Ms: p.p95Ms, toolP99Ms: p.p99Ms, toolP999Ms: p.p999Ms, toolMaxMs: p.maxMs },
        notes: ["figures as kafka-producer-perf-test reports them (its latency is per record, send to acknowledgement)", ...t.notes],
      });
      if (p === null) return;
      startedAt = new Date().toISOString();
      sampler = this.startSampler(s);
      const cons = await this.withProgress(`${s.target.label} consumer-perf-test rep ${rep}`, () => null, () => '', runPerfTool(tools.consumer, consumerPerfArgs(tools.version, bootstrap, t.topic, records, `strand-bench-${process.pid}-${rep}`), env));
      usage = this.stopSampler(sampler);
      const c = parseConsumerPerf(cons.output);
      const ok = c !== null && c.records >= records;
      this.record(this.base(w, s, rep, 'consume', 'kafka-perf'), {
        startedAt,
        durationS: cons.elapsedS,
        records: c?.records ?? 0,
        payloadBytes: (c?.records ?? 0) * w.recordBytes,
        wireBytes: null,
        mbPerS: c?.mbPerS ?? 0,
        recordsPerS: c?.recordsPerS ?? 0,
        latency: {},
        broker: usage,
        verification: { produced: p.records, consumed: c?.records ?? 0, ok, detail: ok ? 'the perf tool consumed every record' : `consumed ${c?.records ?? 0} of ${records}` },
        errors: cons.ok && c !== null ? {} : { [`consumer-perf-test: ${cons.output.trim().split('\n').slice(-2).join(' ').slice(0, 200)}`]: 1 },
        settings: c?.fetchMbPerS == null ? settings : { ...settings, toolFetchMBps: c.fetchMbPerS },
        notes: ['kafka-consumer-perf-test subscribes through a consumer group; MB/s includes the group join unless fetch MB/s is given'],
      });
    } finally {
      await this.dropTopic(s, t.topic);
    }
  }
}
