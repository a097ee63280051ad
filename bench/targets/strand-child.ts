// A Strand broker as a child process, started the way a user starts it (`strand start
// --override ...`): the one launcher behind the suite's strand target and the test
// harnesses (compat, load, hardening), which add their own views of the process on top.

import type { ChildProcess, StdioOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../options.js';
import { spawnTracked, waitForPort } from './process.js';

/** The CLI entry: this checkout's build, or STRAND_BROKER_ENTRY (another build, same arguments). */
export const STRAND_ENTRY = process.env.STRAND_BROKER_ENTRY ?? path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

export interface StrandChildOptions {
  port: number;
  dataDir: string;
  /** server.properties overrides after listeners and log.dirs. */
  overrides?: Readonly<Record<string, string>>;
  /** The CLI entry (default STRAND_ENTRY). */
  entry?: string;
  /** Node flags before the entry, e.g. ['--max-old-space-size=256']. */
  nodeFlags?: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Default: stdout and stderr piped to onOutput. */
  stdio?: StdioOptions;
  /** Wraps the command (prlimit, ulimit) in a way that keeps the broker's pid the child's. */
  wrap?: (command: string, args: string[]) => { command: string; args: string[] };
  readyTimeoutMs: number;
  /** Every chunk of the broker's stdout and stderr (when piped). */
  onOutput?: (chunk: Buffer) => void;
  /** Called at once with the new process, before it is ready (exit watchers). */
  onSpawn?: (child: ChildProcess) => void;
  /** What to add to a start-up failure's message (the broker's output so far). */
  describe: () => string;
}

/** Throws unless the CLI entry exists: callers check before they make ports and dirs. */
export function assertStrandEntry(entry: string = STRAND_ENTRY): void {
  if (!fs.existsSync(entry)) throw new Error(`broker entry point ${entry} is missing: run \`npm run build\` first`);
}

/** The `strand start` arguments for a broker on 127.0.0.1:port with data in dataDir. */
export function strandStartArgs(port: number, dataDir: string, overrides: Readonly<Record<string, string>> = {}): string[] {
  const args = ['start', '--override', `listeners=PLAINTEXT://127.0.0.1:${port}`, '--override', `log.dirs=${dataDir}`];
  for (const [key, value] of Object.entries(overrides)) {
    if (key === 'listeners' || key === 'log.dirs') continue;
    args.push('--override', `${key}=${value}`);
  }
  return args;
}

/**
 * Starts the broker and waits until it accepts connections. Throws (the process killed)
 * when it exits first or does not listen within readyTimeoutMs. The child is SIGKILLed if
 * this process exits while it runs.
 */
export async function startStrandChild(o: StrandChildOptions): Promise<ChildProcess> {
  const args = [...(o.nodeFlags ?? []), o.entry ?? STRAND_ENTRY, ...strandStartArgs(o.port, o.dataDir, o.overrides)];
  const launch = o.wrap === undefined ? { command: process.execPath, args } : o.wrap(process.execPath, args);
  const child = spawnTracked(launch.command, launch.args, { cwd: o.cwd ?? o.dataDir, env: o.env ?? process.env, stdio: o.stdio ?? ['ignore', 'pipe', 'pipe'] });
  if (o.onOutput !== undefined) {
    child.stdout?.on('data', o.onOutput);
    child.stderr?.on('data', o.onOutput);
  }
  o.onSpawn?.(child);
  try {
    await waitForPort('127.0.0.1', o.port, o.readyTimeoutMs, child, o.describe);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return child;
}

/** Keeps the last `limitBytes` of a process's output, for failure messages. */
export class OutputTail {
  private chunks: Buffer[] = [];
  private bytes = 0;
  constructor(private readonly limitBytes: number) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.bytes > this.limitBytes && this.chunks.length > 1) this.bytes -= this.chunks.shift()!.length;
  }
  toString(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}
