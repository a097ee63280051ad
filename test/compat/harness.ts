// Runs the Strand broker as a child process (the way a user runs it) and kcat as a
// subprocess, for the real-client compatibility tests.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
// STRAND_BROKER_ENTRY points the suite at another build of the CLI (same arguments).
const BROKER_MAIN = process.env.STRAND_BROKER_ENTRY ?? path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

const DEFAULT_READY_TIMEOUT_MS = 30_000;
const DEFAULT_STOP_TIMEOUT_MS = 15_000;
const OUTPUT_TAIL_BYTES = 64 * 1024;

/** Asks the kernel for a free port on 127.0.0.1 (closed again before returning). */
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

/** Keeps the last `limit` bytes of a stream, so a failing test can show the broker's log. */
class OutputTail {
  private chunks: Buffer[] = [];
  private bytes = 0;
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.bytes > this.limit && this.chunks.length > 1) this.bytes -= this.chunks.shift()!.length;
  }
  toString(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export interface BrokerOptions {
  /** Extra server.properties overrides, e.g. { 'num.partitions': '3' }. */
  overrides?: Record<string, string>;
  readyTimeoutMs?: number;
  stopTimeoutMs?: number;
}

export interface BrokerHandle {
  /** host:port for clients. */
  readonly bootstrap: string;
  readonly port: number;
  readonly dataDir: string;
  /** The broker's stdout and stderr so far (the tail), for failure messages. */
  output(): string;
  /** SIGTERM, wait for exit; SIGKILL if it has not exited within stopTimeoutMs. Returns the exit code (null if killed). */
  stop(): Promise<number | null>;
  /** stop() then start again on the same port and data dir. */
  restart(): Promise<void>;
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /** stop() and remove the data dir. */
  dispose(): Promise<void>;
}

const liveChildren = new Set<ChildProcess>();
process.once('exit', () => {
  // A test process that dies must not leave brokers behind.
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

export async function startBroker(options: BrokerOptions = {}): Promise<BrokerHandle> {
  if (!existsSync(BROKER_MAIN)) {
    throw new Error(`broker entry point ${BROKER_MAIN} is missing: build with \`npx tsc -p tsconfig.json\` first`);
  }
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'strand-compat-'));
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const stopTimeoutMs = options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
  const tail = new OutputTail(OUTPUT_TAIL_BYTES);
  let child: ChildProcess | null = null;

  const args = ['start', '--override', `listeners=PLAINTEXT://127.0.0.1:${port}`, '--override', `log.dirs=${dataDir}`];
  for (const [key, value] of Object.entries(options.overrides ?? {})) args.push('--override', `${key}=${value}`);

  const launch = async (): Promise<void> => {
    const proc = spawn(process.execPath, [BROKER_MAIN, ...args], { cwd: dataDir, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    liveChildren.add(proc);
    proc.stdout!.on('data', (c: Buffer) => tail.push(c));
    proc.stderr!.on('data', (c: Buffer) => tail.push(c));
    proc.once('exit', () => liveChildren.delete(proc));
    const deadline = Date.now() + readyTimeoutMs;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`broker exited (code ${proc.exitCode}, signal ${proc.signalCode}) before listening:\n${tail.toString()}`);
      }
      if (await canConnect(port, 1_000)) return;
      await sleep(100);
    }
    proc.kill('SIGKILL');
    throw new Error(`broker did not accept connections on 127.0.0.1:${port} within ${readyTimeoutMs} ms:\n${tail.toString()}`);
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

  const kill = async (): Promise<void> => {
    const proc: ChildProcess | null = child;
    if (proc === null) return;
    child = null;
    proc.kill('SIGKILL');
    await waitForExit(proc, stopTimeoutMs);
  };

  await launch();
  return {
    bootstrap: `127.0.0.1:${port}`,
    port,
    dataDir,
    output: () => tail.toString(),
    stop,
    kill,
    restart: async () => {
      await stop();
      await launch();
    },
    dispose: async () => {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// ---- kcat ----------------------------------------------------------------------------

export interface KcatResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: Buffer;
  stderr: string;
}

export interface KcatOptions {
  /** Bytes written to kcat's stdin (stdin is closed after them). */
  input?: Buffer | string;
  timeoutMs?: number;
}

export const KCAT_MISSING_MESSAGE =
  'kcat is not installed: the compatibility tests need it (Debian/Ubuntu: `apt-get install -y kcat`)';

/** Runs kcat with a bound on its run time; never resolves with a missing binary, it rejects. */
export function runKcat(args: readonly string[], options: KcatOptions = {}): Promise<KcatResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const proc = spawn('kcat', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      proc.kill('SIGKILL');
    }, timeoutMs);
    proc.stdout.on('data', (c: Buffer) => stdout.push(c));
    proc.stderr.on('data', (c: Buffer) => stderr.push(c));
    proc.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(e.code === 'ENOENT' ? new Error(KCAT_MISSING_MESSAGE) : e);
    });
    proc.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ exitCode, signal, timedOut, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString('utf8') });
    });
    proc.stdin.on('error', () => {
      // kcat may exit before reading all of stdin; its exit code tells the story.
    });
    if (options.input !== undefined) proc.stdin.end(options.input);
    else proc.stdin.end();
  });
}

/** runKcat that throws, with kcat's stderr, unless kcat exited 0 in time. */
export async function kcatOk(args: readonly string[], options: KcatOptions = {}): Promise<KcatResult> {
  const result = await runKcat(args, options);
  if (result.timedOut || result.exitCode !== 0) {
    throw new Error(
      `kcat ${args.join(' ')} ${result.timedOut ? 'timed out' : `exited ${result.exitCode ?? result.signal}`}:\n${result.stderr.slice(-4000)}`,
    );
  }
  return result;
}

/** Throws KCAT_MISSING_MESSAGE when kcat cannot be run: call it in `before` so the failure is clear. */
export async function requireKcat(): Promise<void> {
  const result = await runKcat(['-V'], { timeoutMs: 10_000 });
  if (result.exitCode !== 0) throw new Error(`${KCAT_MISSING_MESSAGE} (kcat -V exited ${result.exitCode})`);
}

/** Polls `check` until it returns true; throws with `what` after timeoutMs. */
export async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

let topicCounter = 0;
/** A topic name unique within this run of the tests. */
export function uniqueTopic(prefix: string): string {
  topicCounter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${topicCounter}`;
}
