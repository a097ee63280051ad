// A small run of the suite against Strand, through the same entry point as `npm run bench`:
// a few MB per workload, and a check that every record a producer had acknowledged was
// read back (by count per partition; latency records also by sequence number).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../bench/main.js';
import type { BenchRun } from '../../bench/model.js';

const kcatInstalled = spawnSync('kcat', ['-V'], { stdio: 'ignore' }).status === 0;

test('a quick run against Strand reads back every record it produced', { timeout: 240_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strand-bench-quick-'));
  try {
    const out = path.join(dir, 'results');
    await main([
      '--quick',
      '--quiet',
      '--workloads=throughput-acks1,small-1p,latency,fanout,catchup,kcat',
      '--no-machine-limits',
      '--no-engine',
      '--no-drop-caches',
      '--settle=0s',
      '--duration=1500ms',
      '--warmup=200ms',
      '--max-bytes=4MiB',
      '--catchup-bytes=4MiB',
      '--external-bytes=2MiB',
      '--latency-rate=2',
      `--data-dir=${dir}`,
      `--out=${out}`,
      'strand',
    ]);
    const run = JSON.parse(fs.readFileSync(path.join(out, 'latest.json'), 'utf8')) as BenchRun;
    assert.deepEqual(run.targets.map((t) => t.label), ['strand']);
    const failures = run.notes.filter((n) => n.includes('failed'));
    assert.deepEqual(failures, [], 'no workload failed');

    const phases = (workload: string) => run.samples.filter((s) => s.workload === workload).map((s) => s.phase);
    assert.deepEqual(phases('throughput-acks1'), ['produce', 'consume']);
    assert.deepEqual(phases('small-1p'), ['produce', 'consume']);
    assert.deepEqual(phases('latency'), ['end-to-end']);
    assert.deepEqual(phases('fanout'), ['produce', 'consume']);
    assert.deepEqual(phases('catchup'), ['setup-produce', 'consume-not-cold', 'consume-warm']);
    if (kcatInstalled) assert.deepEqual(phases('kcat'), ['produce', 'consume']);

    for (const s of run.samples) {
      assert.ok(s.records > 0, `${s.workload} ${s.phase}: records moved`);
      assert.deepEqual(s.errors, {}, `${s.workload} ${s.phase}: no errors`);
      assert.ok(s.broker !== null && s.broker.cpuS >= 0 && s.broker.peakRssBytes > 0, `${s.workload} ${s.phase}: broker figures`);
      if (s.phase === 'produce' || s.phase === 'setup-produce') continue;
      const v = s.verification;
      assert.ok(v !== null, `${s.workload} ${s.phase}: verified`);
      assert.ok(v.ok, `${s.workload} ${s.phase}: ${v.detail}`);
      assert.ok(v.produced > 0 && v.consumed === v.produced, `${s.workload} ${s.phase}: ${v.consumed} of ${v.produced}`);
    }
    // The readers received exactly the records the producers had acknowledged.
    const produced = (w: string) => run.samples.find((s) => s.workload === w && (s.phase === 'produce' || s.phase === 'setup-produce'))!.records;
    const consumed = (w: string, phase: string) => run.samples.find((s) => s.workload === w && s.phase === phase)!.records;
    assert.equal(consumed('throughput-acks1', 'consume'), produced('throughput-acks1'));
    assert.equal(consumed('small-1p', 'consume'), produced('small-1p'));
    assert.equal(consumed('fanout', 'consume'), 4 * produced('fanout'), 'each of the 4 readers read everything');
    assert.equal(consumed('catchup', 'consume-warm'), produced('catchup'));

    const latency = run.samples.find((s) => s.workload === 'latency')!;
    assert.ok(latency.latency.produce!.count > 0 && latency.latency.endToEnd!.count === latency.records);
    assert.ok(latency.latency.endToEnd!.p50Ms > 0 && latency.latency.endToEnd!.p99Ms >= latency.latency.endToEnd!.p50Ms);

    const html = fs.readFileSync(path.join(out, 'latest.html'), 'utf8');
    assert.ok(html.includes('<svg ') && html.includes('strand'));
    assert.equal(fs.readdirSync(dir).filter((d) => d.startsWith('strand-bench-')).length, 0, 'temporary data removed');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
