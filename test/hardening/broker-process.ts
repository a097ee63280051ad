// The broker as a child process for the hardening harnesses: like test/compat/harness.ts,
// plus what these harnesses need: the pid (to read VmRSS from /proc and to SIGKILL it), a
// data directory that outlives the process (crash cycles), exit watching (a fuzzer must
// notice the moment the broker dies) and a count of the broker's log lines by level.

import type { ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../../bench/options.js';
import { rssKiB } from '../../bench/proc-stats.js';
import { freePort, killChild, sleep, stopChild } from '../../bench/targets/process.js';
import { assertStrandEntry, OutputTail, startStrandChild } from '../../bench/targets/strand-child.js';

export { freePort, rssKiB, sleep };

const OUTPUT_TAIL_BYTES = 64 * 1024;

/**
 * Copies the built broker (dist/ and the native addon; node_modules linked) to a temporary
 * directory and returns the CLI entry there. Long harness runs restart the broker hundreds of
 * times: a rebuild of the shared dist/ in the middle must not swap the code under them.
 */
export function snapshotBuild(): { entry: string; dir: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'strand-build-snapshot-'));
  cpSync(path.join(REPO_ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
  mkdirSync(path.join(dir, 'build', 'Release'), { recursive: true });
  cpSync(path.join(REPO_ROOT, 'build', 'Release', 'strand.node'), path.join(dir, 'build', 'Release', 'strand.node'));
  cpSync(path.join(REPO_ROOT, 'package.json'), path.join(dir, 'package.json'));
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return { entry: path.join(dir, 'dist', 'src', 'cli', 'main.js'), dir };
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when this harness sent the signal (kill() or stop()). */
  expected: boolean;
}

export interface BrokerProcessOptions {
  /** Extra server.properties overrides. */
  overrides?: Record<string, string>;
  /** Reuse a data directory (crash cycles); by default a fresh temporary one. */
  dataDir?: string;
  /** Reuse a port (restarts); by default a free one. */
  port?: number;
  /** STRAND_LOG_LEVEL for the child (default: the broker's own default). */
  logLevel?: string;
  readyTimeoutMs?: number;
  /** Extra node flags for the child, e.g. ['--max-old-space-size=256']. */
  nodeFlags?: string[];
  /** The CLI entry to run (default: dist/src/cli/main.js of this repository, or STRAND_BROKER_ENTRY). */
  entry?: string;
}

/** One broker process. start() again after an exit to restart on the same port and dir. */
export class BrokerProcess {
  readonly port: number;
  readonly dataDir: string;
  private readonly options: BrokerProcessOptions;
  private child: ChildProcess | null = null;
  private readonly tail = new OutputTail(OUTPUT_TAIL_BYTES);
  private partialLine = '';
  private expectedExit = false;
  private exitListeners: Array<(info: ExitInfo) => void> = [];
  private lineListeners: Array<(entry: Record<string, unknown>) => void> = [];
  /** Log lines seen, by pino level number (30 info, 40 warn, 50 error, 60 fatal). */
  readonly linesByLevel = new Map<number, number>();
  /** Exits of earlier runs of this process object, for the record. */
  readonly exits: ExitInfo[] = [];
  starts = 0;

  private constructor(port: number, dataDir: string, options: BrokerProcessOptions) {
    this.port = port;
    this.dataDir = dataDir;
    this.options = options;
  }

  static async create(options: BrokerProcessOptions = {}): Promise<BrokerProcess> {
    assertStrandEntry(options.entry);
    const port = options.port ?? (await freePort());
    const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'strand-hardening-'));
    return new BrokerProcess(port, dataDir, options);
  }

  /** Creates and starts a broker. */
  static async launch(options: BrokerProcessOptions = {}): Promise<BrokerProcess> {
    const broker = await BrokerProcess.create(options);
    await broker.start();
    return broker;
  }

  get bootstrap(): string {
    return `127.0.0.1:${this.port}`;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  rssKiB(): number | null {
    const pid = this.pid;
    return pid === null ? null : rssKiB(pid);
  }

  output(): string {
    return this.tail.toString();
  }

  /** Called with every parsed log line of level warn (40) or above. */
  onLogLine(listener: (entry: Record<string, unknown>) => void): void {
    this.lineListeners.push(listener);
  }

  /** Called once when the current process exits, whoever caused it. */
  onExit(listener: (info: ExitInfo) => void): void {
    this.exitListeners.push(listener);
  }

  private record(chunk: Buffer): void {
    this.tail.push(chunk);
    // Count pino lines by level without parsing JSON on every line.
    const text = this.partialLine + chunk.toString('utf8');
    const lines = text.split('\n');
    this.partialLine = lines.pop() ?? '';
    if (this.partialLine.length > 4096) this.partialLine = '';
    for (const line of lines) {
      const m = /^\{"level":(\d+)/.exec(line);
      const level = m === null ? 0 : Number(m[1]);
      this.linesByLevel.set(level, (this.linesByLevel.get(level) ?? 0) + 1);
      if ((level >= 40 || level === 0) && this.lineListeners.length > 0 && line.trim() !== '') {
        let entry: Record<string, unknown>;
        try {
          entry = level === 0 ? { level: 0, msg: line } : (JSON.parse(line) as Record<string, unknown>);
        } catch {
          entry = { level, msg: line };
        }
        for (const l of this.lineListeners) l(entry);
      }
    }
  }

  /** Starts the process and waits until it accepts connections. Throws if it exits first. */
  async start(): Promise<void> {
    if (this.running) throw new Error('broker already running');
    const env = { ...process.env };
    if (this.options.logLevel !== undefined) env['STRAND_LOG_LEVEL'] = this.options.logLevel;
    this.expectedExit = false;
    this.starts += 1;
    try {
      await startStrandChild({
        port: this.port,
        dataDir: this.dataDir,
        overrides: this.options.overrides,
        entry: this.options.entry,
        nodeFlags: this.options.nodeFlags,
        env,
        readyTimeoutMs: this.options.readyTimeoutMs ?? 30_000,
        onOutput: (c) => this.record(c),
        onSpawn: (proc) => {
          this.child = proc;
          proc.once('exit', (code, signal) => {
            const info: ExitInfo = { code, signal, expected: this.expectedExit };
            this.exits.push(info);
            for (const l of this.exitListeners.splice(0)) l(info);
          });
        },
        describe: () => this.output().slice(-8000),
      });
    } catch (err) {
      // killed by the launcher after a start-up timeout (an exit on its own was recorded as unexpected)
      this.expectedExit = true;
      throw err;
    }
  }

  /** SIGKILL, as a crash would, and wait for the exit. */
  async kill(): Promise<void> {
    const proc = this.child;
    if (proc === null) return;
    this.expectedExit = true;
    await killChild(proc, 15_000);
  }

  /** SIGTERM and wait; SIGKILL after timeoutMs. Returns the exit code (null when it had to be killed). */
  async stop(timeoutMs = 15_000): Promise<number | null> {
    const proc = this.child;
    if (proc === null) return null;
    this.expectedExit = true;
    return stopChild(proc, timeoutMs);
  }

  /** stop() and remove the data directory. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Samples a process's VmRSS on an interval, keeping the maximum and a coarse timeline. */
export class RssSampler {
  maxKiB = 0;
  firstKiB: number | null = null;
  lastKiB: number | null = null;
  readonly samples: Array<{ atMs: number; kiB: number }> = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly startedAt = Date.now();

  constructor(private readonly pid: () => number | null, private readonly intervalMs = 200) {}

  sample(): number | null {
    const pid = this.pid();
    if (pid === null) return null;
    const kiB = rssKiB(pid);
    if (kiB === null) return null;
    if (this.firstKiB === null) this.firstKiB = kiB;
    this.lastKiB = kiB;
    if (kiB > this.maxKiB) this.maxKiB = kiB;
    // Keep at most ~2000 points: thin out by halves when full.
    this.samples.push({ atMs: Date.now() - this.startedAt, kiB });
    if (this.samples.length > 2000) {
      const kept = this.samples.filter((_, i) => i % 2 === 0);
      this.samples.length = 0;
      this.samples.push(...kept);
    }
    return kiB;
  }

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.sample();
  }
}
