// A kafkajs group consumer in its own process, so that a test can kill it the way a crash
// would (no LeaveGroup, no final commit). Prints one JSON line per event on stdout:
// {"event":"running"} once run() started, {"event":"message",...} per message.
// Does nothing unless STRAND_GROUP_MEMBER=1 (the test runner also loads every file here).

import { Kafka, logLevel } from 'kafkajs';

async function main(): Promise<void> {
  const env = process.env;
  const kafka = new Kafka({ clientId: env['MEMBER_CLIENT_ID'] ?? 'child-member', brokers: [env['BOOTSTRAP']!], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({
    groupId: env['GROUP_ID']!,
    sessionTimeout: Number(env['SESSION_TIMEOUT_MS'] ?? '6000'),
    heartbeatInterval: 500,
    maxWaitTimeInMs: 200,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [env['TOPIC']!], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      process.stdout.write(`${JSON.stringify({ event: 'message', partition, offset: message.offset, value: message.value?.toString('utf8') ?? null })}\n`);
    },
  });
  process.stdout.write(`${JSON.stringify({ event: 'running' })}\n`);
}

if (process.env['STRAND_GROUP_MEMBER'] === '1') {
  main().catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
