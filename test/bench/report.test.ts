import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LatencyHistogram, summarizeLatencyNs } from '../../bench/histogram.js';
import { summarize, type BenchRun, type MachineLimit, type Sample } from '../../bench/model.js';
import { runHtml, runJson, writeRunFiles } from '../../bench/report/write.js';
import { ninesOf } from '../../bench/report/svg.js';

function latency(baseMs: number) {
  const h = new LatencyHistogram();
  for (let i = 0; i < 1000; i++) h.record((baseMs + (i % 50) / 10) * 1e6);
  return summarizeLatencyNs(h);
}

function makeRun(): BenchRun {
  const samples: Sample[] = [];
  const targets = ['strand', 'kafka-3.7.0 <&>'];
  let n = 0;
  for (const workload of ['throughput-acks1', 'latency', 'catchup']) {
    for (let rep = 1; rep <= 2; rep++) {
      for (const target of targets) {
        n++;
        const phases = workload === 'latency' ? ['end-to-end'] : workload === 'catchup' ? ['consume-cold', 'consume-warm'] : ['produce', 'consume'];
        for (const phase of phases) {
          samples.push({
            workload,
            phase,
            target,
            driver: 'loadgen',
            repetition: rep,
            startedAt: `2026-01-01T00:00:${String(n).padStart(2, '0')}.000Z`,
            durationS: 2,
            records: 1000 * n,
            payloadBytes: 1024000 * n,
            wireBytes: 1030000 * n,
            mbPerS: 100 + n + (phase === 'consume' ? 0.5 : 0),
            recordsPerS: 1000 + n,
            latency: workload === 'latency' ? { produce: latency(n), endToEnd: latency(2 * n) } : {},
            broker: target === 'strand' ? { cpuS: n, peakRssBytes: 1e8, endRssBytes: 9e7, peakMethod: 'hwm-reset' } : null,
            verification: phase === 'produce' ? null : { produced: 1000 * n, consumed: 1000 * n, ok: true, detail: `sample-${n}-${phase}` },
            errors: {},
            settings: { partitions: 16, marker: `setting-${n}-${phase}` },
            notes: [],
          });
        }
      }
    }
  }
  const limits: MachineLimit[] = [
    { name: 'engine append (64 KiB batches)', mbPerS: 2000, method: 'bench/storage', note: '' },
    { name: 'loopback sendfile', mbPerS: null, method: 'python3', note: 'not measured: no python3' },
  ];
  return {
    schema: 'strand-bench/1',
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:10:00.000Z',
    command: ['npm run bench --', '--quick'],
    machine: { hostname: 'box', cpuModel: 'CPU X', cores: 2, memoryBytes: 8 * 1024 ** 3, kernel: 'Linux 6.1', os: 'linux x64', dataDir: '/tmp', dataFilesystem: 'ext4 /dev/sda on /', loadAverageAtStart: '0.10 0.20 0.30' },
    versions: { node: 'v20', 'target strand': '0.1.0' },
    settings: { repetitions: 2, 'fetch max bytes': 52428800 },
    targets: targets.map((label, i) => ({
      label,
      kind: i === 0 ? 'strand' : 'kafka-home',
      bootstrap: `127.0.0.1:${9000 + i}`,
      version: label,
      pid: i === 0 ? 123 : null,
      settings: { 'log.dirs': '/tmp/x' },
      apiVersions: { produce: 9, fetch: 12 },
    })),
    limits,
    samples,
    summary: summarize(samples, limits),
    notes: ['a note about fan-out'],
  };
}

test('the JSON file holds every sample and target, and parses back to the run', () => {
  const run = makeRun();
  const parsed = JSON.parse(runJson(run)) as BenchRun;
  assert.deepEqual(parsed, JSON.parse(JSON.stringify(run)));
  assert.equal(parsed.samples.length, run.samples.length);
  assert.deepEqual(parsed.targets.map((t) => t.label), ['strand', 'kafka-3.7.0 <&>']);
  assert.ok(parsed.samples.some((s) => s.latency.produce?.histogram.buckets.length), 'histograms are kept');
});

test('the HTML report shows every sample and target, charts inline, nothing external', () => {
  const run = makeRun();
  const html = runHtml(run);
  for (const s of run.samples) {
    assert.ok(html.includes(`marker=${String(s.settings['marker'])}`), `sample ${s.workload}/${s.phase}/${s.repetition} in the samples table`);
    assert.ok(html.includes(s.startedAt));
  }
  const sampleRows = html.slice(html.indexOf('<h2>Every sample</h2>')).match(/<tr>/g)?.length ?? 0;
  assert.equal(sampleRows, run.samples.length + 1, 'one row per sample plus the header');
  assert.ok(html.includes('kafka-3.7.0 &lt;&amp;&gt;'), 'labels are escaped');
  assert.ok(!html.includes('kafka-3.7.0 <&>'), 'no raw markup from data');
  assert.ok(html.includes('strand'));
  assert.equal((html.match(/<svg /g) ?? []).length >= 3, true, 'throughput, latency and limits charts');
  assert.ok(html.includes('Latency percentiles: latency'));
  assert.ok(!/<script|<link|src=|url\(/i.test(html), 'no scripts or external assets');
  assert.ok(!/https?:\/\/(?!www\.w3\.org\/2000\/svg)/.test(html), 'no links out but the SVG namespace');
  for (const key of ['CPU X', 'Linux 6.1', '0.10 0.20 0.30', '8.0 GiB', 'fetch max bytes', 'engine append (64 KiB batches)', 'not measured: no python3', 'a note about fan-out']) {
    assert.ok(html.includes(key), `report names ${key}`);
  }
});

test('the writer puts both files (and latest copies) in the results folder', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strand-bench-report-'));
  try {
    const run = makeRun();
    const files = writeRunFiles(run, path.join(dir, 'nested'));
    assert.ok(fs.existsSync(files.json) && fs.existsSync(files.html));
    assert.equal((JSON.parse(fs.readFileSync(files.json, 'utf8')) as BenchRun).samples.length, run.samples.length);
    assert.equal(fs.readFileSync(path.join(dir, 'nested', 'latest.html'), 'utf8'), fs.readFileSync(files.html, 'utf8'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the nines axis puts 90, 99, 99.9 one step apart', () => {
  assert.equal(ninesOf(0), 0);
  assert.ok(Math.abs(ninesOf(90) - 1) < 1e-9);
  assert.ok(Math.abs(ninesOf(99) - 2) < 1e-9);
  assert.ok(Math.abs(ninesOf(99.9) - 3) < 1e-9);
});
