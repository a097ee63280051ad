// Many idle connections plus a producer and a consumer at work: shared by the bounded test
// (test/load/connections.test.ts, 1,000) and the bench (bench/load/connections.ts, 5,000).

import { consumeWithGroup, kafkaFor } from '../compat/clients.js';
import { raiseFileLimit } from '../../src/storage/index.js';
import { sleep, type LoadBroker } from './broker-child.js';
import { apiVersions, createTopicsOk, RawClient } from './wire.js';

export interface ConnectionLoadReport {
  idleConnections: number;
  baseline: { rssKiB: number; fds: number };
  withIdle: { rssKiB: number; fds: number };
  afterWork: { rssKiB: number; fds: number };
  afterClose: { rssKiB: number; fds: number };
  rssPerConnectionKiB: number;
  connectSeconds: number;
  produced: number;
  consumed: number;
  produceSeconds: number;
  consumeSeconds: number;
  /** Idle connections that still answered ApiVersions after the work. */
  stillAnswering: number;
}

/**
 * The client side needs a descriptor per connection too: raises this process's soft limit
 * and throws when even the hard limit is too low (a test must not pass by skipping).
 */
export function ensureClientDescriptors(needed: number): void {
  const limit = raiseFileLimit();
  if (limit.soft >= 0 && limit.soft < needed) {
    throw new Error(`this process may open ${limit.soft} descriptors (hard limit ${limit.hard}); ${needed} are needed: raise \`ulimit -n\``);
  }
}

export async function runConnectionLoad(broker: LoadBroker, idleCount: number, messages = 2_000): Promise<ConnectionLoadReport> {
  const measure = (): { rssKiB: number; fds: number } => ({ rssKiB: broker.rssKiB(), fds: broker.fdCount() });
  const topic = 'connection-load';
  await createTopicsOk(broker.port, [{ name: topic, partitions: 4 }]);
  await sleep(500);
  const baseline = measure();

  const idle: RawClient[] = [];
  const connectStart = Date.now();
  try {
    // waves below the listen backlog (1024), each connection proven with a request
    const wave = 250;
    for (let opened = 0; opened < idleCount; opened += wave) {
      const n = Math.min(wave, idleCount - opened);
      const clients = await Promise.all(Array.from({ length: n }, () => RawClient.connect(broker.port, '127.0.0.1', 20_000)));
      idle.push(...clients);
      const codes = await Promise.all(clients.map((c) => apiVersions(c, 30_000)));
      if (codes.some((c) => c !== 0)) throw new Error(`ApiVersions failed on a new connection: ${codes.find((c) => c !== 0)}`);
    }
    const connectSeconds = (Date.now() - connectStart) / 1000;
    await sleep(500);
    const withIdle = measure();

    const kafka = kafkaFor(broker.bootstrap, 'connection-load');
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const produceStart = Date.now();
    let produced = 0;
    try {
      for (let i = 0; i < messages; i += 100) {
        const batch = [];
        for (let j = i; j < Math.min(messages, i + 100); j++) batch.push({ key: `k${j}`, value: `value-${j}` });
        await producer.send({ topic, acks: -1, messages: batch });
        produced += batch.length;
      }
    } finally {
      await producer.disconnect();
    }
    const produceSeconds = (Date.now() - produceStart) / 1000;
    const consumeStart = Date.now();
    const got = await consumeWithGroup(kafka, { topic, groupId: 'connection-load', expectedCount: messages, timeoutMs: 60_000 });
    const consumeSeconds = (Date.now() - consumeStart) / 1000;
    const values = new Set(got.map((m) => m.value));
    for (let j = 0; j < messages; j++) {
      if (!values.has(`value-${j}`)) throw new Error(`message value-${j} was not consumed`);
    }
    const afterWork = measure();

    let stillAnswering = 0;
    for (let i = 0; i < idle.length; i += 500) {
      const codes = await Promise.allSettled(idle.slice(i, i + 500).map((c) => apiVersions(c, 30_000)));
      stillAnswering += codes.filter((r) => r.status === 'fulfilled' && r.value === 0).length;
    }
    for (const c of idle.splice(0)) c.close();
    // the broker sees the closes
    let afterClose = measure();
    for (let i = 0; i < 100 && afterClose.fds > baseline.fds + 20; i++) {
      await sleep(100);
      afterClose = measure();
    }
    return {
      idleConnections: idleCount,
      baseline,
      withIdle,
      afterWork,
      afterClose,
      rssPerConnectionKiB: (withIdle.rssKiB - baseline.rssKiB) / idleCount,
      connectSeconds,
      produced,
      consumed: got.length,
      produceSeconds,
      consumeSeconds,
      stillAnswering,
    };
  } finally {
    for (const c of idle) c.close();
  }
}
