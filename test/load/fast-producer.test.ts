// A producer faster than the disk: the broker applies backpressure (it stops reading the
// producer's socket while its appends wait for the disk) instead of queueing requests
// without bound. The disk is slowed to 16 MiB/s by a preloaded shim (slow-disk.ts); the
// producer pipelines 96 MiB of produce requests without waiting for answers.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiKey, readPartition } from '../compat/wire.js';
import { sleep, startLoadBroker } from './broker-child.js';
import { buildSlowDiskShim, slowDiskEnv } from './slow-disk.js';
import { apiVersions, batchOf, createTopicsOk, parseProduceV3, produceBody, RawClient } from './wire.js';

const DISK_BYTES_PER_SEC = 16 * 1024 * 1024;
const REQUESTS = 384;
const RECORDS = 64;
const RECORD_BYTES = 4096; // 256 KiB requests: 96 MiB in all

test('a producer faster than the disk is held back by TCP, not queued in the broker', { timeout: 120_000 }, async () => {
  const shim = buildSlowDiskShim();
  const broker = await startLoadBroker({ env: slowDiskEnv(shim, DISK_BYTES_PER_SEC) });
  try {
    await createTopicsOk(broker.port, [{ name: 'fast', partitions: 1 }]);
    const records = await batchOf(RECORDS, RECORD_BYTES);
    const body = produceBody('fast', [{ partition: 0, records }], 1);
    await sleep(500);
    const baseRss = broker.rssKiB();

    const producer = await RawClient.connect(broker.port);
    const started = Date.now();
    const answers = Array.from({ length: REQUESTS }, () => producer.request(ApiKey.Produce, 3, body, 120_000));
    // the producer wrote everything at once: most of it must still sit on its side
    await sleep(2_000);
    const unsentMiB = producer.socket.writableLength / (1024 * 1024);
    const rssDuringMiB = (broker.rssKiB() - baseRss) / 1024;
    const other = await RawClient.connect(broker.port);
    const pingStart = Date.now();
    assert.equal(await apiVersions(other, 10_000), 0, 'another client is answered while the disk is busy');
    const pingMs = Date.now() - pingStart;
    other.close();

    let peakRssMiB = rssDuringMiB;
    const watch = setInterval(() => (peakRssMiB = Math.max(peakRssMiB, (broker.rssKiB() - baseRss) / 1024)), 200);
    let frames;
    try {
      frames = await Promise.all(answers);
    } finally {
      clearInterval(watch);
    }
    const seconds = (Date.now() - started) / 1000;
    const offered = REQUESTS * body.length;
    console.log(
      `# ${(offered / 1048576).toFixed(0)} MiB offered to an ${DISK_BYTES_PER_SEC / 1048576} MiB/s disk: ${seconds.toFixed(1)} s; ` +
        `after 2 s ${unsentMiB.toFixed(1)} MiB still unsent by the producer, broker RSS +${rssDuringMiB.toFixed(1)} MiB (peak +${peakRssMiB.toFixed(1)}); ` +
        `ApiVersions meanwhile in ${pingMs} ms`,
    );
    assert.ok(seconds >= (0.8 * offered) / DISK_BYTES_PER_SEC, `the slow disk took effect (${seconds.toFixed(1)} s)`);
    assert.ok(unsentMiB > 32, `the broker stopped reading: ${unsentMiB.toFixed(1)} MiB waited at the producer`);
    assert.ok(peakRssMiB < 64, `the broker did not queue the requests: RSS +${peakRssMiB.toFixed(1)} MiB`);
    let next = 0n;
    for (const f of frames) {
      const [p] = parseProduceV3(f.body);
      assert.equal(p!.errorCode, 0);
      assert.equal(p!.baseOffset, next, 'appended in order');
      next += BigInt(RECORDS);
    }
    producer.close();
    const reader = await RawClient.connect(broker.port);
    try {
      const got = await readPartition(reader, 'fast', 0);
      assert.equal(got.length, REQUESTS * RECORDS, 'every acknowledged record is there');
    } finally {
      reader.close();
    }
    assert.ok(broker.alive());
  } finally {
    await broker.dispose();
  }
});
