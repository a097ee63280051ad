// Log cleaner benchmarks. Run: node dist/bench/cleaner/main.js [--gib N] [--seconds S]
//
// 1. Throughput: a log of N GiB (default 1) of keyed records, uncompressed, and smaller lz4 and
//    zstd logs, each cleaned once by one piscina worker (one core). Printed: MB of log cleaned
//    per second of wall time, and per CPU-second of the whole process (the worker's core).
//    The engine's swap of the cleaned files (validation and indexing) is timed apart.
// 2. Produce latency under compaction: a broker process with an N GiB dirty compacted topic
//    (written with the storage API while the broker is down). kafkajs produces small batches
//    at a fixed rate to another topic, first with the cleaner idle (min.cleanable.dirty.ratio
//    1: never), then while the N GiB clean runs (ratio lowered by AlterConfigs). Printed:
//    p50/p99/max of both and the p99 ratio (the target is below 1.5).

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { Piscina } from 'piscina';
import { buildRecordBatch, Log, readCheckpoint } from '../../src/storage/index.js';
import type { CleanResult, CleanTask } from '../../src/workers/cleaner-task.js';
import { compress } from '../../src/workers/codecs.js';
import type { CompressionCodecId } from '../../src/workers/codecs.js';
import { crc32c } from '../../src/protocol/crc32c.js';

const MiB = 1024 * 1024;
const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const WORKER = path.join(REPO_ROOT, 'dist', 'src', 'workers', 'cleaner-worker.js');
const SEGMENT_BYTES = 64 * MiB;

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
}

interface Workload {
  name: string;
  bytes: number;
  codec: CompressionCodecId;
  recordsPerBatch: number;
  valueBytes: number;
  keys: number;
}

/** Fills `dir` with a log of about `w.bytes` of keyed batches: key i % keys, values of valueBytes. */
async function writeLog(dir: string, w: Workload): Promise<Log> {
  const log = Log.open(dir, { segmentBytes: SEGMENT_BYTES, fileDeleteDelayMs: 0 });
  // Half random hex, half a repeated byte: compressible about 2:1, like typical JSON-ish values.
  const value = Buffer.alloc(w.valueBytes, 0x61);
  let seq = 0;
  // Keys are spread so that each key is overwritten evenly across the log.
  while (log.sizeBytes < w.bytes) {
    const records = [];
    for (let i = 0; i < w.recordsPerBatch; i++, seq++) {
      const key = `key-${(seq * 2654435761) % w.keys}`;
      value.write(randomBytes(Math.floor(w.valueBytes / 4)).toString('hex'), 0, 'latin1');
      value.write(String(seq).padStart(12, '0'), 0);
      records.push({ key, value: Buffer.from(value), timestamp: 1_700_000_000_000 + seq });
    }
    const plain = buildRecordBatch(records);
    log.append(w.codec === 0 ? plain : await compressBatch(plain, w.codec));
  }
  log.roll();
  return log;
}

async function compressBatch(plain: Buffer, codec: CompressionCodecId): Promise<Buffer> {
  const section = await compress(codec, plain.subarray(61));
  const out = Buffer.alloc(61 + section.length);
  plain.copy(out, 0, 0, 61);
  section.copy(out, 61);
  out.writeInt32BE(out.length - 12, 8);
  out.writeInt16BE(plain.readInt16BE(21) | codec, 21);
  out.writeUInt32BE(crc32c(out, 21, out.length), 17);
  return out;
}

function taskFor(log: Log): CleanTask {
  const segments = log.segments();
  const active = segments[segments.length - 1]!;
  return {
    dir: log.dir,
    segments: segments.slice(0, -1).map((s) => ({ baseOffset: s.baseOffset, sizeBytes: s.sizeBytes })),
    activeBaseOffset: active.baseOffset,
    logStartOffset: log.logStartOffset,
    firstDirtyOffset: log.logStartOffset,
    firstUncleanableOffset: active.baseOffset,
    nowMs: Date.now(),
    deleteRetentionMs: 86_400_000,
    maxSegmentBytes: SEGMENT_BYTES,
    segmentIndexBytes: 10 * MiB,
    indexIntervalBytes: 4096,
    dedupeBufferBytes: 128 * MiB, // log.cleaner.dedupe.buffer.size, one thread
    dedupeLoadFactor: 0.9,
    ioBufferBytes: 256 * 1024,
    ioMaxBytesPerSecond: Number.POSITIVE_INFINITY,
  };
}

async function throughput(root: string, pool: Piscina, w: Workload): Promise<void> {
  const dir = path.join(root, `${w.name}-0`);
  const log = await writeLog(dir, w);
  const input = log.segments().reduce((a, s) => a + s.sizeBytes, 0);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = (await pool.run(taskFor(log))) as CleanResult;
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const t1 = performance.now();
  for (const g of result.groups) await log.replaceSegmentsAsync(g.baseOffsets, g.cleanedPath);
  const swapS = (performance.now() - t1) / 1000;
  const s = result.stats;
  console.log(
    `${w.name.padEnd(34)} ${(input / MiB).toFixed(0).padStart(5)} MiB  ${(input / MiB / wallS).toFixed(1).padStart(6)} MB/s wall` +
      `  ${(input / MiB / cpuS).toFixed(1).padStart(6)} MB/CPU-s  records ${s.recordsRead} -> ${s.recordsRetained}` +
      `  out ${(s.bytesWritten / MiB).toFixed(1)} MiB  swap ${swapS.toFixed(2)} s (${(s.bytesWritten / MiB / Math.max(swapS, 1e-6)).toFixed(0)} MB/s)`,
  );
  await log.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

// ---- produce latency under compaction ------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

async function startBroker(port: number, dataDir: string, out: string[]): Promise<ChildProcess> {
  const overrides = {
    listeners: `PLAINTEXT://127.0.0.1:${port}`,
    'log.dirs': dataDir,
    'log.cleaner.backoff.ms': '200',
    'log.segment.delete.delay.ms': '0',
    'group.initial.rebalance.delay.ms': '0',
  };
  const args = [CLI, 'start'];
  for (const [k, v] of Object.entries(overrides)) args.push('--override', `${k}=${v}`);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, STRAND_LOG_LEVEL: 'info' } });
  child.stdout!.on('data', (d: Buffer) => out.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => out.push(d.toString()));
  for (let i = 0; i < 600; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`broker did not start:\n${out.join('')}`);
}

async function stopBroker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Sends one 10-record batch every `intervalMs` until `until()` is true; returns latencies (ms). */
async function produceAtRate(kafka: Kafka, topic: string, intervalMs: number, until: () => boolean): Promise<number[]> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const latencies: number[] = [];
  const value = 'p'.repeat(100);
  let next = performance.now();
  let seq = 0;
  try {
    while (!until()) {
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const t = performance.now();
      await producer.send({ topic, acks: 1, messages: Array.from({ length: 10 }, () => ({ key: `p${seq++ % 1000}`, value })) });
      latencies.push(performance.now() - t);
      next += intervalMs;
      if (next < performance.now() - 100) next = performance.now(); // fell behind: do not burst
    }
  } finally {
    await producer.disconnect();
  }
  return latencies;
}

function summary(latencies: number[]): { p50: number; p99: number; max: number; n: number } {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1]!, n: sorted.length };
}

async function latencyUnderCompaction(root: string, gib: number, seconds: number): Promise<void> {
  const dataDir = path.join(root, 'broker');
  fs.mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  const out: string[] = [];
  let broker = await startBroker(port, dataDir, out);
  const kafka = new Kafka({ clientId: 'bench-cleaner', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const compacted = 'bench-compacted';
  await admin.createTopics({
    topics: [
      {
        topic: compacted,
        numPartitions: 1,
        configEntries: [
          { name: 'cleanup.policy', value: 'compact' },
          { name: 'segment.bytes', value: String(SEGMENT_BYTES) },
          { name: 'min.cleanable.dirty.ratio', value: '1' },
        ],
      },
    ],
  });
  await admin.createTopics({ topics: [{ topic: 'bench-produce', numPartitions: 1 }] });
  await admin.disconnect();
  await stopBroker(broker);

  // The dirty log, written straight into the broker's partition directory while it is down.
  const w: Workload = { name: 'latency', bytes: gib * 1024 * MiB, codec: 0, recordsPerBatch: 10, valueBytes: 100, keys: 1_000_000 };
  const log = await writeLog(path.join(dataDir, `${compacted}-0`), w);
  const dirtyBytes = log.sizeBytes;
  await log.close();

  out.length = 0;
  broker = await startBroker(port, dataDir, out);
  const admin2 = kafka.admin();
  await admin2.connect();
  const intervalMs = 4; // 250 sends/s, 2500 records/s
  const idleEnd = performance.now() + seconds * 1000;
  const idle = summary(await produceAtRate(kafka, 'bench-produce', intervalMs, () => performance.now() > idleEnd));

  const checkpointFile = path.join(dataDir, 'cleaner-offset-checkpoint');
  const cleaned = (): boolean => {
    try {
      return (readCheckpoint(checkpointFile).get(`${compacted}-0`) ?? 0) > 0;
    } catch {
      return false;
    }
  };
  const t0 = performance.now();
  await admin2.alterConfigs({
    validateOnly: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: compacted, configEntries: [
      { name: 'cleanup.policy', value: 'compact' },
      { name: 'segment.bytes', value: String(SEGMENT_BYTES) },
      { name: 'min.cleanable.dirty.ratio', value: '0.01' },
    ] }],
  });
  const busy = summary(await produceAtRate(kafka, 'bench-produce', intervalMs, cleaned));
  const cleanS = (performance.now() - t0) / 1000;
  await admin2.disconnect();
  await stopBroker(broker);

  const line = out.join('').split('\n').find((l) => l.includes('"log cleaned"') && l.includes(compacted));
  const stats = line === undefined ? null : (JSON.parse(line) as { bytesRead: number; bytesWritten: number; durationMs: number });
  const fmt = (s: ReturnType<typeof summary>) => `p50 ${s.p50.toFixed(2)} ms  p99 ${s.p99.toFixed(2)} ms  max ${s.max.toFixed(1)} ms  (${s.n} sends)`;
  console.log(`produce, cleaner idle                ${fmt(idle)}`);
  console.log(`produce, ${(dirtyBytes / 1024 / MiB).toFixed(2)} GiB compaction running  ${fmt(busy)}`);
  console.log(`p99 ratio (busy / idle)              ${(busy.p99 / idle.p99).toFixed(2)}  (target < 1.5)`);
  if (stats !== null) {
    console.log(
      `in-broker clean: ${(dirtyBytes / MiB).toFixed(0)} MiB in ${(stats.durationMs / 1000).toFixed(1)} s worker time` +
        ` (${(dirtyBytes / MiB / (stats.durationMs / 1000)).toFixed(1)} MB/s), ${cleanS.toFixed(1)} s to swapped and checkpointed`,
    );
  }
}

async function main(): Promise<void> {
  const gib = arg('gib', 1);
  const seconds = arg('seconds', 15);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'strand-bench-cleaner-'));
  console.log(`log cleaner bench: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), node ${process.version}`);
  try {
    const pool = new Piscina({ filename: WORKER, minThreads: 1, maxThreads: 1 });
    const workloads: Workload[] = [
      { name: 'uncompressed 10x100 B, 1M keys', bytes: gib * 1024 * MiB, codec: 0, recordsPerBatch: 10, valueBytes: 100, keys: 1_000_000 },
      { name: 'uncompressed 1x1 KiB, 100k keys', bytes: Math.min(gib, 0.25) * 1024 * MiB, codec: 0, recordsPerBatch: 1, valueBytes: 1024, keys: 100_000 },
      { name: 'lz4 50x100 B, 1M keys', bytes: Math.min(gib, 0.25) * 1024 * MiB, codec: 3, recordsPerBatch: 50, valueBytes: 100, keys: 1_000_000 },
      { name: 'zstd 50x100 B, 1M keys', bytes: Math.min(gib, 0.25) * 1024 * MiB, codec: 4, recordsPerBatch: 50, valueBytes: 100, keys: 1_000_000 },
    ];
    console.log('-- cleaner throughput, one worker thread --');
    for (const w of workloads) await throughput(root, pool, w);
    await pool.destroy();
    console.log('-- produce latency while compacting --');
    await latencyUnderCompaction(root, gib, seconds);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
