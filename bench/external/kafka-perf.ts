// Apache Kafka's own perf tools (bin/kafka-producer-perf-test.sh and
// bin/kafka-consumer-perf-test.sh of a distribution) as a third driver, run against any
// target. The consumer tool subscribes through a consumer group, so a broker without a
// group coordinator cannot serve it; that shows as an error in its sample.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { runToCompletion } from '../targets/process.js';

export interface PerfTools {
  home: string;
  version: string;
  producer: string;
  consumer: string;
}

export function perfToolsIn(home: string, version: string): PerfTools | null {
  const producer = path.join(home, 'bin', 'kafka-producer-perf-test.sh');
  const consumer = path.join(home, 'bin', 'kafka-consumer-perf-test.sh');
  if (!fs.existsSync(producer) || !fs.existsSync(consumer)) return null;
  return { home, version, producer, consumer };
}

export const PERF_PRODUCER_SETTINGS: Record<string, string> = {
  'batch.size': String(64 * 1024),
  'linger.ms': '5',
};

export function producerPerfArgs(bootstrap: string, topic: string, records: number, recordBytes: number, acks: number): string[] {
  const props = [`bootstrap.servers=${bootstrap}`, `acks=${acks === -1 ? 'all' : acks}`];
  for (const [k, v] of Object.entries(PERF_PRODUCER_SETTINGS)) props.push(`${k}=${v}`);
  return ['--topic', topic, '--num-records', String(records), '--record-size', String(recordBytes), '--throughput', '-1', '--producer-props', ...props];
}

/**
 * The consumer tool named its address option --broker-list before Kafka 2.5 (KIP-499 added
 * --bootstrap-server to the tools).
 */
export function consumerPerfArgs(version: string, bootstrap: string, topic: string, records: number, group: string): string[] {
  const [major, minor] = version.split('.').map((x) => Number.parseInt(x, 10)) as [number, number];
  const addressOption = major > 2 || (major === 2 && minor >= 5) ? '--bootstrap-server' : '--broker-list';
  return [addressOption, bootstrap, '--topic', topic, '--messages', String(records), '--timeout', '60000', '--group', group];
}

export interface ProducerPerfResult {
  records: number;
  recordsPerS: number;
  mbPerS: number;
  avgMs: number;
  maxMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  p999Ms: number;
}

/** The final summary line of kafka-producer-perf-test ("N records sent, R records/sec (M MB/sec), ..."). */
export function parseProducerPerf(output: string): ProducerPerfResult | null {
  const re =
    /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th/g;
  let last: RegExpExecArray | null = null;
  for (let m = re.exec(output); m !== null; m = re.exec(output)) last = m;
  if (last === null) return null;
  const n = last.slice(1).map(Number);
  return { records: n[0]!, recordsPerS: n[1]!, mbPerS: n[2]!, avgMs: n[3]!, maxMs: n[4]!, p50Ms: n[5]!, p95Ms: n[6]!, p99Ms: n[7]!, p999Ms: n[8]! };
}

export interface ConsumerPerfResult {
  mb: number;
  mbPerS: number;
  records: number;
  recordsPerS: number;
  /** Without the group join (newer versions report it separately). */
  fetchMbPerS: number | null;
}

/** The CSV-like header and value lines of kafka-consumer-perf-test, by column name. */
export function parseConsumerPerf(output: string): ConsumerPerfResult | null {
  const lines = output.split('\n').map((l) => l.trim());
  const headerAt = lines.findIndex((l) => l.startsWith('start.time'));
  if (headerAt < 0 || headerAt + 1 >= lines.length) return null;
  const header = lines[headerAt]!.split(',').map((s) => s.trim());
  const values = lines[headerAt + 1]!.split(',').map((s) => s.trim());
  const col = (name: string): number | null => {
    const i = header.indexOf(name);
    if (i < 0 || i >= values.length) return null;
    const v = Number(values[i]);
    return Number.isFinite(v) ? v : null;
  };
  const mb = col('data.consumed.in.MB');
  const mbPerS = col('MB.sec');
  const records = col('data.consumed.in.nMsg');
  const recordsPerS = col('nMsg.sec');
  if (mb === null || mbPerS === null || records === null || recordsPerS === null) return null;
  return { mb, mbPerS, records, recordsPerS, fetchMbPerS: col('fetch.MB.sec') };
}

const PERF_TIMEOUT_MS = 600_000;

export async function runPerfTool(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ ok: boolean; output: string; elapsedS: number }> {
  const start = process.hrtime.bigint();
  const r = await runToCompletion(script, args, { timeoutMs: PERF_TIMEOUT_MS, env });
  return { ok: r.code === 0, output: `${r.stdout}\n${r.stderr}`, elapsedS: Number(process.hrtime.bigint() - start) / 1e9 };
}
