// The broker as a child process for the load and exhaustion tests and benches: resource
// limits set on it (prlimit: RLIMIT_NOFILE, RLIMIT_FSIZE), a preloaded library (a slow
// disk), a data directory chosen by the caller (a small tmpfs), and what these harnesses
// measure from outside: VmRSS and open descriptors from /proc, and the broker's log lines.

import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { rssKiB } from '../../bench/proc-stats.js';
import { freePort, sleep, stopChild } from '../../bench/targets/process.js';
import { assertStrandEntry, OutputTail, startStrandChild } from '../../bench/targets/strand-child.js';

export { freePort, rssKiB, sleep };

const OUTPUT_KEEP_BYTES = 1024 * 1024;

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

export async function startLoadBroker(options: LoadBrokerOptions = {}): Promise<LoadBroker> {
  assertStrandEntry();
  const port = await freePort();
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'strand-load-'));
  const stopTimeoutMs = options.stopTimeoutMs ?? 20_000;
  let limits = { nofile: options.nofile, fsizeBytes: options.fsizeBytes, env: options.env };
  const out = new OutputTail(OUTPUT_KEEP_BYTES);
  let child: ChildProcess | null = null;

  const launch = async (): Promise<void> => {
    const limitArgs: string[] = [];
    if (limits.nofile !== undefined) limitArgs.push(`--nofile=${limits.nofile}:${limits.nofile}`);
    if (limits.fsizeBytes !== undefined) limitArgs.push(`--fsize=${limits.fsizeBytes}:unlimited`);
    child = await startStrandChild({
      port,
      dataDir,
      overrides: options.overrides,
      env: { ...process.env, STRAND_LOG_LEVEL: process.env.STRAND_LOG_LEVEL ?? 'info', ...limits.env },
      // prlimit execs the broker, so the pid stays the broker's
      wrap: limitArgs.length > 0 ? (command, args) => ({ command: 'prlimit', args: [...limitArgs, '--', command, ...args] }) : undefined,
      readyTimeoutMs: options.readyTimeoutMs ?? 60_000,
      onOutput: (c) => out.push(c),
      describe: () => out.toString().slice(-8000),
    });
  };

  const current = (): ChildProcess => {
    if (child === null) throw new Error('the broker is not running');
    return child;
  };

  const stop = async (): Promise<number | null> => {
    const proc: ChildProcess | null = child;
    child = null;
    return proc === null ? null : stopChild(proc, stopTimeoutMs);
  };

  await launch();
  const pid = (): number => current().pid!;
  return {
    port,
    bootstrap: `127.0.0.1:${port}`,
    dataDir,
    pid,
    output: () => out.toString(),
    logLines: (text) => {
      const lines: Array<Record<string, unknown>> = [];
      for (const line of out.toString().split('\n')) {
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
