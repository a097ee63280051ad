// Consumers that never read their responses: the broker must not buffer for them without
// bound. Small responses are copied into the socket's buffer, which is capped (16 MiB):
// past it the rest wait as file regions (descriptors, not memory) and the connection stops
// being read; large ones go by sendfile, which stalls and times out after 30 s without
// progress. Meanwhile other clients keep working, and everything is released when the slow
// connections go.

import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { fetchV4 } from '../compat/wire.js';
import { sleep, startLoadBroker, type LoadBroker } from './broker-child.js';
import { ensureClientDescriptors } from './connection-load.js';
import { batchOf, connectNonReading, createTopicsOk, fetchBody, frameRequest, produceMany, RawClient } from './wire.js';

const TOPIC = 'slow';
const BATCHES = 64;
const RECORD_BYTES = 1024;
const RECORDS_PER_BATCH = 56; // ~57 KiB batches: one per fetch of 60 KiB stays below the 64 KiB copy threshold
const FETCH_API = 1;

async function fill(broker: LoadBroker): Promise<void> {
  await createTopicsOk(broker.port, [{ name: TOPIC, partitions: 1 }]);
  const client = await RawClient.connect(broker.port);
  try {
    for (let i = 0; i < BATCHES; i++) {
      const [r] = await produceMany(client, TOPIC, [{ partition: 0, records: await batchOf(RECORDS_PER_BATCH, RECORD_BYTES, i) }]);
      assert.equal(r!.errorCode, 0);
    }
  } finally {
    client.close();
  }
}

/** Opens `n` connections that each send `fetches` Fetch requests and never read. */
async function slowConsumers(port: number, n: number, fetches: number, maxBytes: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = await connectNonReading(port);
    const frames: Buffer[] = [];
    for (let c = 1; c <= fetches; c++) frames.push(frameRequest(FETCH_API, 4, c, fetchBody(TOPIC, 0, 0n, maxBytes)));
    s.write(Buffer.concat(frames));
    sockets.push(s);
  }
  return sockets;
}

/** A produce and a fetch on a fresh connection work, each within a few seconds. */
async function othersStillWork(broker: LoadBroker, seed: number): Promise<number> {
  const started = Date.now();
  const client = await RawClient.connect(broker.port);
  try {
    const [p] = await produceMany(client, TOPIC, [{ partition: 0, records: await batchOf(3, 100, seed) }]);
    assert.equal(p!.errorCode, 0, 'produce works beside the slow consumers');
    const f = await fetchV4(client, TOPIC, 0, p!.baseOffset, { maxWaitMs: 0, maxBytes: 64 * 1024 });
    assert.equal(f.errorCode, 0);
    assert.ok(f.records.length > 0, 'fetch works beside the slow consumers');
  } finally {
    client.close();
  }
  return Date.now() - started;
}

/** Samples RSS until it stops growing (or maxMs): the peak seen. */
async function settledRssKiB(broker: LoadBroker, maxMs: number): Promise<number> {
  let peak = broker.rssKiB();
  let stableSince = Date.now();
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline && Date.now() - stableSince < 1_500) {
    await sleep(250);
    const now = broker.rssKiB();
    if (now > peak + 1024) {
      peak = now;
      stableSince = Date.now();
    }
  }
  return Math.max(peak, broker.rssKiB());
}

async function descriptorsBack(broker: LoadBroker, baseline: number): Promise<number> {
  let fds = broker.fdCount();
  for (let i = 0; i < 100 && fds > baseline + 10; i++) {
    await sleep(100);
    fds = broker.fdCount();
  }
  return fds;
}

test('consumers that never read: copied responses stop at the socket cap, the rest wait as regions', { timeout: 120_000 }, async () => {
  ensureClientDescriptors(512);
  const broker = await startLoadBroker();
  const slow: Socket[] = [];
  try {
    await fill(broker);
    await othersStillWork(broker, 1);
    await sleep(500);
    const baseRss = broker.rssKiB();
    const baseFds = broker.fdCount();
    // 4 connections x 2,000 fetches x ~57 KiB: 450 MiB if the broker buffered all of it
    slow.push(...(await slowConsumers(broker.port, 4, 2_000, 60 * 1024)));
    const peakRss = await settledRssKiB(broker, 15_000);
    const grownMiB = (peakRss - baseRss) / 1024;
    const heldFds = broker.fdCount() - baseFds;
    const tookMs = await othersStillWork(broker, 2);
    console.log(`# 4 non-reading consumers (copy path): RSS +${grownMiB.toFixed(1)} MiB, +${heldFds} fds held; others answered in ${tookMs} ms`);
    // each connection: at most 16 MiB in its socket buffer plus one response, and at most
    // queued.max.requests (500) responses waiting, each holding one duplicated fd
    assert.ok(grownMiB < 160, `RSS grew ${grownMiB.toFixed(1)} MiB for 4 slow consumers`);
    assert.ok(heldFds <= 4 * 501 + 20, `${heldFds} descriptors held for 4 slow consumers`);
    assert.ok(tookMs < 10_000);
    for (const s of slow.splice(0)) s.destroy();
    const fds = await descriptorsBack(broker, baseFds);
    assert.ok(fds <= baseFds + 10, `descriptors released when the slow consumers left (${fds} vs ${baseFds})`);
    await othersStillWork(broker, 3);
    assert.ok(broker.alive());
  } finally {
    for (const s of slow) s.destroy();
    await broker.dispose();
  }
});

test('consumers that never read: sendfile stalls without buffering and times out after 30 s', { timeout: 120_000 }, async () => {
  ensureClientDescriptors(512);
  const broker = await startLoadBroker();
  const slow: Socket[] = [];
  try {
    await fill(broker);
    await sleep(500);
    const baseRss = broker.rssKiB();
    const baseFds = broker.fdCount();
    // 1 MiB responses go by sendfile; 2 x 1,000 of them would be 2 GiB
    const stalledAt = Date.now();
    slow.push(...(await slowConsumers(broker.port, 2, 1_000, 1024 * 1024)));
    const peakRss = await settledRssKiB(broker, 10_000);
    const grownMiB = (peakRss - baseRss) / 1024;
    const tookMs = await othersStillWork(broker, 4);
    console.log(`# 2 non-reading consumers (sendfile path): RSS +${grownMiB.toFixed(1)} MiB, +${broker.fdCount() - baseFds} fds; others answered in ${tookMs} ms`);
    assert.ok(grownMiB < 64, `RSS grew ${grownMiB.toFixed(1)} MiB`);
    // no progress for 30 s: the broker gives up on them and releases what they held
    const deadline = stalledAt + 45_000;
    while (Date.now() < deadline && broker.logLines('response write failed').length < 2) await sleep(500);
    const timedOut = broker.logLines('response write failed');
    assert.equal(timedOut.length, 2, `both stalled connections were closed by the send timeout:\n${broker.output().slice(-3000)}`);
    assert.match(String(timedOut[0]!.reason), /read nothing|no progress|timed out/i);
    const fds = await descriptorsBack(broker, baseFds);
    assert.ok(fds <= baseFds + 10, `descriptors released (${fds} vs ${baseFds})`);
    await othersStillWork(broker, 5);
    assert.ok(broker.alive());
  } finally {
    for (const s of slow) s.destroy();
    await broker.dispose();
  }
});
