// Child processes of the suite (brokers, ZooKeeper, tools): free ports, waiting for a
// port, stopping with SIGTERM then SIGKILL, and a guard that kills whatever is still
// running if the suite itself exits.

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import * as net from 'node:net';

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/** Spawns a child that is SIGKILLed if the suite exits while it still runs. */
export function spawnTracked(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  installExitHook();
  const child = spawn(command, args, options);
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.once('error', () => live.delete(child));
  return child;
}

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
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

export function canConnect(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
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

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Waits until host:port accepts connections; throws if `child` exits first or time runs out. */
export async function waitForPort(host: string, port: number, timeoutMs: number, child: ChildProcess | null, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child !== null && hasExited(child)) {
      throw new Error(`process exited (code ${child.exitCode}, signal ${child.signalCode}) before listening on ${host}:${port}\n${describe()}`);
    }
    if (await canConnect(host, port)) return;
    if (Date.now() > deadline) throw new Error(`nothing listened on ${host}:${port} within ${timeoutMs} ms\n${describe()}`);
    await sleep(100);
  }
}

export function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
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

/**
 * SIGTERM, then SIGKILL after timeoutMs. Resolves when the process is gone, with its exit
 * code (null when it ended by a signal or had to be killed).
 */
export async function stopChild(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (!hasExited(child)) {
    child.kill('SIGTERM');
    if (!(await waitForExit(child, timeoutMs))) {
      child.kill('SIGKILL');
      await waitForExit(child, timeoutMs);
      return null;
    }
  }
  return child.exitCode;
}

/** SIGKILL, as a crash would, and wait for the exit. */
export async function killChild(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (hasExited(child)) return;
  child.kill('SIGKILL');
  await waitForExit(child, timeoutMs);
}

/** Runs a command to completion with a time bound; resolves with its exit code and output. */
export function runToCompletion(
  command: string,
  args: readonly string[],
  options: SpawnOptions & { timeoutMs: number },
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawnTracked(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    child.stderr!.on('data', (c: Buffer) => err.push(c));
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), timedOut });
    });
  });
}

/**
 * The command and arguments that run `command args` with the open-file limit set to
 * `nofile` (through sh's ulimit, then exec, so the pid stays the program's); unchanged when null.
 */
export function withOpenFileLimit(nofile: number | null, command: string, args: readonly string[]): { command: string; args: string[] } {
  if (nofile === null) return { command, args: [...args] };
  return { command: '/bin/sh', args: ['-c', `ulimit -n ${nofile} && exec "$0" "$@"`, command, ...args] };
}
