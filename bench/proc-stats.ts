// The broker's CPU time and memory, read from /proc/<pid>/stat and /proc/<pid>/status.
// Peak RSS of a sample: the kernel's high-water mark (VmHWM) after resetting it through
// /proc/<pid>/clear_refs ("5") when that is permitted, and in any case the largest VmRSS
// seen by polling, so a sample never reports the peak of an earlier one.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import type { BrokerUsage } from './model.js';

let clockTicks: number | null = null;

/** Clock ticks per second (utime/stime unit); 100 on almost every Linux. */
export function clockTicksPerSecond(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** utime + stime in ticks from the text of /proc/<pid>/stat (the name field may hold spaces). */
export function parseStatCpuTicks(stat: string): number {
  const afterName = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after the name start at field 3 (state); utime is field 14, stime 15.
  const utime = Number(afterName[14 - 3]);
  const stime = Number(afterName[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('unexpected /proc/<pid>/stat layout');
  return utime + stime;
}

/** A `VmXxx:  1234 kB` field of /proc/<pid>/status in bytes (null when absent). */
export function parseStatusKb(status: string, field: string): number | null {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
  return m === null ? null : Number(m[1]) * 1024;
}

/** VmRSS of a process in KiB, or null when it is gone. */
export function rssKiB(pid: number): number | null {
  try {
    const rss = parseStatusKb(fs.readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS');
    return rss === null ? null : rss / 1024;
  } catch {
    return null;
  }
}

export function readCpuSeconds(pid: number): number {
  return parseStatCpuTicks(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')) / clockTicksPerSecond();
}

export function readStatus(pid: number): { rss: number; hwm: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rss: parseStatusKb(status, 'VmRSS') ?? 0, hwm: parseStatusKb(status, 'VmHWM') ?? 0 };
}

const POLL_INTERVAL_MS = 100;

/** Watches one process for the length of a sample. */
export class ProcessSampler {
  private readonly startCpuS: number;
  private readonly hwmReset: boolean;
  private peakRss = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    this.startCpuS = readCpuSeconds(pid);
    let reset = false;
    try {
      fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
      reset = true;
    } catch {
      reset = false;
    }
    this.hwmReset = reset;
    this.poll();
    this.timer = setInterval(() => this.poll(), POLL_INTERVAL_MS);
    this.timer.unref();
  }

  private poll(): void {
    try {
      this.peakRss = Math.max(this.peakRss, readStatus(this.pid).rss);
    } catch {
      // The process ended; stop() reports what was seen.
    }
  }

  stop(): BrokerUsage {
    clearInterval(this.timer);
    this.poll();
    const status = readStatus(this.pid);
    const peak = this.hwmReset ? Math.max(this.peakRss, status.hwm) : this.peakRss;
    return {
      cpuS: readCpuSeconds(this.pid) - this.startCpuS,
      peakRssBytes: peak,
      endRssBytes: status.rss,
      peakMethod: this.hwmReset ? 'hwm-reset' : 'sampled',
    };
  }
}

/** A sampler when the pid is known and readable, else null (bootstrap targets without pid=). */
export function sampleProcess(pid: number | null): ProcessSampler | null {
  if (pid === null) return null;
  try {
    return new ProcessSampler(pid);
  } catch {
    return null;
  }
}
