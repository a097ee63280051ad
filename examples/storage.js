// An append-only log with strand/storage, without the broker.
// Run from a project that depends on strand:  node storage.js
const { Log, buildRecordBatch, parseRecordBatches } = require('strand/storage');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strand-example-'));
  const log = Log.open(path.join(dir, 'events-0'), { segmentBytes: 1024 * 1024 });

  // Records become a Kafka v2 record batch; the log assigns the offsets.
  const batch = buildRecordBatch([
    { key: 'user-1', value: 'signed up' },
    { key: 'user-2', value: 'signed up', headers: [{ key: 'source', value: 'web' }] },
  ]);
  const appended = log.append(batch);
  console.log(`appended offsets ${appended.baseOffset}..${appended.lastOffset}`);

  // The same append with the copy into the page cache on an engine thread.
  const later = await log.appendAsync(buildRecordBatch([{ key: 'user-1', value: 'logged in' }]));
  console.log(`appended offset ${later.baseOffset} off the event loop`);

  await log.flush(); // fsync, off the event loop

  // Read whole batches from offset 0, up to 64 KiB, and decode them.
  for (const buffer of log.readBuffers(0, 64 * 1024)) {
    for (const b of parseRecordBatches(buffer)) {
      for (const r of b.records) console.log(r.offset, r.key.toString(), r.value.toString());
    }
  }
  console.log(`log start ${log.logStartOffset}, log end ${log.logEndOffset}`);

  await log.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

main();
