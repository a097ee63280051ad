// Storage benchmarks. Each figure is printed next to a baseline measured in the same run,
// as a ratio: CRC-32C vs a JS table, append vs fs.writeSync of the same bytes to the same
// disk, sendfile vs read-into-Buffer + socket.write. Run: node dist/bench/storage/main.js
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildRecordBatch, crc32cJs, Log, readRegions, sendRegions } from '../../src/storage/index.js';
import { nativeAddon } from '../../src/storage/native.js';

const MiB = 1024 * 1024;

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function line(name: string, value: number, unit: string, baseline: number, baselineName: string): void {
  const ratio = value / baseline;
  console.log(`${name.padEnd(44)} ${value.toFixed(2).padStart(9)} ${unit.padEnd(5)} vs ${baselineName.padEnd(24)} ${baseline.toFixed(2).padStart(9)} ${unit.padEnd(5)} => ${ratio.toFixed(2)}x`);
}

/** Best of `rounds` runs of fn, as bytes per second. */
function bestRate(rounds: number, bytes: number, fn: () => void): number {
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    fn();
    best = Math.max(best, bytes / seconds(start));
  }
  return best;
}

function benchCrc(): void {
  const addon = nativeAddon();
  const data = Buffer.alloc(4 * MiB);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
  let sink = 0;
  const native = bestRate(5, data.length * 64, () => {
    for (let i = 0; i < 64; i++) sink ^= addon.crc32c(data);
  });
  const js = bestRate(3, data.length * 2, () => {
    for (let i = 0; i < 2; i++) sink ^= crc32cJs(data);
  });
  if (sink === 0.5) console.log(sink); // keep the loops observable
  line('crc32c 4 MiB (native)', native / 1e9, 'GB/s', js / 1e9, 'JS table');
}

async function benchAppend(dir: string, batchBytes: number, totalBytes: number): Promise<void> {
  const value = Buffer.alloc(batchBytes - 80, 0x61);
  const batch = buildRecordBatch([{ key: null, value }]);
  const count = Math.floor(totalBytes / batch.length);
  const bytes = count * batch.length;
  let logRate = 0;
  let writeRate = 0;
  const appendRound = async (round: number) => {
    const log = Log.open(path.join(dir, `append-${batchBytes}-${round}`));
    const start = process.hrtime.bigint();
    for (let i = 0; i < count; i++) log.append(batch);
    logRate = Math.max(logRate, bytes / seconds(start));
    await log.delete();
  };
  const writeRound = (round: number) => {
    const file = path.join(dir, `write-${batchBytes}-${round}.bin`);
    const fd = fs.openSync(file, 'w');
    const start = process.hrtime.bigint();
    for (let i = 0; i < count; i++) fs.writeSync(fd, batch);
    writeRate = Math.max(writeRate, bytes / seconds(start));
    fs.closeSync(fd);
    fs.rmSync(file);
  };
  // Alternate which side goes first: the page cache favours whoever runs on a fresh state.
  for (let round = 0; round < 6; round++) {
    if (round % 2 === 0) {
      await appendRound(round);
      writeRound(round);
    } else {
      writeRound(round);
      await appendRound(round);
    }
  }
  line(`append ${batchBytes / 1024} KiB batches`, logRate / MiB, 'MB/s', writeRate / MiB, 'fs.writeSync same bytes');
}

/** One 64 KiB batch, and how many of it make up `totalBytes`. */
function batches64KiB(totalBytes: number): { batch: Buffer; count: number } {
  const batch = buildRecordBatch([{ key: null, value: Buffer.alloc(64 * 1024 - 80, 0x61) }]);
  return { batch, count: Math.floor(totalBytes / batch.length) };
}

/**
 * The same append, sustained: `totalBytes` spread round-robin over `logs` logs in one pass,
 * as a broker's produce phase writes them (dirty-page writeback and fresh page-cache pages
 * included, which a 256 MiB burst never meets). Baseline: fs.writeSync to as many files.
 */
async function benchAppendSustained(dir: string, logs: number, totalBytes: number): Promise<void> {
  const { batch, count } = batches64KiB(totalBytes);
  const bytes = count * batch.length;
  const opened = Array.from({ length: logs }, (_, i) => Log.open(path.join(dir, `sustained-${i}`)));
  let start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) opened[i % logs]!.append(batch);
  const logRate = bytes / seconds(start);
  await Promise.all(opened.map((l) => l.delete()));
  const fds = Array.from({ length: logs }, (_, i) => fs.openSync(path.join(dir, `sustained-${i}.bin`), 'w'));
  start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) fs.writeSync(fds[i % logs]!, batch);
  const writeRate = bytes / seconds(start);
  for (let i = 0; i < logs; i++) {
    fs.closeSync(fds[i]!);
    fs.rmSync(path.join(dir, `sustained-${i}.bin`));
  }
  line(`append 64 KiB batches, ${logs} logs, ${Math.round(bytes / MiB)} MiB`, logRate / MiB, 'MB/s', writeRate / MiB, 'fs.writeSync same bytes');
}

/**
 * The engine's own top append rate, for the suite to pair with a produce phase: `totalBytes`
 * of 64 KiB batches over `logs` logs through appendAsync (the append threads a broker uses,
 * a few appends in flight per log). The logs are left in `dir`, closed, for the caller: the
 * suite deletes them before the phase's pause, a test reads them back.
 */
async function benchAppendKept(dir: string, logs: number, totalBytes: number): Promise<void> {
  const { batch, count } = batches64KiB(totalBytes);
  const opened = Array.from({ length: logs }, (_, i) => Log.open(path.join(dir, `kept-${i}`)));
  const drive = async (log: Log, appends: number): Promise<void> => {
    const inFlight: Array<Promise<unknown>> = [];
    for (let i = 0; i < appends; i++) {
      inFlight.push(log.appendAsync(batch));
      if (inFlight.length >= 4) await inFlight.shift();
    }
    await Promise.all(inFlight);
  };
  const start = process.hrtime.bigint();
  await Promise.all(opened.map((log, i) => drive(log, Math.floor(count / logs) + (i < count % logs ? 1 : 0))));
  const rate = (count * batch.length) / seconds(start);
  await Promise.all(opened.map((l) => l.close()));
  console.log(`append 64 KiB batches, ${logs} logs, ${Math.round((count * batch.length) / MiB)} MiB, append threads ${(rate / MiB).toFixed(2).padStart(9)} MB/s`);
}

// Consumers in their own process, so neither side of the comparison shares its event loop.
// Preferred: python3 splicing socket -> pipe -> /dev/null, which copies nothing, so the
// figure is the sender's cost rather than the consumer's. Fallback: Node reading into one
// reusable buffer (net's onread), which caps both sides at the consumer's copy speed.
const SPLICE_SINK = `
import os, socket, sys, threading
port, n = int(sys.argv[1]), int(sys.argv[2])
null = os.open('/dev/null', os.O_WRONLY)
def drain(s):
    r, w = os.pipe()
    try:
        while True:
            got = os.splice(s.fileno(), w, 1 << 20)
            if got == 0:
                break
            while got:
                got -= os.splice(r, null, got)
    except OSError:
        pass
threads = [threading.Thread(target=drain, args=(socket.create_connection(('127.0.0.1', port)),)) for _ in range(n)]
for t in threads: t.start()
for t in threads: t.join()
`;

function nodeSinkScript(port: number, connections: number): string {
  return `
    const net = require('node:net');
    const buffer = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (let i = 0; i < ${connections}; i++) {
      const s = net.connect({ port: ${port}, host: '127.0.0.1', onread: { buffer, callback: () => true } });
      s.on('error', () => {});
    }
  `;
}

function hasSpliceSink(): boolean {
  const probe = spawnSync('python3', ['-c', 'import os; assert hasattr(os, "splice")'], { stdio: 'ignore' });
  return probe.status === 0;
}

/** Starts `count` consumer connections in a child process; returns the broker-side sockets. */
async function startSinks(count: number, sinkKind: 'splice' | 'node'): Promise<{ sockets: net.Socket[]; stop: () => Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sockets: net.Socket[] = [];
  const all = new Promise<void>((resolve) => {
    server.on('connection', (s) => {
      sockets.push(s);
      if (sockets.length === count) resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  const child = sinkKind === 'splice'
    ? spawn('python3', ['-c', SPLICE_SINK, String(port), String(count)], { stdio: 'inherit' })
    : spawn(process.execPath, ['-e', nodeSinkScript(port, count)], { stdio: 'inherit' });
  await all;
  return {
    sockets,
    stop: async () => {
      for (const s of sockets) s.destroy();
      child.kill();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function cpuSeconds(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

/** Streams the whole log to `consumers` connections at once, in fetches of `fetchBytes`. */
async function benchSend(
  dir: string,
  totalBytes: number,
  fetchBytes: number,
  consumers: number,
  sinkKind: 'splice' | 'node',
): Promise<void> {
  const log = Log.open(path.join(dir, `send-${consumers}`));
  const batch = buildRecordBatch([{ value: Buffer.alloc(64 * 1024 - 80, 0x62) }]);
  while (log.sizeBytes < totalBytes) log.append(batch);
  const size = log.sizeBytes * consumers;
  const rounds = 3;
  const sinks = await startSinks(rounds * 2 * consumers, sinkKind);
  const rates = { send: 0, copy: 0 };
  const cpus = { send: Number.POSITIVE_INFINITY, copy: Number.POSITIVE_INFINITY };

  const stream = async (socket: net.Socket, method: 'send' | 'copy') => {
    for (let offset = 0; offset < log.logEndOffset; ) {
      const { regions, bytes } = log.read(offset, fetchBytes);
      if (method === 'send') {
        await sendRegions(socket, regions);
      } else {
        for (const buf of readRegions(regions)) {
          if (!socket.write(buf)) await new Promise((r) => socket.once('drain', r));
        }
      }
      offset += bytes / batch.length; // one record per batch, all the same size
    }
    if (method === 'copy') await new Promise<void>((r) => socket.write(Buffer.alloc(0), () => r()));
  };

  try {
    let next = 0;
    for (let round = 0; round < rounds; round++) {
      for (const method of ['send', 'copy'] as const) {
        const sockets = sinks.sockets.slice(next, next + consumers);
        next += consumers;
        const cpu = process.cpuUsage();
        const start = process.hrtime.bigint();
        await Promise.all(sockets.map((socket) => stream(socket, method)));
        rates[method] = Math.max(rates[method], size / seconds(start));
        cpus[method] = Math.min(cpus[method], cpuSeconds(cpu));
      }
    }
  } finally {
    await sinks.stop();
    await log.delete();
  }
  const label = `fetch ${fetchBytes / MiB} MiB x${consumers}, ${sinkKind} sink`;
  line(`${label}`, rates.send / MiB, 'MB/s', rates.copy / MiB, 'read into Buffer + write');
  // Bytes moved per CPU-second of this process (the sendfile thread included).
  line(`${label}, per CPU-s`, size / cpus.send / MiB, 'MB/s', size / cpus.copy / MiB, 'read into Buffer + write');
}

async function main(): Promise<void> {
  if (process.env.STRAND_BENCH_ONLY === 'append-kept') {
    const dir = process.env.STRAND_BENCH_DIR;
    if (dir === undefined) throw new Error('STRAND_BENCH_ONLY=append-kept needs STRAND_BENCH_DIR');
    await benchAppendKept(dir, 16, Number(process.env.STRAND_BENCH_SUSTAINED_MIB ?? 2048) * MiB);
    return;
  }
  const dir = fs.mkdtempSync(path.join(process.env.STRAND_BENCH_DIR ?? os.tmpdir(), 'strand-bench-'));
  console.log(`strand storage bench: ${os.cpus().length} cpus, node ${process.version}, dir ${dir}`);
  try {
    benchCrc();
    await benchAppend(dir, 1024, 64 * MiB);
    await benchAppend(dir, 64 * 1024, 256 * MiB);
    const sustainedMiB = Number(process.env.STRAND_BENCH_SUSTAINED_MIB ?? 2048);
    if (sustainedMiB > 0) await benchAppendSustained(dir, 16, sustainedMiB * MiB);
    const sink = hasSpliceSink() ? 'splice' : 'node';
    await benchSend(dir, 512 * MiB, MiB, 1, sink);
    await benchSend(dir, 256 * MiB, MiB, 4, sink);
    if (sink === 'splice') await benchSend(dir, 256 * MiB, MiB, 4, 'node');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
