// Too many open files: a broker run with a low RLIMIT_NOFILE (prlimit) is filled with idle
// connections until it refuses new ones. It says so in its log, answers requests that need
// a descriptor with Kafka errors (CreateTopics, Produce to a partition whose files must
// open), does not crash, and works again once connections close and descriptors free up.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasPrlimit, sleep, startLoadBroker } from './broker-child.js';
import { apiVersions, batchOf, createTopics, createTopicsOk, produceMany, RawClient } from './wire.js';

const NOFILE = 256;

async function tryConnection(port: number): Promise<RawClient | null> {
  let client: RawClient | null = null;
  try {
    client = await RawClient.connect(port, '127.0.0.1', 3_000);
    if ((await apiVersions(client, 3_000)) === 0) return client;
  } catch {
    // refused: accepted and closed at once (libuv's EMFILE handling), or never answered
  }
  client?.close();
  return null;
}

test(`RLIMIT_NOFILE ${NOFILE}: refused connections and failed partitions are reported, and the broker recovers`, { timeout: 180_000 }, async () => {
  assert.ok(hasPrlimit(), 'prlimit(1) (util-linux) is needed to limit the broker');
  const broker = await startLoadBroker({ nofile: NOFILE, env: { STRAND_LOG_SEGMENT_IDLE_CLOSE_MS: '1000' } });
  const held: RawClient[] = [];
  try {
    const started = broker.logLines('file descriptor limits')[0];
    assert.equal(started?.nofileSoft, NOFILE);
    assert.equal(started?.maxOpenSegments, 64, 'the open segment bound follows the descriptor limit');
    await createTopicsOk(broker.port, [{ name: 'before', partitions: 4 }]);
    const admin = await RawClient.connect(broker.port);
    held.push(admin);
    const records = await batchOf(3, 100);
    for (const r of await produceMany(admin, 'before', [0, 1, 2, 3].map((partition) => ({ partition, records })))) assert.equal(r.errorCode, 0);
    await sleep(2_500); // idle: the partitions' files close

    // connections until the broker refuses five in a row
    let refused = 0;
    for (let i = 0; i < NOFILE + 100 && refused < 5; i++) {
      const c = await tryConnection(broker.port);
      if (c === null) refused++;
      else {
        refused = 0;
        held.push(c);
      }
    }
    assert.equal(refused, 5, `the broker refused connections at ${held.length} (fds ${broker.fdCount()})`);
    assert.ok(broker.fdCount() >= NOFILE - 2, `descriptors exhausted: ${broker.fdCount()}`);
    // The broker checks its descriptors once a second; allow for a loaded machine.
    for (let i = 0; i < 100 && broker.logLines('out of file descriptors').length === 0; i++) await sleep(100);
    const exhausted = broker.logLines('out of file descriptors');
    assert.equal(exhausted.length, 1, 'one clear log line, not one per refused connection');
    assert.match(String(exhausted[0]!.err), /EMFILE/);

    // requests that need a descriptor fail with Kafka errors on a connection already open
    const created = await createTopics(admin, [{ name: 'during', partitions: 4 }]);
    assert.notEqual(created[0]!.errorCode, 0, 'CreateTopics cannot succeed without descriptors');
    // The registry's own write fails first: KAFKA_STORAGE_ERROR, naming the cause.
    assert.equal(created[0]!.errorCode, 56, `CreateTopics error ${created[0]!.errorCode}`);
    assert.match(created[0]!.errorMessage ?? '', /EMFILE|too many open files/i);
    const produced = await produceMany(admin, 'before', [0, 1, 2, 3].map((partition) => ({ partition, records })));
    for (const r of produced) assert.ok(r.errorCode === 0 || r.errorCode === 56, `produce error ${r.errorCode}`);
    const failedAppends = produced.filter((r) => r.errorCode === 56).length;
    console.log(
      `# ${held.length} connections held at RLIMIT_NOFILE ${NOFILE}; CreateTopics -> ${created[0]!.errorCode} "${created[0]!.errorMessage}"; ` +
        `produce to closed partitions -> ${failedAppends} of 4 KAFKA_STORAGE_ERROR`,
    );
    assert.ok(broker.alive(), 'no crash');

    // descriptors free up
    for (const c of held.splice(1, 100)) c.close();
    for (let i = 0; i < 50 && broker.logLines('available again').length === 0; i++) await sleep(100);
    assert.equal(broker.logLines('available again').length, 1);
    const fresh = await tryConnection(broker.port);
    assert.ok(fresh !== null, 'new connections are accepted again');
    held.push(fresh);
    const again = await createTopics(fresh, [{ name: 'after', partitions: 4 }]);
    assert.equal(again[0]!.errorCode, 0, `CreateTopics works again: ${again[0]!.errorMessage}`);
    for (const topic of ['before', 'after']) {
      for (const r of await produceMany(fresh, topic, [0, 1, 2, 3].map((partition) => ({ partition, records })))) {
        assert.equal(r.errorCode, 0, `produce to ${topic}-${r.partition} works again`);
      }
    }
    assert.ok(broker.alive());
  } finally {
    for (const c of held) c.close();
    await broker.dispose();
  }
});
