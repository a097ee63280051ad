// Incremental fetch sessions (KIP-227). A consumer that fetches many partitions sends them
// all once (a full fetch, epoch 0, which creates a session) and afterwards only what
// changed (incremental fetches, epoch 1, 2, ...); the broker remembers the partitions and
// answers only with partitions that have news. The cache holds at most
// max.incremental.fetch.session.cache.slots sessions and evicts the least recently used.
import { randomInt } from 'node:crypto';
import { ErrorCode, ZERO_UUID, type FetchRequest } from '../protocol/index';

/** Request epochs with a meaning of their own. */
export const INITIAL_EPOCH = 0;
export const FINAL_EPOCH = -1;
/** Fetch v13 switched from topic names to topic ids. */
export const TOPIC_ID_MIN_VERSION = 13;
const INT32_MAX = 0x7fff_ffff;

/**
 * One partition a fetch reads: from the request (sessionless), or remembered by a session,
 * with what the client was last told about it (incremental responses omit what it knows).
 */
export interface FetchTarget {
  /** The topic's name; '' when the request named an unknown topic id. */
  readonly topic: string;
  /** The topic id the request used (v13+), else ZERO_UUID. */
  readonly topicId: string;
  readonly partition: number;
  fetchOffset: number;
  maxBytes: number;
  /** What the client last received; -1 before anything was sent. */
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
}

export class FetchSession {
  readonly id: number;
  /** The epoch the next incremental request must carry. */
  epoch = 1;
  readonly usesTopicIds: boolean;
  /** The session's partitions in response order, keyed by topic (name or id) and partition. */
  readonly partitions = new Map<string, FetchTarget>();

  constructor(id: number, usesTopicIds: boolean) {
    this.id = id;
    this.usesTopicIds = usesTopicIds;
  }

  advanceEpoch(): void {
    this.epoch = this.epoch === INT32_MAX ? 1 : this.epoch + 1;
  }

  /** Moves a partition that just returned data behind the others, so that max.bytes shares out fairly. */
  rotateToEnd(target: FetchTarget, key: string): void {
    this.partitions.delete(key);
    this.partitions.set(key, target);
  }
}

/** What a fetch request asks for, once its session fields are interpreted. */
export type FetchContext =
  | { readonly kind: 'error'; readonly errorCode: number }
  | { readonly kind: 'full'; readonly session: FetchSession | null; readonly targets: FetchTarget[] }
  | { readonly kind: 'incremental'; readonly session: FetchSession; readonly targets: FetchTarget[] };

/** Maps a v13+ topic id to its name ('' when unknown). */
export type TopicNameLookup = (topicId: string) => string;

export function targetKey(topic: string, topicId: string, partition: number, usesTopicIds: boolean): string {
  return `${usesTopicIds ? topicId : topic}:${partition}`;
}

/** The key of a target inside a session. */
export function keyOf(target: FetchTarget, usesTopicIds: boolean): string {
  return targetKey(target.topic, target.topicId, target.partition, usesTopicIds);
}

export class FetchSessionCache {
  private readonly maxSlots: number;
  // Map order is recency: the first entry is the least recently used.
  private readonly sessions = new Map<number, FetchSession>();

  constructor(maxSlots: number) {
    this.maxSlots = maxSlots;
  }

  get size(): number {
    return this.sessions.size;
  }

  has(sessionId: number): boolean {
    return this.sessions.has(sessionId);
  }

  /** Interprets the session fields of a fetch request (Kafka's FetchManager.newContext). */
  open(request: FetchRequest, version: number, nameOf: TopicNameLookup): FetchContext {
    const usesTopicIds = version >= TOPIC_ID_MIN_VERSION;
    const { sessionId, sessionEpoch } = request;
    if (sessionEpoch === INITIAL_EPOCH || sessionEpoch === FINAL_EPOCH) {
      // A full request: it replaces the session it names, if any.
      if (sessionId !== 0) this.sessions.delete(sessionId);
      const session = sessionEpoch === INITIAL_EPOCH ? this.create(usesTopicIds) : null;
      const targets: FetchTarget[] = [];
      for (const topic of request.topics) {
        const name = usesTopicIds ? nameOf(topic.topicId) : topic.topic;
        const topicId = usesTopicIds ? topic.topicId : ZERO_UUID;
        for (const p of topic.partitions) {
          if (session === null) {
            targets.push(newTarget(name, topicId, p.partition, p.fetchOffset, p.partitionMaxBytes));
            continue;
          }
          const byKey = session.partitions;
          const key = targetKey(name, topicId, p.partition, usesTopicIds);
          const existing = byKey.get(key);
          if (existing !== undefined) {
            // The same partition twice: the last one counts.
            existing.fetchOffset = p.fetchOffset;
            existing.maxBytes = p.partitionMaxBytes;
            continue;
          }
          const target = newTarget(name, topicId, p.partition, p.fetchOffset, p.partitionMaxBytes);
          byKey.set(key, target);
          targets.push(target);
        }
      }
      return { kind: 'full', session, targets };
    }
    const session = sessionId === 0 ? undefined : this.sessions.get(sessionId);
    if (session === undefined) return { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND };
    if (session.epoch !== sessionEpoch) return { kind: 'error', errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH };
    if (session.usesTopicIds !== usesTopicIds) return { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR };
    this.touch(session);
    session.advanceEpoch();
    // Added or changed partitions first, then the forgotten ones go (Kafka's order).
    for (const topic of request.topics) {
      const name = usesTopicIds ? nameOf(topic.topicId) : topic.topic;
      const topicId = usesTopicIds ? topic.topicId : ZERO_UUID;
      for (const p of topic.partitions) {
        const key = targetKey(name, topicId, p.partition, usesTopicIds);
        const existing = session.partitions.get(key);
        if (existing !== undefined) {
          existing.fetchOffset = p.fetchOffset;
          existing.maxBytes = p.partitionMaxBytes;
        } else {
          session.partitions.set(key, newTarget(name, topicId, p.partition, p.fetchOffset, p.partitionMaxBytes));
        }
      }
    }
    for (const forgotten of request.forgottenTopicsData) {
      const name = usesTopicIds ? nameOf(forgotten.topicId) : forgotten.topic;
      const topicId = usesTopicIds ? forgotten.topicId : ZERO_UUID;
      for (const partition of forgotten.partitions) session.partitions.delete(targetKey(name, topicId, partition, usesTopicIds));
    }
    return { kind: 'incremental', session, targets: [...session.partitions.values()] };
  }

  private create(usesTopicIds: boolean): FetchSession | null {
    if (this.maxSlots <= 0) return null;
    while (this.sessions.size >= this.maxSlots) {
      const lru = this.sessions.keys().next();
      if (lru.done === true) break;
      this.sessions.delete(lru.value);
    }
    let id: number;
    do id = randomInt(1, INT32_MAX);
    while (this.sessions.has(id));
    const session = new FetchSession(id, usesTopicIds);
    this.sessions.set(id, session);
    return session;
  }

  private touch(session: FetchSession): void {
    this.sessions.delete(session.id);
    this.sessions.set(session.id, session);
  }
}

function newTarget(topic: string, topicId: string, partition: number, fetchOffset: number, maxBytes: number): FetchTarget {
  return { topic, topicId, partition, fetchOffset, maxBytes, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1 };
}

/**
 * Whether an incremental response must carry this partition (records, an error, or a
 * changed high watermark / log start), remembering what the client is now told.
 */
export function mustRespond(target: FetchTarget, errorCode: number, recordBytes: number, highWatermark: number, lastStableOffset: number, logStartOffset: number): boolean {
  let changed = recordBytes > 0 || errorCode !== ErrorCode.NONE;
  if (target.highWatermark !== highWatermark || target.lastStableOffset !== lastStableOffset || target.logStartOffset !== logStartOffset) {
    changed = true;
    target.highWatermark = highWatermark;
    target.lastStableOffset = lastStableOffset;
    target.logStartOffset = logStartOffset;
  }
  if (errorCode !== ErrorCode.NONE) {
    // After an error the next good answer is news again.
    target.highWatermark = -1;
  }
  return changed;
}
