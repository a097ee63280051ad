// The broker as a child process for the coordinator benchmarks (the load generator must not
// share its event loop), with its log lines parsed and its resident memory readable.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

const BROKER_MAIN = path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.js');

export interface BrokerProcess {
  readonly port: number;
  readonly proc: ChildProcess;
  readonly spawnedAtMs: number;
  /** Resolves with the coordinator's load summary and when (ms since spawn) it was logged. */
  readonly loaded: Promise<{ atMs: number; summary: Record<string, number> }>;
  /** VmRSS of the broker process, in bytes. */
  rssBytes(): number;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => resolve(address.port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startBrokerProcess(dataDir: string, overrides: Record<string, string> = {}): Promise<BrokerProcess> {
  const port = await freePort();
  const args = [BROKER_MAIN, 'start', '--override', `listeners=PLAINTEXT://127.0.0.1:${port}`, '--override', `log.dirs=${dataDir}`];
  for (const [k, v] of Object.entries(overrides)) args.push('--override', `${k}=${v}`);
  const spawnedAtMs = performance.now();
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, STRAND_LOG_LEVEL: 'info' } });
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const loaded = new Promise<{ atMs: number; summary: Record<string, number> }>((resolve, reject) => {
    let pending = '';
    proc.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (!line.includes('loaded the offsets topic')) continue;
        resolve({ atMs: performance.now() - spawnedAtMs, summary: JSON.parse(line) as Record<string, number> });
      }
    });
    proc.once('exit', (code) => reject(new Error(`broker exited (${code}) before loading: ${stderr.slice(-2000)}`)));
  });
  loaded.catch(() => undefined);
  for (let i = 0; i < 600 && !(await canConnect(port)); i++) {
    if (proc.exitCode !== null) throw new Error(`broker exited: ${stderr.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    proc,
    spawnedAtMs,
    loaded,
    rssBytes: () => {
      const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
      const kb = /VmRSS:\s+(\d+) kB/.exec(status);
      return kb === null ? 0 : Number(kb[1]) * 1024;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}
