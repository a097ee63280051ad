// Terminal output: aligned tables and a one-line progress bar for long steps (drawn only
// when stdout is a terminal, or when asked for).

import type { MachineLimit, Sample, SummaryRow } from './model.js';

export function fmtNumber(v: number, digits = 0): string {
  if (!Number.isFinite(v)) return '-';
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function fmtMBps(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return '-';
  return v >= 100 ? fmtNumber(v, 0) : fmtNumber(v, 1);
}

export function fmtMs(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  if (v >= 100) return fmtNumber(v, 0);
  if (v >= 10) return fmtNumber(v, 1);
  return fmtNumber(v, 2);
}

export function fmtMiB(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '-';
  return `${fmtNumber(bytes / (1024 * 1024), 0)} MiB`;
}

export function fmtPct(v: number | null): string {
  return v === null || !Number.isFinite(v) ? '-' : `${fmtNumber(v, 1)}%`;
}

/** Columns padded to their widest cell; numbers (cells starting with a digit or '-') right-aligned. */
export function renderTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => /^[-\d.,]+( ?[%x]| MiB)?$|^-$/.test(r[i] ?? '')));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export const SAMPLE_HEADERS = ['workload', 'phase', 'target', 'driver', 'rep', 'MB/s', 'records/s', 'p50 ms', 'p99 ms', 'broker CPU s', 'peak RSS', 'check'];

export function sampleRow(s: Sample): string[] {
  const lat = s.latency.endToEnd ?? s.latency.produce;
  return [
    s.workload,
    s.phase,
    s.target,
    s.driver,
    String(s.repetition),
    fmtMBps(s.mbPerS),
    fmtNumber(s.recordsPerS, 0),
    fmtMs(lat?.p50Ms),
    fmtMs(lat?.p99Ms),
    s.broker === null ? '-' : fmtNumber(s.broker.cpuS, 1),
    fmtMiB(s.broker?.peakRssBytes),
    s.verification === null ? (Object.keys(s.errors).length > 0 ? 'errors' : '') : s.verification.ok ? 'ok' : 'FAILED',
  ];
}

export const SUMMARY_HEADERS = ['workload', 'phase', 'target', 'driver', 'MB/s (median)', 'min-max', 'spread', 'records/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'CPU s', 'peak RSS', 'of limit', 'check'];

export function summaryRow(r: SummaryRow): string[] {
  const lat = r.latency.endToEnd ?? r.latency.produce;
  return [
    r.workload,
    r.phase,
    r.target,
    r.driver,
    fmtMBps(r.mbPerS.median),
    r.mbPerS.n > 1 ? `${fmtMBps(r.mbPerS.min)}-${fmtMBps(r.mbPerS.max)}` : '-',
    fmtPct(r.mbPerS.spreadPct),
    fmtNumber(r.recordsPerS.median, 0),
    fmtMs(lat?.p50Ms.median),
    fmtMs(lat?.p99Ms.median),
    fmtMs(lat?.p999Ms.median),
    r.cpuS === null ? '-' : fmtNumber(r.cpuS.median, 1),
    fmtMiB(r.peakRssBytes?.median),
    r.limit === null ? '-' : `${fmtNumber(r.limit.fraction, 2)}x`,
    r.verified === null ? (r.errors > 0 ? `${r.errors} errors` : '') : r.verified ? 'ok' : 'FAILED',
  ];
}

export function limitsTable(limits: readonly MachineLimit[]): string {
  return renderTable(
    ['machine limit', 'MB/s', 'how'],
    limits.map((l) => [l.name, fmtMBps(l.mbPerS), l.mbPerS === null ? l.note : l.method]),
  );
}

const BAR_WIDTH = 28;

export class ProgressLine {
  private active = false;
  private lastWidth = 0;

  constructor(private readonly enabled: boolean) {}

  /** Draws `[#####.....] 45% label detail` over the previous bar. */
  update(label: string, fraction: number | null, detail: string): void {
    if (!this.enabled) return;
    const f = fraction === null ? null : Math.min(1, Math.max(0, fraction));
    const bar = f === null ? '' : `[${'#'.repeat(Math.round(f * BAR_WIDTH)).padEnd(BAR_WIDTH, '.')}] ${String(Math.round(f * 100)).padStart(3)}% `;
    const text = `${bar}${label} ${detail}`.slice(0, (process.stdout.columns ?? 120) - 1);
    process.stdout.write(`\r${text.padEnd(this.lastWidth)}`);
    this.lastWidth = text.length;
    this.active = true;
  }

  clear(): void {
    if (!this.active) return;
    process.stdout.write(`\r${' '.repeat(this.lastWidth)}\r`);
    this.active = false;
    this.lastWidth = 0;
  }

  /** Prints a line above the bar. */
  log(line: string): void {
    this.clear();
    process.stdout.write(`${line}\n`);
  }
}
