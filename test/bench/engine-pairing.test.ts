import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { measureEngineAppendKept } from '../../bench/machine.js';
import { Log } from '../../src/storage/index.js';

// The engine run a throughput repetition is paired with leaves its logs for the suite to
// remove (before the produce phase's pause), and reports a rate for the bytes it really
// appended.
test('the paired engine append writes its bytes through the append threads and leaves the logs', { timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strand-paired-'));
  try {
    const r = await measureEngineAppendKept(dir, 64);
    assert.ok(r.mbPerS !== null && r.mbPerS > 0, r.note);
    assert.match(r.note, /^append 64 KiB batches, 16 logs, 64 MiB, append threads/);
    const logs = fs.readdirSync(dir).filter((d) => d.startsWith('kept-'));
    assert.equal(logs.length, 16);
    let bytes = 0;
    for (const name of logs) {
      const log = Log.open(path.join(dir, name));
      assert.ok(log.logEndOffset > 0);
      bytes += log.sizeBytes;
      await log.close();
    }
    assert.ok(bytes >= 63 * 1024 * 1024 && bytes <= 64 * 1024 * 1024, `${bytes} bytes on disk`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
