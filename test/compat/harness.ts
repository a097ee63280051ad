// Runs the Strand broker as a child process (the way a user runs it) and kcat as a
// subprocess, for the real-client compatibility tests.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { freePort, killChild, sleep, stopChild } from '../../bench/targets/process.js';
import { assertStrandEntry, OutputTail, startStrandChild } from '../../bench/targets/strand-child.js';

export { freePort, sleep };

const DEFAULT_READY_TIMEOUT_MS = 30_000;
const DEFAULT_STOP_TIMEOUT_MS = 15_000;
const OUTPUT_TAIL_BYTES = 64 * 1024;

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

export async function startBroker(options: BrokerOptions = {}): Promise<BrokerHandle> {
  assertStrandEntry();
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'strand-compat-'));
  const stopTimeoutMs = options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
  const tail = new OutputTail(OUTPUT_TAIL_BYTES);
  let child: ChildProcess | null = null;

  const launch = async (): Promise<void> => {
    child = await startStrandChild({
      port,
      dataDir,
      overrides: options.overrides,
      readyTimeoutMs: options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
      onOutput: (c) => tail.push(c),
      describe: () => tail.toString(),
    });
  };
  const stop = async (): Promise<number | null> => {
    const proc: ChildProcess | null = child;
    child = null;
    return proc === null ? null : stopChild(proc, stopTimeoutMs);
  };

  await launch();
  return {
    bootstrap: `127.0.0.1:${port}`,
    port,
    dataDir,
    output: () => tail.toString(),
    stop,
    kill: async () => {
      const proc: ChildProcess | null = child;
      child = null;
      if (proc !== null) await killChild(proc, stopTimeoutMs);
    },
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
