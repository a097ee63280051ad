// Client-side helpers shared by the compatibility tests: kafkajs set up as a user would,
// a bounded group consumer, and kcat's JSON output parsed.

import { Kafka, logLevel, type Admin, type Consumer, type IHeaders, type KafkaMessage, type Producer } from 'kafkajs';
import { kcatOk, startBroker, type BrokerHandle, type BrokerOptions } from './harness.js';

export function kafkaFor(bootstrap: string, clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 },
  });
}

/** A broker child process with a connected kafkajs admin and producer, as most suites start. */
export interface KafkajsSession {
  broker: BrokerHandle;
  kafka: Kafka;
  admin: Admin;
  producer: Producer;
  /** Disconnects the clients and disposes of the broker (its data dir too). */
  close(): Promise<void>;
}

export async function startKafkajsSession(clientId: string, brokerOptions: BrokerOptions = {}): Promise<KafkajsSession> {
  const broker = await startBroker(brokerOptions);
  const kafka = kafkaFor(broker.bootstrap, clientId);
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const close = async (): Promise<void> => {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await broker.dispose();
  };
  try {
    await admin.connect();
    await producer.connect();
  } catch (err) {
    await close();
    throw err;
  }
  return { broker, kafka, admin, producer, close };
}

export interface ConsumedMessage {
  partition: number;
  offset: bigint;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    const single = Array.isArray(value) ? value[value.length - 1] : value;
    out[name] = single === undefined ? '' : Buffer.isBuffer(single) ? single.toString('utf8') : String(single);
  }
  return out;
}

export function fromKafkajs(partition: number, message: KafkaMessage): ConsumedMessage {
  return {
    partition,
    offset: BigInt(message.offset),
    key: message.key === null ? null : message.key.toString('utf8'),
    value: message.value === null ? null : message.value.toString('utf8'),
    headers: headersToStrings(message.headers),
  };
}

export interface GroupConsumeOptions {
  topic: string;
  groupId: string;
  /** Stop once this many messages have arrived. */
  expectedCount: number;
  fromBeginning?: boolean;
  timeoutMs?: number;
  /** Called after run() starts, e.g. to seek. */
  afterRun?: (consumer: Consumer) => void | Promise<void>;
}

/**
 * Consumes with a consumer group, as a kafkajs user would, until expectedCount messages have
 * arrived (or throws after timeoutMs with what did arrive). Messages are returned in
 * delivery order; the consumer is disconnected either way.
 */
export async function consumeWithGroup(kafka: Kafka, options: GroupConsumeOptions): Promise<ConsumedMessage[]> {
  const timeoutMs = options.timeoutMs ?? 45_000;
  const consumer = kafka.consumer({ groupId: options.groupId, maxWaitTimeInMs: 200, retry: { retries: 5 } });
  const got: ConsumedMessage[] = [];
  let settle: ((error?: Error) => void) | undefined;
  const finished = new Promise<void>((resolve, reject) => {
    settle = (error) => (error ? reject(error) : resolve());
  });
  consumer.on(consumer.events.CRASH, (event) => settle?.(new Error(`consumer crashed: ${String(event.payload.error)}`)));
  const timer = setTimeout(
    () => settle?.(new Error(`group consumer got ${got.length} of ${options.expectedCount} messages from ${options.topic} within ${timeoutMs} ms`)),
    timeoutMs,
  );
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [options.topic], fromBeginning: options.fromBeginning ?? true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) got.push(fromKafkajs(batch.partition, message));
        if (got.length >= options.expectedCount) settle?.();
      },
    });
    if (options.afterRun) await options.afterRun(consumer);
    if (options.expectedCount === 0) settle?.();
    await finished;
    return got;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
}

export interface KcatMessage {
  partition: number;
  offset: number;
  key: string | null;
  payload: string | null;
  headers: Record<string, string>;
}

interface KcatJsonLine {
  partition: number;
  offset: number;
  key: string | null;
  payload: string | null;
  headers?: string[];
}

/** Reads a topic (or one partition) from the beginning to its end with kcat, no group. */
export async function readWithKcat(
  bootstrap: string,
  topic: string,
  { partition, startOffset = 'beginning', timeoutMs = 60_000 }: { partition?: number; startOffset?: string; timeoutMs?: number } = {},
): Promise<KcatMessage[]> {
  const args = ['-C', '-b', bootstrap, '-t', topic, '-o', startOffset, '-e', '-q', '-J', '-X', 'check.crcs=true'];
  if (partition !== undefined) args.push('-p', String(partition));
  const result = await kcatOk(args, { timeoutMs });
  const out: KcatMessage[] = [];
  for (const line of result.stdout.toString('utf8').split('\n')) {
    if (line.trim() === '') continue;
    const parsed = JSON.parse(line) as KcatJsonLine;
    const headers: Record<string, string> = {};
    const list = parsed.headers ?? [];
    for (let i = 0; i + 1 < list.length; i += 2) headers[list[i]!] = list[i + 1]!;
    out.push({ partition: parsed.partition, offset: parsed.offset, key: parsed.key, payload: parsed.payload, headers });
  }
  return out;
}

/** Groups messages by partition, keeping their order. */
export function byPartition<T extends { partition: number }>(messages: readonly T[]): Map<number, T[]> {
  const out = new Map<number, T[]>();
  for (const m of messages) {
    const list = out.get(m.partition) ?? [];
    list.push(m);
    out.set(m.partition, list);
  }
  return out;
}

/**
 * The Kafka error names (kafkajs' `type`, e.g. 'INVALID_REPLICATION_FACTOR') carried by an
 * error kafkajs threw, looking through its aggregate and retry wrappers.
 */
export function kafkaErrorTypes(error: unknown): string[] {
  const out: string[] = [];
  const visit = (e: unknown, depth: number): void => {
    if (depth > 5 || typeof e !== 'object' || e === null) return;
    const record = e as { type?: unknown; errors?: unknown; originalError?: unknown; cause?: unknown };
    if (typeof record.type === 'string') out.push(record.type);
    if (Array.isArray(record.errors)) for (const inner of record.errors) visit(inner, depth + 1);
    visit(record.originalError, depth + 1);
    visit(record.cause, depth + 1);
  };
  visit(error, 0);
  return out;
}

/** Asserts that `promise` rejects with a kafkajs error carrying the Kafka error `type`. */
export async function rejectsWithKafkaError(promise: Promise<unknown>, type: string): Promise<void> {
  let outcome: unknown;
  try {
    outcome = await promise;
  } catch (error) {
    const types = kafkaErrorTypes(error);
    if (!types.includes(type)) {
      throw new Error(`expected Kafka error ${type}, got ${types.join(', ') || String(error)}`);
    }
    return;
  }
  throw new Error(`expected Kafka error ${type}, but the call succeeded with ${JSON.stringify(outcome)}`);
}
