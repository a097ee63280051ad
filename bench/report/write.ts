// The run's files: a JSON file with every sample (the record), and a self-contained HTML
// report (tables and inline SVG charts; no scripts, no external assets) that opens offline.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { LatencyHistogram, summarizeLatencyNs, type LatencySummary } from '../histogram.js';
import type { BenchRun, Sample, SummaryRow } from '../model.js';
import { groupBy } from '../stats.js';
import { fmtMBps, fmtMiB, fmtMs, fmtNumber, fmtPct } from '../terminal.js';
import { barChart, escapeXml, percentileChart, type BarGroup, type CurveSeries } from './svg.js';

export function runJson(run: BenchRun): string {
  return `${JSON.stringify(run, null, 1)}\n`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1200px;padding:0 16px;color:#1d2329}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #d8dde2;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0;font-size:12.5px}th,td{border:1px solid #d8dde2;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f2f4f6}td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#2a7a3b}.bad{color:#b3261e;font-weight:600}.muted{color:#5b6770}
svg text{font:12px system-ui,sans-serif;fill:#1d2329}svg .tick{fill:#5b6770;font-size:11px}svg .value{font-size:11px}
svg .grid{stroke:#e3e7eb}svg .whisker{stroke:#1d2329;stroke-width:1.2;fill:none}
details{margin:8px 0}code{background:#f2f4f6;padding:0 3px}
`;

function esc(v: unknown): string {
  return escapeXml(String(v));
}

function table(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string>>, numericColumns: ReadonlySet<number> = new Set()): string {
  const head = `<tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`;
  const body = rows.map((r) => `<tr>${r.map((c, i) => `<td${numericColumns.has(i) ? ' class="n"' : ''}>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table>${head}\n${body}</table>`;
}

function kvTable(obj: Record<string, unknown>): string {
  return table(
    ['setting', 'value'],
    Object.entries(obj).map(([k, v]) => [esc(k), esc(v)]),
  );
}

function checkCell(ok: boolean | null, errors: number): string {
  if (ok === null) return errors > 0 ? `<span class="bad">${errors} errors</span>` : '';
  return ok ? '<span class="ok">ok</span>' : '<span class="bad">FAILED</span>';
}

function summaryTable(rows: readonly SummaryRow[]): string {
  const headers = ['workload', 'phase', 'target', 'driver', 'MB/s median', 'min', 'max', 'spread', 'n', 'records/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'CPU s', 'peak RSS', 'limit', 'of limit', 'check'];
  return table(
    headers,
    rows.map((r) => {
      const lat = r.latency.endToEnd ?? r.latency.produce;
      return [
        esc(r.workload),
        esc(r.phase),
        esc(r.target),
        esc(r.driver),
        esc(fmtMBps(r.mbPerS.median)),
        esc(fmtMBps(r.mbPerS.min)),
        esc(fmtMBps(r.mbPerS.max)),
        esc(fmtPct(r.mbPerS.spreadPct)),
        esc(r.mbPerS.n),
        esc(fmtNumber(r.recordsPerS.median)),
        esc(fmtMs(lat?.p50Ms.median)),
        esc(fmtMs(lat?.p99Ms.median)),
        esc(fmtMs(lat?.p999Ms.median)),
        esc(fmtMs(lat?.maxMs.median)),
        esc(r.cpuS === null ? '-' : fmtNumber(r.cpuS.median, 1)),
        esc(fmtMiB(r.peakRssBytes?.median)),
        esc(r.limit === null ? '-' : `${r.limit.name} ${fmtMBps(r.limit.mbPerS)}`),
        esc(r.limit === null ? '-' : `${fmtNumber(r.limit.fraction, 2)}x`),
        checkCell(r.verified, r.errors),
      ];
    }),
    new Set([4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17]),
  );
}

function latencyCell(l: LatencySummary | undefined): string {
  if (l === undefined) return '-';
  return esc(`${fmtMs(l.p50Ms)} / ${fmtMs(l.p99Ms)} / ${fmtMs(l.p999Ms)} / ${fmtMs(l.maxMs)} (${fmtNumber(l.count)})`);
}

function samplesTable(samples: readonly Sample[]): string {
  const headers = ['#', 'workload', 'phase', 'target', 'driver', 'rep', 'started', 's', 'records', 'MB', 'MB/s', 'records/s', 'produce p50/p99/p99.9/max ms (n)', 'end-to-end p50/p99/p99.9/max ms (n)', 'CPU s', 'peak RSS', 'check', 'errors', 'settings', 'notes'];
  return table(
    headers,
    samples.map((s, i) => [
      esc(i + 1),
      esc(s.workload),
      esc(s.phase),
      esc(s.target),
      esc(s.driver),
      esc(s.repetition),
      esc(s.startedAt),
      esc(fmtNumber(s.durationS, 2)),
      esc(fmtNumber(s.records)),
      esc(fmtNumber(s.payloadBytes / (1024 * 1024), 1)),
      esc(fmtMBps(s.mbPerS)),
      esc(fmtNumber(s.recordsPerS)),
      latencyCell(s.latency.produce),
      latencyCell(s.latency.endToEnd),
      esc(s.broker === null ? '-' : fmtNumber(s.broker.cpuS, 2)),
      esc(s.broker === null ? '-' : `${fmtMiB(s.broker.peakRssBytes)} (${s.broker.peakMethod})`),
      s.verification === null ? '' : `${checkCell(s.verification.ok, 0)} ${esc(s.verification.detail)}`,
      esc(Object.entries(s.errors).map(([k, v]) => `${k} x${v}`).join(', ')),
      esc(Object.entries(s.settings).map(([k, v]) => `${k}=${v}`).join(', ')),
      esc(s.notes.join(' ')),
    ]),
    new Set([0, 5, 7, 8, 9, 10, 11, 14]),
  );
}

function throughputChart(run: BenchRun): string {
  const targets = run.targets.map((t) => t.label);
  const groups: BarGroup[] = [];
  for (const rows of groupBy(run.summary.filter((r) => r.mbPerS.median > 0), (r) => `${r.workload} ${r.phase}${r.driver === 'loadgen' ? '' : ` (${r.driver})`}`)) {
    const [label, list] = rows;
    groups.push({
      group: label,
      bars: list.map((r) => ({
        series: r.target,
        value: r.mbPerS.median,
        min: r.mbPerS.min,
        max: r.mbPerS.max,
        label: `${fmtMBps(r.mbPerS.median)} MB/s${r.mbPerS.n > 1 ? ` (${fmtMBps(r.mbPerS.min)}-${fmtMBps(r.mbPerS.max)})` : ''}`,
      })),
    });
  }
  if (groups.length === 0) return '<p class="muted">No throughput results.</p>';
  return barChart('Throughput by workload and target (median, whiskers: min-max)', 'MB/s (2^20 bytes per second)', groups, targets);
}

function limitsChart(run: BenchRun): string {
  const measured = run.limits.filter((l) => l.mbPerS !== null);
  if (measured.length === 0) return '';
  return barChart(
    'Machine limits',
    'MB/s',
    measured.map((l) => ({ group: l.name, bars: [{ series: 'machine', value: l.mbPerS!, min: l.mbPerS!, max: l.mbPerS!, label: `${fmtMBps(l.mbPerS)} MB/s` }] })),
    ['machine'],
  );
}

/** One chart per latency workload: every target, produce (dashed) and end-to-end, repetitions merged. */
function latencyCharts(run: BenchRun): string {
  const targets = run.targets.map((t) => t.label);
  const out: string[] = [];
  const withLatency = run.samples.filter((s) => s.latency.produce !== undefined || s.latency.endToEnd !== undefined);
  for (const [workload, samples] of groupBy(withLatency, (s) => s.workload)) {
    const series: CurveSeries[] = [];
    for (const [target, list] of groupBy(samples, (s) => s.target)) {
      for (const kind of ['endToEnd', 'produce'] as const) {
        const hists = list.map((s) => s.latency[kind]).filter((l): l is LatencySummary => l !== undefined && l.count > 0);
        if (hists.length === 0) continue;
        const merged = LatencyHistogram.fromJSON(hists[0]!.histogram);
        for (const h of hists.slice(1)) merged.merge(LatencyHistogram.fromJSON(h.histogram));
        series.push({
          name: `${target} ${kind === 'endToEnd' ? 'end-to-end' : 'produce ack'}`,
          colorKey: target,
          dashed: kind === 'produce',
          points: summarizeLatencyNs(merged).curve,
        });
      }
    }
    const chart = percentileChart(`Latency percentiles: ${workload}`, series, targets);
    if (chart !== '') out.push(`<h3>${esc(workload)}</h3>\n${chart}`);
  }
  return out.length === 0 ? '<p class="muted">No latency results.</p>' : out.join('\n');
}

export function runHtml(run: BenchRun): string {
  const m = run.machine;
  const machine = {
    host: m.hostname,
    cpu: m.cpuModel,
    cores: m.cores,
    memory: `${(m.memoryBytes / 1024 ** 3).toFixed(1)} GiB`,
    kernel: m.kernel,
    os: m.os,
    'data dir': m.dataDir,
    'data filesystem': m.dataFilesystem,
    'load average at start (1, 5, 15 min)': m.loadAverageAtStart,
  };
  const targets = run.targets
    .map(
      (t) => `<h3>${esc(t.label)}</h3>
${kvTable({ kind: t.kind, version: t.version, bootstrap: t.bootstrap, pid: t.pid ?? 'unknown', 'request versions': Object.entries(t.apiVersions).map(([k, v]) => `${k} v${v ?? '-'}`).join(', ') })}
<details><summary>broker settings</summary>${Object.keys(t.settings).length === 0 ? '<p class="muted">none set by the suite</p>' : kvTable(t.settings)}</details>`,
    )
    .join('\n');
  const limits = table(
    ['limit', 'MB/s', 'method', 'note'],
    run.limits.map((l) => [esc(l.name), esc(fmtMBps(l.mbPerS)), esc(l.method), esc(l.note)]),
    new Set([1]),
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Strand benchmark ${esc(run.startedAt)}</title><style>${CSS}</style></head>
<body>
<h1>Strand benchmark report</h1>
<p>Started ${esc(run.startedAt)}, finished ${esc(run.finishedAt)}. Targets: ${run.targets.map((t) => `<b>${esc(t.label)}</b>`).join(', ')}. Command: <code>${esc(run.command.join(' '))}</code></p>
<p class="muted">MB = 2<sup>20</sup> bytes of record payload (key + value), as in Kafka's perf tools. Each figure is the median of the repetitions; min, max and spread ((max - min) / median) show how far they disagree. Targets ran alternately (ABAB) so that a drift of the machine hits all of them.</p>
<h2>Summary</h2>
${summaryTable(run.summary)}
<h2>Throughput</h2>
${throughputChart(run)}
<h2>Latency</h2>
${latencyCharts(run)}
<h2>Machine limits (measured in this run)</h2>
${limits}
${limitsChart(run)}
<h2>Machine</h2>
${kvTable(machine)}
<h2>Versions</h2>
${kvTable(run.versions)}
<h2>Targets</h2>
${targets}
<h2>Run settings</h2>
${kvTable(run.settings)}
<h2>Notes</h2>
<ul>${run.notes.map((n) => `<li>${esc(n)}</li>`).join('\n')}</ul>
<h2>Every sample</h2>
${samplesTable(run.samples)}
</body></html>
`;
}

/** Writes bench-<time>.json and .html into `dir` (plus latest.json / latest.html); returns the paths. */
export function writeRunFiles(run: BenchRun, dir: string): { json: string; html: string } {
  fs.mkdirSync(dir, { recursive: true });
  const stamp = run.startedAt.replace(/[:.]/g, '-');
  const json = path.join(dir, `bench-${stamp}.json`);
  const html = path.join(dir, `bench-${stamp}.html`);
  const jsonText = runJson(run);
  const htmlText = runHtml(run);
  fs.writeFileSync(json, jsonText);
  fs.writeFileSync(html, htmlText);
  fs.writeFileSync(path.join(dir, 'latest.json'), jsonText);
  fs.writeFileSync(path.join(dir, 'latest.html'), htmlText);
  return { json, html };
}
