// Command-line options of `npm run bench -- [options] [targets]`.

import * as os from 'node:os';
import * as path from 'node:path';

export type TargetSpec =
  | { kind: 'strand' }
  | { kind: 'bootstrap'; host: string; port: number; pid: number | null }
  | { kind: 'kafka-home'; dir: string };

export interface BenchOptions {
  help: boolean;
  list: boolean;
  quick: boolean;
  targets: TargetSpec[];
  /** Workload names or kinds; null = all of the mode. */
  workloads: string[] | null;
  repetitions: number;
  /** Length of one timed produce phase. */
  durationMs: number;
  /** Start of a produce phase left out of its rate (connections, JIT, first segment). */
  warmupMs: number;
  /** Outstanding produce requests are abandoned (and counted as errors) this long after a phase ends. */
  drainGraceMs: number;
  /** Upper bound of the bytes one produce phase writes (keeps disk use and read-back time bounded). */
  maxBytesPerPhase: number;
  catchupBytes: number | null;
  externalBytes: number | null;
  /** Worker threads of the load generator, per role (producers, consumers). */
  driverThreads: number;
  producerConnections: number;
  consumerConnections: number;
  /** Produce requests in flight per connection. */
  inflight: number;
  /** Offered load of the latency workload (MB/s); null = half each target's acks=1 peak. */
  latencyRateMBps: number | null;
  lingerMs: number;
  outDir: string;
  /** Parent of the temporary data directories (the "data disk"). */
  dataDir: string;
  machineLimits: boolean;
  engineBaseline: boolean;
  /**
   * Pause before every write phase (after the dirty-page writeback), or null: 10 s where the
   * VM hands freed memory back to its host (virtio-balloon free page reporting), else 0.
   */
  settleMs: number | null;
  /** Pair each throughput repetition with an engine-only append run just before it. */
  pairEngine: boolean;
  dropCaches: boolean;
  strandOverrides: string[];
  kafkaOverrides: string[];
  kafkaHeapOpts: string | null;
  /** Directory of an Apache Kafka distribution whose perf tools to use (default: the first kafka-home target). */
  kafkaTools: string | null;
  progress: 'auto' | 'on' | 'off';
  /** Open-file limit (ulimit -n) for brokers the suite starts; null = inherited. */
  nofile: number | null;
  /** No per-sample lines and no final table (the files are still written). */
  quiet: boolean;
  keepData: boolean;
}

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export const USAGE = `usage: npm run bench -- [options] [target ...]
       strand bench [options] [target ...]

targets (any number; default: strand):
  strand                  start Strand from this checkout (fresh temporary data dir)
  bootstrap=HOST:PORT     a running Kafka-compatible broker (add ,pid=N for its CPU and memory)
  kafka-home=DIR          start Apache Kafka from an unpacked binary distribution
                          (KRaft for 3.x and later, bundled ZooKeeper for 2.x), stop it afterwards

options:
  --list                  list the workloads and exit
  --quick                 smoke run: 1 repetition, short phases, small data (< 2 minutes)
  --workloads=a,b         workload names or kinds (see --list)
  --repetitions=N         repetitions per workload and target (default 3; quick 1)
  --duration=8s           length of a produce phase (default 8s; quick 2s)
  --warmup=1s             start of a produce phase not counted in its rate (default 1s; quick 0.5s)
  --drain-grace=15s       produce requests still unanswered this long after a phase ends are
                          abandoned and counted as errors (default 15s; quick 3s)
  --max-bytes=4GiB        most bytes one produce phase writes (default 4GiB; quick 1GiB)
  --catchup-bytes=2GiB    data for the catch-up read (default 2GiB; quick 256MiB)
  --external-bytes=256MiB data per kcat / Kafka perf-tool run (default 256MiB; quick 32MiB)
  --driver-threads=N      load generator worker threads per role (default: half the cores, at least 1)
  --producer-connections=N  (default 4)    --consumer-connections=N (default 4)
  --inflight=N            produce requests in flight per connection (default 5)
  --latency-rate=MB/s     offered load of the latency workload (default: half each target's peak)
  --linger-ms=N           batch interval of the latency workload (default 2)
  --out=DIR               where the JSON and HTML go (default bench/results)
  --data-dir=DIR          parent of the temporary broker data dirs (default: the OS temp dir)
  --no-machine-limits     skip the disk / sendfile / memory-copy measurements
  --no-engine             skip the storage engine baseline (bench/storage)
  --pair-engine           before each throughput repetition, the engine alone appends a phase's
                          budget through its append threads; that phase is read against it
  --settle=10s            pause before every write phase, after writing dirty pages back
                          (default 10s where the VM reports freed memory to its host, else 0)
  --no-drop-caches        never drop the page cache (catch-up "cold" is then labelled not cold)
  --strand-override=k=v   server.properties override for the strand target (repeatable)
  --kafka-override=k=v    server.properties override for kafka-home targets (repeatable)
  --kafka-heap="-Xmx1G -Xms1G"  KAFKA_HEAP_OPTS for kafka-home targets (default: the scripts' own)
  --kafka-tools=DIR       Kafka distribution whose perf tools to run (default: first kafka-home)
  --progress / --no-progress  progress bar (default: when stdout is a terminal)
  --nofile=N              open-file limit (ulimit -n) of the brokers the suite starts; raising it
                          above the hard limit needs root. 10,000 partitions need several per partition
  --quiet                 print nothing but the paths of the files written
  --keep-data             keep the temporary data dirs
`;

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };

/** Bytes from '2GiB', '256MiB', '64KiB' or a plain number of bytes. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m?.[2]?.toLowerCase();
  if (m === null || unit === undefined || !(unit in SIZE_UNITS)) {
    throw new Error(`'${text}' is not a size (use bytes or KiB, MiB, GiB: 256MiB)`);
  }
  return Math.round(Number(m[1]) * SIZE_UNITS[unit]!);
}

const DURATION_UNITS: Record<string, number> = { '': 1, ms: 1, s: 1000, m: 60_000 };

/** Milliseconds from '8s', '500ms', '2m' or a plain number of milliseconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|)\s*$/i.exec(text);
  if (m === null) throw new Error(`'${text}' is not a duration (use 500ms, 8s, 2m)`);
  return Math.round(Number(m[1]) * DURATION_UNITS[m[2]!.toLowerCase()]!);
}

function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} needs a positive integer, not '${text}'`);
  return n;
}

export function parseTarget(text: string): TargetSpec {
  if (text === 'strand') return { kind: 'strand' };
  const eq = text.indexOf('=');
  const key = eq < 0 ? text : text.slice(0, eq);
  const value = eq < 0 ? '' : text.slice(eq + 1);
  if (key === 'kafka-home') {
    if (value === '') throw new Error('kafka-home= needs the directory of an unpacked Kafka distribution');
    return { kind: 'kafka-home', dir: path.resolve(value) };
  }
  if (key === 'bootstrap') {
    const [address, ...extras] = value.split(',');
    const m = /^(.+):(\d+)$/.exec(address ?? '');
    if (m === null) throw new Error(`bootstrap= needs HOST:PORT, not '${value}'`);
    let pid: number | null = null;
    for (const extra of extras) {
      const pm = /^pid=(\d+)$/.exec(extra);
      if (pm === null) throw new Error(`unknown bootstrap option '${extra}' (known: pid=N)`);
      pid = Number(pm[1]);
    }
    return { kind: 'bootstrap', host: m[1]!, port: Number(m[2]), pid };
  }
  throw new Error(`unknown target '${text}' (strand, bootstrap=HOST:PORT, kafka-home=DIR)`);
}

export function defaultOptions(quick: boolean): BenchOptions {
  const cores = os.availableParallelism();
  return {
    help: false,
    list: false,
    quick,
    targets: [],
    workloads: null,
    repetitions: quick ? 1 : 3,
    durationMs: quick ? 2000 : 8000,
    warmupMs: quick ? 500 : 1000,
    drainGraceMs: quick ? 3000 : 15000,
    maxBytesPerPhase: quick ? 1024 ** 3 : 4 * 1024 ** 3,
    catchupBytes: null,
    externalBytes: null,
    driverThreads: Math.max(1, Math.floor(cores / 2)),
    producerConnections: 4,
    consumerConnections: 4,
    inflight: 5,
    latencyRateMBps: null,
    lingerMs: 2,
    outDir: path.join(REPO_ROOT, 'bench', 'results'),
    dataDir: os.tmpdir(),
    machineLimits: true,
    engineBaseline: true,
    settleMs: null,
    pairEngine: false,
    dropCaches: true,
    strandOverrides: [],
    kafkaOverrides: [],
    kafkaHeapOpts: null,
    kafkaTools: null,
    progress: 'auto',
    quiet: false,
    nofile: null,
    keepData: false,
  };
}

/** Parses argv (without node and script). Defaults depend on --quick wherever it appears. */
export function parseOptions(argv: readonly string[]): BenchOptions {
  const opts = defaultOptions(argv.includes('--quick'));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      opts.targets.push(parseTarget(arg));
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const inline = eq < 0 ? undefined : arg.slice(eq + 1);
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined) throw new Error(`--${name} needs a value`);
      return next;
    };
    switch (name) {
      case 'help':
      case 'h':
        opts.help = true;
        break;
      case 'list':
        opts.list = true;
        break;
      case 'quick':
        break;
      case 'target':
        opts.targets.push(parseTarget(value()));
        break;
      case 'workloads':
      case 'workload':
        opts.workloads = [...(opts.workloads ?? []), ...value().split(',').map((s) => s.trim()).filter((s) => s !== '')];
        break;
      case 'repetitions':
        opts.repetitions = positiveInt(name, value());
        break;
      case 'duration':
        opts.durationMs = parseDuration(value());
        break;
      case 'warmup':
        opts.warmupMs = parseDuration(value());
        break;
      case 'drain-grace':
        opts.drainGraceMs = parseDuration(value());
        break;
      case 'max-bytes':
        opts.maxBytesPerPhase = parseSize(value());
        break;
      case 'catchup-bytes':
        opts.catchupBytes = parseSize(value());
        break;
      case 'external-bytes':
        opts.externalBytes = parseSize(value());
        break;
      case 'driver-threads':
        opts.driverThreads = positiveInt(name, value());
        break;
      case 'producer-connections':
        opts.producerConnections = positiveInt(name, value());
        break;
      case 'consumer-connections':
        opts.consumerConnections = positiveInt(name, value());
        break;
      case 'inflight':
        opts.inflight = positiveInt(name, value());
        break;
      case 'latency-rate': {
        const rate = Number(value());
        if (!(rate > 0)) throw new Error('--latency-rate needs a positive MB/s figure');
        opts.latencyRateMBps = rate;
        break;
      }
      case 'linger-ms':
        opts.lingerMs = positiveInt(name, value());
        break;
      case 'out':
        opts.outDir = path.resolve(value());
        break;
      case 'data-dir':
        opts.dataDir = path.resolve(value());
        break;
      case 'no-machine-limits':
        opts.machineLimits = false;
        break;
      case 'no-engine':
        opts.engineBaseline = false;
        break;
      case 'pair-engine':
        opts.pairEngine = true;
        break;
      case 'settle':
        opts.settleMs = parseDuration(value());
        break;
      case 'no-drop-caches':
        opts.dropCaches = false;
        break;
      case 'strand-override':
        opts.strandOverrides.push(value());
        break;
      case 'kafka-override':
        opts.kafkaOverrides.push(value());
        break;
      case 'kafka-heap':
        opts.kafkaHeapOpts = value();
        break;
      case 'kafka-tools':
        opts.kafkaTools = path.resolve(value());
        break;
      case 'progress':
        opts.progress = 'on';
        break;
      case 'no-progress':
        opts.progress = 'off';
        break;
      case 'nofile':
        opts.nofile = positiveInt(name, value());
        break;
      case 'quiet':
        opts.quiet = true;
        break;
      case 'keep-data':
        opts.keepData = true;
        break;
      default:
        throw new Error(`unknown option --${name} (see --help)`);
    }
  }
  if (opts.targets.length === 0) opts.targets.push({ kind: 'strand' });
  if (opts.warmupMs >= opts.durationMs) throw new Error('--warmup must be shorter than --duration');
  for (const o of [...opts.strandOverrides, ...opts.kafkaOverrides]) {
    if (!/^[^=]+=/.test(o)) throw new Error(`override '${o}' is not key=value`);
  }
  return opts;
}
