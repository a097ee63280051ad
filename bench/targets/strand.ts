// The Strand broker of this checkout, started as a child process the way a user starts it
// (`strand start --override ...`), with a fresh temporary data directory.

import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../options.js';
import { freePort, stopChild, withOpenFileLimit } from './process.js';
import { assertStrandEntry, startStrandChild } from './strand-child.js';
import { parseOverrides, type Target } from './target.js';

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

/** The package version plus the commit of the checkout (and '+dirty' for uncommitted changes). */
export function strandVersion(): string {
  let version = 'unknown';
  try {
    version = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    // keep 'unknown'
  }
  try {
    const commit = execFileSync('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['-C', REPO_ROOT, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    version += ` (${commit}${dirty ? '+dirty' : ''})`;
  } catch {
    // not a git checkout
  }
  return version;
}

/** The server.properties settings the suite gives Strand (`overrides` last). */
export function strandSettings(port: number, dataDir: string, overrides: Record<string, string>): Record<string, string> {
  // group.initial.rebalance.delay.ms=0 as the kafka-home target gets it (the setting
  // Kafka's own single-broker server.properties ships): a new group's first join is not
  // held 3 s on one target and not the other. log.segment.delete.delay.ms=0 as
  // the kafka-home target gets it (see singleBrokerSettings there).
  return { listeners: `PLAINTEXT://127.0.0.1:${port}`, 'log.dirs': dataDir, 'group.initial.rebalance.delay.ms': '0', 'log.segment.delete.delay.ms': '0', ...overrides };
}

export class StrandTarget implements Target {
  readonly kind = 'strand';
  readonly label = 'strand';
  readonly host = '127.0.0.1';
  readonly version = strandVersion();
  private child: ChildProcess | null = null;
  private portNumber = 0;
  private workDir = '';
  readonly settings: Record<string, string> = {};

  constructor(
    private readonly parentDir: string,
    private readonly overrides: readonly string[],
    private readonly keepData: boolean,
    private readonly nofile: number | null = null,
  ) {}

  get port(): number {
    return this.portNumber;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get dataDir(): string | null {
    return this.workDir === '' ? null : path.join(this.workDir, 'data');
  }

  async start(): Promise<void> {
    assertStrandEntry();
    this.workDir = fs.mkdtempSync(path.join(this.parentDir, 'strand-bench-strand-'));
    const dataDir = path.join(this.workDir, 'data');
    fs.mkdirSync(dataDir);
    this.portNumber = await freePort();
    const overrides = parseOverrides(this.overrides);
    const settings = strandSettings(this.portNumber, dataDir, overrides);
    Object.assign(this.settings, settings);
    const logFile = path.join(this.workDir, 'broker.log');
    const logFd = fs.openSync(logFile, 'a');
    this.settings['broker output'] = logFile;
    try {
      if (this.nofile !== null) this.settings['open-file limit'] = String(this.nofile);
      this.child = await startStrandChild({
        port: this.portNumber,
        dataDir,
        // listeners and log.dirs come from port and dataDir
        overrides: settings,
        cwd: this.workDir,
        stdio: ['ignore', logFd, logFd],
        wrap: (command, args) => withOpenFileLimit(this.nofile, command, args),
        readyTimeoutMs: READY_TIMEOUT_MS,
        describe: () => this.logTail(),
      });
    } finally {
      fs.closeSync(logFd);
    }
  }

  async stop(): Promise<void> {
    if (this.child !== null) await stopChild(this.child, STOP_TIMEOUT_MS);
    this.child = null;
    if (this.workDir !== '' && !this.keepData) fs.rmSync(this.workDir, { recursive: true, force: true });
  }

  isRunning(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  logTail(): string {
    try {
      const text = fs.readFileSync(path.join(this.workDir, 'broker.log'), 'utf8');
      return text.slice(-4000);
    } catch {
      return '';
    }
  }
}
