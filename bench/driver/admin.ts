// The load generator's admin side: which request versions to speak (the highest both the
// broker and the suite know), topic creation (CreateTopics, or auto-creation through
// Metadata when the broker has no CreateTopics), waiting for leaders, deletion.

import {
  ApiKey,
  ErrorCode,
  ZERO_UUID,
  decodeResponseFrame,
  errorName,
  API_CODECS,
  type ApiKeyNumber,
} from '../../src/protocol/index.js';
import type { MetadataResponse } from '../../src/protocol/index.js';
import type { KafkaConnection } from './connection.js';

export interface ApiRange {
  min: number;
  max: number;
}

export interface NegotiatedVersions {
  apiVersions: number;
  produce: number;
  fetch: number;
  metadata: number;
  createTopics: number | null;
  deleteTopics: number | null;
}

/**
 * The version ranges the suite speaks. Produce from 3 and Fetch from 4 (record batch v2);
 * Fetch up to 12, the last version that names topics (13 and later use topic ids).
 */
const WANTED: ReadonlyArray<[keyof Omit<NegotiatedVersions, 'apiVersions'>, ApiKeyNumber, number, number, boolean]> = [
  ['produce', ApiKey.Produce, 3, 11, true],
  ['fetch', ApiKey.Fetch, 4, 12, true],
  ['metadata', ApiKey.Metadata, 1, 12, true],
  ['createTopics', ApiKey.CreateTopics, 0, 7, false],
  ['deleteTopics', ApiKey.DeleteTopics, 0, 6, false],
];

/** The highest version in both [min, max] (capped by the codec) and the broker's range; null if none. */
export function pickVersion(apiKey: ApiKeyNumber, broker: ApiRange | undefined, min: number, max: number): number | null {
  if (broker === undefined) return null;
  const codec = API_CODECS[apiKey];
  const high = Math.min(max, codec.maxVersion, broker.max);
  const low = Math.max(min, codec.minVersion, broker.min);
  return high >= low ? high : null;
}

export async function fetchApiVersions(conn: KafkaConnection): Promise<{ version: number; ranges: Map<number, ApiRange> }> {
  for (const version of [3, 0]) {
    const frame = await conn.requestRaw(ApiKey.ApiVersions, version, { clientSoftwareName: 'strand-bench', clientSoftwareVersion: '1.0' });
    // ApiVersions responses have header v0 (the correlation id), and every version starts
    // with the error code; a broker that does not know v3 answers in v0's layout.
    const errorCode = frame.readInt16BE(4);
    if (errorCode === ErrorCode.UNSUPPORTED_VERSION && version !== 0) continue;
    if (errorCode !== ErrorCode.NONE) throw new Error(`ApiVersions failed: ${errorName(errorCode)}`);
    const body = decodeResponseFrame(ApiKey.ApiVersions, version, frame).body;
    const ranges = new Map<number, ApiRange>();
    for (const k of body.apiKeys) ranges.set(k.apiKey, { min: k.minVersion, max: k.maxVersion });
    return { version, ranges };
  }
  throw new Error('ApiVersions: the broker supports neither v3 nor v0');
}

export async function negotiateVersions(conn: KafkaConnection): Promise<NegotiatedVersions> {
  const { version, ranges } = await fetchApiVersions(conn);
  const out: NegotiatedVersions = { apiVersions: version, produce: -1, fetch: -1, metadata: -1, createTopics: null, deleteTopics: null };
  const missing: string[] = [];
  for (const [field, apiKey, min, max, required] of WANTED) {
    const v = pickVersion(apiKey, ranges.get(apiKey), min, max);
    if (v === null && required) {
      const r = ranges.get(apiKey);
      missing.push(`${API_CODECS[apiKey].name} ${min}-${max} (broker: ${r === undefined ? 'none' : `${r.min}-${r.max}`})`);
    }
    (out as unknown as Record<string, number | null>)[field] = v;
  }
  if (missing.length > 0) throw new Error(`the broker lacks request versions the suite needs: ${missing.join('; ')}`);
  return out;
}

export interface TopicLayout {
  name: string;
  partitions: number;
  /** How the topic came to be: 'CreateTopics' or 'Metadata auto-create'. */
  createdBy: string;
}

const TOPIC_ALREADY_EXISTS = 36;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function metadataFor(conn: KafkaConnection, versions: NegotiatedVersions, topic: string, autoCreate: boolean): Promise<MetadataResponse> {
  return conn.request(ApiKey.Metadata, versions.metadata, {
    topics: [{ topicId: ZERO_UUID, name: topic }],
    allowAutoTopicCreation: autoCreate,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });
}

/**
 * Waits until the topic has `partitions` partitions (any number when null), each with a
 * leader, and checks that the broker the suite talks to leads them all: the suite drives
 * single-broker targets.
 */
export async function waitForTopic(
  conn: KafkaConnection,
  versions: NegotiatedVersions,
  topic: string,
  partitions: number | null,
  timeoutMs: number,
  autoCreate = false,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    const md = await metadataFor(conn, versions, topic, autoCreate);
    const t = md.topics.find((x) => x.name === topic);
    if (t === undefined) last = 'topic missing from Metadata';
    else if (t.errorCode !== ErrorCode.NONE) last = errorName(t.errorCode);
    else if (t.partitions.length === 0 || (partitions !== null && t.partitions.length < partitions)) {
      last = `${t.partitions.length} of ${partitions ?? '?'} partitions`;
    } else {
      const leaderless = t.partitions.filter((p) => p.leaderId < 0 || p.errorCode !== ErrorCode.NONE).length;
      if (leaderless === 0) {
        const leaders = new Set(t.partitions.map((p) => p.leaderId));
        if (md.brokers.length > 1 && leaders.size > 1) {
          throw new Error(`topic ${topic} has leaders on ${leaders.size} brokers: the suite drives single-broker targets only`);
        }
        return t.partitions.length;
      }
      last = `${leaderless} partitions without a leader`;
    }
    if (Date.now() > deadline) throw new Error(`topic ${topic} not ready after ${timeoutMs} ms: ${last}`);
    await sleep(50);
  }
}

/** Creates `topic` with `partitions` partitions (replication factor 1) and waits for its leaders. */
export async function createTopic(
  conn: KafkaConnection,
  versions: NegotiatedVersions,
  topic: string,
  partitions: number,
  timeoutMs: number,
): Promise<TopicLayout> {
  if (versions.createTopics === null) {
    // No CreateTopics: a Metadata request for the name creates it with the broker's num.partitions.
    const got = await waitForTopic(conn, versions, topic, null, timeoutMs, true);
    return { name: topic, partitions: got, createdBy: 'Metadata auto-create' };
  }
  const res = await conn.request(ApiKey.CreateTopics, versions.createTopics, {
    topics: [{ name: topic, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs,
    validateOnly: false,
  });
  const r = res.topics.find((t) => t.name === topic);
  if (r === undefined) throw new Error(`CreateTopics answered without topic ${topic}`);
  if (r.errorCode !== ErrorCode.NONE && r.errorCode !== TOPIC_ALREADY_EXISTS) {
    throw new Error(`CreateTopics ${topic}: ${errorName(r.errorCode)}${r.errorMessage ? `: ${r.errorMessage}` : ''}`);
  }
  const got = await waitForTopic(conn, versions, topic, partitions, timeoutMs);
  return { name: topic, partitions: got, createdBy: 'CreateTopics' };
}

/** Deletes the topic; null when it is gone, else why not. */
export async function deleteTopic(conn: KafkaConnection, versions: NegotiatedVersions, topic: string, timeoutMs: number): Promise<string | null> {
  if (versions.deleteTopics === null) return 'the broker has no DeleteTopics';
  const res = await conn.request(ApiKey.DeleteTopics, versions.deleteTopics, {
    topics: [{ name: topic, topicId: ZERO_UUID }],
    topicNames: [topic],
    timeoutMs,
  });
  const r = res.responses[0];
  if (r === undefined) return 'DeleteTopics answered without the topic';
  if (r.errorCode === ErrorCode.NONE || r.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) return null;
  return `DeleteTopics: ${errorName(r.errorCode)}${r.errorMessage ? `: ${r.errorMessage}` : ''}`;
}

/** Metadata for no topics: proves the broker answers (used to wait for a starting broker). */
export async function brokerCount(conn: KafkaConnection, versions: NegotiatedVersions): Promise<number> {
  const md = await conn.request(ApiKey.Metadata, versions.metadata, {
    topics: [],
    allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });
  return md.brokers.length;
}
