// 1,000 concurrent connections held by one broker while a producer and a consumer work
// (the bounded version of bench/load/connections.ts, which holds 5,000).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startLoadBroker } from './broker-child.js';
import { ensureClientDescriptors, runConnectionLoad } from './connection-load.js';

const CONNECTIONS = 1_000;

test(`${CONNECTIONS} idle connections stay served while a producer and a consumer work`, { timeout: 180_000 }, async () => {
  ensureClientDescriptors(CONNECTIONS + 200);
  const broker = await startLoadBroker();
  try {
    const r = await runConnectionLoad(broker, CONNECTIONS, 1_000);
    assert.ok(r.withIdle.fds >= r.baseline.fds + CONNECTIONS, `the broker holds the connections (fds ${r.baseline.fds} -> ${r.withIdle.fds})`);
    assert.equal(r.produced, 1_000);
    assert.ok(r.consumed >= 1_000);
    assert.equal(r.stillAnswering, CONNECTIONS, 'every idle connection still answers');
    assert.ok(r.afterClose.fds <= r.baseline.fds + 20, `descriptors return when the connections close (${r.afterClose.fds} vs ${r.baseline.fds})`);
    // generous: a connection costs a few KiB; this catches a buffer per connection
    assert.ok(r.rssPerConnectionKiB < 200, `RSS per connection ${r.rssPerConnectionKiB.toFixed(1)} KiB`);
    assert.ok(broker.alive());
    console.log(
      `# ${CONNECTIONS} connections: RSS ${(r.baseline.rssKiB / 1024).toFixed(1)} -> ${(r.withIdle.rssKiB / 1024).toFixed(1)} MiB ` +
        `(${r.rssPerConnectionKiB.toFixed(1)} KiB each), fds ${r.baseline.fds} -> ${r.withIdle.fds}`,
    );
  } finally {
    await broker.dispose();
  }
});
