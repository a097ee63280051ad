// The machine: what it is (cores, memory, kernel, data filesystem), the versions of
// everything involved, and its raw limits measured in the same run: sequential write to
// the data disk, loopback sendfile bandwidth, memory copy, and the storage engine's own
// append and sendfile rates (bench/storage, run as a child process).

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MB, type MachineInfo, type MachineLimit } from './model.js';
import { REPO_ROOT } from './options.js';
import { runToCompletion } from './targets/process.js';

const MiB = 1024 * 1024;

/** The mount that holds `dir` (longest mount point prefix in /proc/mounts), as 'type device on mountpoint'. */
export function filesystemOf(dir: string, mounts: string): string {
  let best: { point: string; text: string } | null = null;
  for (const line of mounts.split('\n')) {
    const [device, point, type] = line.split(' ');
    if (device === undefined || point === undefined || type === undefined) continue;
    const p = point.replace(/\\040/g, ' ');
    if ((dir === p || dir.startsWith(p.endsWith('/') ? p : `${p}/`)) && (best === null || p.length > best.point.length)) {
      best = { point: p, text: `${type} ${device} on ${p}` };
    }
  }
  return best?.text ?? 'unknown';
}

export function machineInfo(dataDir: string): MachineInfo {
  const cpus = os.cpus();
  let mounts = '';
  try {
    mounts = fs.readFileSync('/proc/mounts', 'utf8');
  } catch {
    // not Linux
  }
  return {
    hostname: os.hostname(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    kernel: `${os.type()} ${os.release()} ${os.version()}`,
    os: `${os.platform()} ${os.arch()}`,
    dataDir,
    dataFilesystem: filesystemOf(fs.realpathSync(dataDir), mounts),
    loadAverageAtStart: loadAverage(),
  };
}

export function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

function firstLine(command: string, args: string[]): string | null {
  try {
    const out = execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
    return out.split('\n')[0]!.trim() || null;
  } catch (err) {
    // java -version and some tools print to stderr
    const stderr = (err as { stderr?: string }).stderr;
    return typeof stderr === 'string' && stderr.trim() !== '' ? stderr.split('\n')[0]!.trim() : null;
  }
}

export function toolVersions(): Record<string, string> {
  const out: Record<string, string> = { node: process.version };
  try {
    // kcat -V: a banner, then 'Version 1.7.1 (..., librdkafka 2.0.2 ...)'.
    const text = execFileSync('kcat', ['-V'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
    const line = text.split('\n').find((l) => l.startsWith('Version')) ?? text.split('\n')[0]!;
    out['kcat'] = line.trim().slice(0, 160);
  } catch {
    // not installed
  }
  const python = firstLine('python3', ['--version']);
  if (python !== null) out['python3'] = python;
  try {
    const java = execFileSync('java', ['-version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
    if (java.trim() !== '') out['java'] = java.split('\n')[0]!.trim();
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr;
    if (typeof stderr === 'string' && stderr.trim() !== '') out['java'] = stderr.split('\n')[0]!.trim();
  }
  return out;
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Writes `bytes` in 1 MiB blocks to a file in `dir`; rate without and with the final fdatasync. */
export function measureDiskWrite(dir: string, bytes: number): MachineLimit[] {
  const file = path.join(dir, `strand-bench-disk-${process.pid}.bin`);
  const block = Buffer.alloc(MiB, 0x5a);
  const blocks = Math.max(1, Math.floor(bytes / MiB));
  const fd = fs.openSync(file, 'w');
  try {
    const start = process.hrtime.bigint();
    for (let i = 0; i < blocks; i++) fs.writeSync(fd, block);
    const buffered = seconds(start);
    fs.fdatasyncSync(fd);
    const synced = seconds(start);
    const total = blocks * MiB;
    return [
      {
        name: 'disk sequential write',
        mbPerS: total / MB / buffered,
        method: `${blocks} x 1 MiB write() to ${dir}, page cache (as a broker writes without fsync)`,
        note: '',
      },
      {
        name: 'disk sequential write + fdatasync',
        mbPerS: total / MB / synced,
        method: `the same ${blocks} MiB, timed until fdatasync returned (the device)`,
        note: '',
      },
    ];
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
}

/** Copies a 64 MiB Buffer repeatedly; best of the rounds. */
export function measureMemoryCopy(totalBytes: number): MachineLimit {
  const size = 64 * MiB;
  const src = Buffer.alloc(size, 1);
  const dst = Buffer.alloc(size);
  const rounds = Math.max(2, Math.floor(totalBytes / size));
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    src.copy(dst);
    best = Math.max(best, size / seconds(start));
  }
  return { name: 'memory copy', mbPerS: best / MB, method: `Buffer.copy of 64 MiB, best of ${rounds}`, note: '' };
}

// One python3 process: a thread sends a file with os.sendfile over loopback TCP, the main
// thread receives with recv_into (a copy into user space, as any consumer must) and
// reports bytes per second. Both calls release the GIL.
const SENDFILE_SCRIPT = `
import os, socket, sys, threading, time
path, rounds = sys.argv[1], int(sys.argv[2])
size = os.path.getsize(path)
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(1)
def send():
    conn, _ = srv.accept()
    fd = os.open(path, os.O_RDONLY)
    for _ in range(rounds):
        off = 0
        while off < size:
            off += os.sendfile(conn.fileno(), fd, off, size - off)
    conn.close(); os.close(fd)
t = threading.Thread(target=send); t.start()
c = socket.create_connection(srv.getsockname())
buf = bytearray(1 << 20); view = memoryview(buf); got = 0
start = time.perf_counter()
while True:
    n = c.recv_into(view)
    if n == 0: break
    got += n
elapsed = time.perf_counter() - start
t.join()
print(got, elapsed)
`;

export async function measureLoopbackSendfile(dir: string, fileBytes: number, rounds: number): Promise<MachineLimit> {
  const file = path.join(dir, `strand-bench-sendfile-${process.pid}.bin`);
  const block = Buffer.alloc(MiB, 0x33);
  const fd = fs.openSync(file, 'w');
  for (let i = 0; i < Math.max(1, Math.floor(fileBytes / MiB)); i++) fs.writeSync(fd, block);
  fs.closeSync(fd);
  try {
    const r = await runToCompletion('python3', ['-c', SENDFILE_SCRIPT, file, String(rounds)], { timeoutMs: 120_000 });
    const m = /^(\d+) ([\d.e+-]+)/m.exec(r.stdout);
    if (r.code !== 0 || m === null) {
      return { name: 'loopback sendfile', mbPerS: null, method: 'python3 os.sendfile -> recv_into', note: `not measured: ${(r.stderr || r.stdout).trim().slice(0, 200)}` };
    }
    const got = Number(m[1]);
    const elapsed = Number(m[2]);
    return {
      name: 'loopback sendfile',
      mbPerS: got / MB / elapsed,
      method: `python3: os.sendfile of a ${Math.round(fileBytes / MiB)} MiB cached file x${rounds} over 127.0.0.1 TCP, received with recv_into`,
      note: '',
    };
  } catch (err) {
    return { name: 'loopback sendfile', mbPerS: null, method: 'python3 os.sendfile -> recv_into', note: `not measured: ${(err as Error).message}` };
  } finally {
    fs.rmSync(file, { force: true });
  }
}

/** The lines of bench/storage's output that the suite reads (figures in MiB/s). */
export function parseEngineBench(output: string): {
  appendMBps: number | null;
  sustainedAppendMBps: number | null;
  sustainedAppendLine: string | null;
  sendfileMBps: number | null;
  sendfileLine: string | null;
} {
  const number = (re: RegExp): { value: number; line: string } | null => {
    const m = re.exec(output);
    return m === null ? null : { value: Number(m[1]), line: m[0].trim() };
  };
  const append = number(/^append 64 KiB batches\s+([\d.]+) MB\/s.*$/m);
  const sustained = number(/^append 64 KiB batches, \d+ logs, \d+ MiB\s+([\d.]+) MB\/s.*$/m);
  const send = number(/^fetch 1 MiB x1, splice sink\s+([\d.]+) MB\/s.*$/m) ?? number(/^fetch 1 MiB x1, node sink\s+([\d.]+) MB\/s.*$/m);
  return {
    appendMBps: append?.value ?? null,
    sustainedAppendMBps: sustained?.value ?? null,
    sustainedAppendLine: sustained?.line ?? null,
    sendfileMBps: send?.value ?? null,
    sendfileLine: send?.line ?? null,
  };
}

const ENGINE_BENCH = path.join(REPO_ROOT, 'dist', 'bench', 'storage', 'main.js');

/** Runs bench/storage (the engine's own figures) with its data in `dir`. */
export async function measureEngine(dir: string, sustainedMiB: number): Promise<MachineLimit[]> {
  const missing = (note: string): MachineLimit[] => [
    { name: 'engine append (64 KiB batches)', mbPerS: null, method: 'bench/storage', note },
    { name: 'engine append, sustained', mbPerS: null, method: 'bench/storage', note },
    { name: 'engine sendfile', mbPerS: null, method: 'bench/storage', note },
  ];
  if (!fs.existsSync(ENGINE_BENCH)) return missing(`not measured: ${ENGINE_BENCH} is missing`);
  const r = await runToCompletion(process.execPath, [ENGINE_BENCH], {
    timeoutMs: 300_000,
    env: { ...process.env, STRAND_BENCH_DIR: dir, STRAND_BENCH_SUSTAINED_MIB: String(sustainedMiB) },
  });
  if (r.code !== 0) return missing(`not measured: bench/storage exited ${r.code ?? r.signal}: ${r.stderr.trim().slice(-200)}`);
  const parsed = parseEngineBench(r.stdout);
  return [
    {
      name: 'engine append (64 KiB batches)',
      mbPerS: parsed.appendMBps,
      method: 'bench/storage: Log.append of 64 KiB batches, best of 6 rounds, in-process (no network)',
      note: parsed.appendMBps === null ? 'not found in bench/storage output' : '',
    },
    {
      name: 'engine append, sustained',
      mbPerS: parsed.sustainedAppendMBps,
      method: `bench/storage: ${sustainedMiB} MiB of 64 KiB batches round-robin over 16 logs in one pass, as a produce phase writes them`,
      note: parsed.sustainedAppendLine ?? 'not found in bench/storage output',
    },
    {
      name: 'engine sendfile',
      mbPerS: parsed.sendfileMBps,
      method: 'bench/storage: the engine streaming one log to one consumer connection in 1 MiB reads via sendfile',
      note: parsed.sendfileLine ?? 'not found in bench/storage output',
    },
  ];
}

/**
 * The engine appending `mib` MiB of 64 KiB batches over 16 logs in `dir` on its append
 * threads, logs left there (the caller removes them): the figure a produce phase is paired with.
 */
export async function measureEngineAppendKept(dir: string, mib: number): Promise<{ mbPerS: number | null; note: string }> {
  if (!fs.existsSync(ENGINE_BENCH)) return { mbPerS: null, note: `not measured: ${ENGINE_BENCH} is missing` };
  fs.mkdirSync(dir, { recursive: true });
  const r = await runToCompletion(process.execPath, [ENGINE_BENCH], {
    timeoutMs: 300_000,
    env: { ...process.env, STRAND_BENCH_DIR: dir, STRAND_BENCH_SUSTAINED_MIB: String(mib), STRAND_BENCH_ONLY: 'append-kept' },
  });
  if (r.code !== 0) return { mbPerS: null, note: `not measured: bench/storage exited ${r.code ?? r.signal}: ${r.stderr.trim().slice(-200)}` };
  const m = /^append 64 KiB batches, \d+ logs, \d+ MiB, append threads\s+([\d.]+) MB\/s$/m.exec(r.stdout);
  return m === null ? { mbPerS: null, note: 'not found in bench/storage output' } : { mbPerS: Number(m[1]), note: m[0] };
}

/**
 * Whether this is a VM whose balloon device reports freed memory to the host (virtio
 * feature VIRTIO_BALLOON_F_REPORTING). There, memory freed a few seconds ago is handed back
 * and faulted in again on its next use: writes into new page-cache pages cost several
 * times more CPU than right after a delete (measured here: 4,993 MB/s 1 s after freeing
 * 3 GiB, 931 MB/s after 10 s).
 */
export function freePageReporting(root = '/sys/bus/virtio/devices'): boolean {
  try {
    for (const dev of fs.readdirSync(root)) {
      const id = fs.readFileSync(path.join(root, dev, 'device'), 'utf8').trim();
      if (id !== '0x0005') continue; // virtio-balloon
      const features = fs.readFileSync(path.join(root, dev, 'features'), 'utf8').trim();
      if (features[5] === '1') return true;
    }
  } catch {
    // no virtio bus: not such a VM
  }
  return false;
}

/**
 * Writes dirty page-cache data back (sync) so that a produce phase does not start behind
 * the previous phase's writeback: with gigabytes still dirty, page-cache writes cost
 * several times more CPU (measured here: 2,049 MB/s appending 5 GB from a clean state,
 * 458-500 MB/s right after another 5 GB). Every target gets the same clean start.
 */
export async function writeBackDirtyPages(): Promise<void> {
  await runToCompletion('sync', [], { timeoutMs: 120_000, stdio: 'ignore' }).catch(() => undefined);
}

export function dropCaches(): { dropped: boolean; reason: string } {
  try {
    execFileSync('sync', [], { stdio: 'ignore', timeout: 60_000 });
    fs.writeFileSync('/proc/sys/vm/drop_caches', '1');
    return { dropped: true, reason: 'sync; echo 1 > /proc/sys/vm/drop_caches' };
  } catch (err) {
    return { dropped: false, reason: `page cache not dropped (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): not cold` };
  }
}
