// The broker as a child process for the load and exhaustion tests and benches: resource
// limits set on it (prlimit: RLIMIT_NOFILE, RLIMIT_FSIZE), a preloaded library (a slow
// disk), a data directory chosen by the caller (a small tmpfs), and what these harnesses
// measure from outside: VmRSS and open descriptors from /proc, and the broker's log lines.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const BROKER_MAIN = process.env.STRAND_BROKER_ENTRY ?? path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const OUTPUT_KEEP_BYTES = 1024 * 1024;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('no port from listen(0)'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** VmRSS of a process in KiB, or null when it is gone. */
export function rssKiB(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}

/** Open descriptors of a process, or null when it is gone. */
export function fdCount(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/** Memory maps of a process (lines of /proc/pid/maps), or null when it is gone. */
export function mapCount(pid: number): number | null {
  try {
    return readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').filter((l) => l !== '').length;
  } catch {
    return null;
  }
}

function canConnect(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Whether prlimit(1) is there (util-linux); the exhaustion tests need it and say so. */
export function hasPrlimit(): boolean {
  return spawnSync('prlimit', ['--version'], { stdio: 'ignore' }).status === 0;
}

export interface LoadBrokerOptions {
  /** server.properties overrides. */
  overrides?: Record<string, string>;
  /** Data directory (default: a new one under the temp dir, removed by dispose()). */
  dataDir?: string;
  /** Extra environment (e.g. STRAND_LOG_MAX_OPEN_SEGMENTS, LD_PRELOAD). */
  env?: Record<string, string>;
  /** RLIMIT_NOFILE soft and hard (prlimit --nofile=N:N). */
  nofile?: number;
  /** RLIMIT_FSIZE soft limit in bytes, hard unlimited (prlimit --fsize=N:unlimited). */
  fsizeBytes?: number;
  readyTimeoutMs?: number;
  stopTimeoutMs?: number;
}

export interface LoadBroker {
  readonly port: number;
  readonly bootstrap: string;
  readonly dataDir: string;
  /** The broker process's pid (prlimit execs the broker, so it is the child's). */
  pid(): number;
  /** Everything the broker printed so far (the last MiB). */
  output(): string;
  /** The broker's log lines (pino JSON) whose msg contains `text`. */
  logLines(text: string): Array<Record<string, unknown>>;
  rssKiB(): number;
  fdCount(): number;
  mapCount(): number;
  /** True while the process runs. */
  alive(): boolean;
  /** SIGTERM and wait (SIGKILL after stopTimeoutMs); the exit code, null if killed. */
  stop(): Promise<number | null>;
  /** stop() and start again on the same port and data directory (limits as given now). */
  restart(next?: Pick<LoadBrokerOptions, 'nofile' | 'fsizeBytes' | 'env'>): Promise<void>;
  /** stop() and remove the data directory if this helper made it. */
  dispose(): Promise<void>;
}

const liveChildren = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, timeoutMs);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

export async function startLoadBroker(options: LoadBrokerOptions = {}): Promise<LoadBroker> {
  if (!existsSync(BROKER_MAIN)) throw new Error(`broker entry point ${BROKER_MAIN} is missing: npm run build first`);
  const port = await freePort();
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'strand-load-'));
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 20_000;
  let limits = { nofile: options.nofile, fsizeBytes: options.fsizeBytes, env: options.env };
  let out = '';
  let child: ChildProcess | null = null;

  const args = ['start', '--override', `listeners=PLAINTEXT://127.0.0.1:${port}`, '--override', `log.dirs=${dataDir}`];
  for (const [key, value] of Object.entries(options.overrides ?? {})) args.push('--override', `${key}=${value}`);

  const launch = async (): Promise<void> => {
    const limitArgs: string[] = [];
    if (limits.nofile !== undefined) limitArgs.push(`--nofile=${limits.nofile}:${limits.nofile}`);
    if (limits.fsizeBytes !== undefined) limitArgs.push(`--fsize=${limits.fsizeBytes}:unlimited`);
    const command = limitArgs.length > 0 ? 'prlimit' : process.execPath;
    const argv = limitArgs.length > 0 ? [...limitArgs, '--', process.execPath, BROKER_MAIN, ...args] : [BROKER_MAIN, ...args];
    const proc = spawn(command, argv, {
      cwd: dataDir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, STRAND_LOG_LEVEL: process.env.STRAND_LOG_LEVEL ?? 'info', ...limits.env },
    });
    child = proc;
    liveChildren.add(proc);
    const keep = (c: Buffer): void => {
      out += c.toString('utf8');
      if (out.length > OUTPUT_KEEP_BYTES * 2) out = out.slice(-OUTPUT_KEEP_BYTES);
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    proc.once('exit', () => liveChildren.delete(proc));
    const deadline = Date.now() + readyTimeoutMs;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`broker exited (code ${proc.exitCode}, signal ${proc.signalCode}) before listening:\n${out.slice(-8000)}`);
      }
      if (await canConnect(port, 1_000)) return;
      await sleep(100);
    }
    proc.kill('SIGKILL');
    throw new Error(`broker did not listen on ${port} within ${readyTimeoutMs} ms:\n${out.slice(-8000)}`);
  };

  const current = (): ChildProcess => {
    if (child === null) throw new Error('the broker is not running');
    return child;
  };

  const stop = async (): Promise<number | null> => {
    const proc: ChildProcess | null = child;
    if (proc === null) return null;
    child = null;
    if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
    proc.kill('SIGTERM');
    if (!(await waitForExit(proc, stopTimeoutMs))) {
      proc.kill('SIGKILL');
      await waitForExit(proc, stopTimeoutMs);
      return null;
    }
    return proc.exitCode;
  };

  await launch();
  const pid = (): number => current().pid!;
  return {
    port,
    bootstrap: `127.0.0.1:${port}`,
    dataDir,
    pid,
    output: () => out,
    logLines: (text) => {
      const lines: Array<Record<string, unknown>> = [];
      for (const line of out.split('\n')) {
        if (!line.startsWith('{') || !line.includes(text)) continue;
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          if (typeof parsed.msg === 'string' && parsed.msg.includes(text)) lines.push(parsed);
        } catch {
          // a partial line at the end of the capture
        }
      }
      return lines;
    },
    rssKiB: () => rssKiB(pid()) ?? -1,
    fdCount: () => fdCount(pid()) ?? -1,
    mapCount: () => mapCount(pid()) ?? -1,
    alive: () => child !== null && child.exitCode === null && child.signalCode === null,
    stop,
    restart: async (next) => {
      await stop();
      if (next !== undefined) limits = { ...limits, ...next };
      await launch();
    },
    dispose: async () => {
      await stop();
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
