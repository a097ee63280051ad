// Fetch (api key 1): reads whole record batches as file regions of segment files (zero
// copy: the network layer sends them with sendfile, or copies them when small). A fetch
// that finds less than min.bytes waits in the delayed-fetch queue until appends bring
// enough, or max.wait.ms passes. Fetch sessions (KIP-227) let consumers send only changes.
import type { TopicRegistry } from '../../cluster/index';
import { ApiKey, EMPTY_BYTES, ErrorCode, type FetchResponse } from '../../protocol/index';
import type { FetchableTopicResponse, PartitionData } from '../../protocol/generated/fetch-response';
import { releaseRegions, retainRegions, StorageError, type FileRegion, type Log } from '../../storage/index';
import { defineHandler, ReleasableResponse, type HandlerResult, type RequestContext } from '../api-handler';
import { DelayedFetchQueue, type WatchedPartition } from '../delayed-fetch';
import { FetchSessionCache, keyOf, mustRespond, TOPIC_ID_MIN_VERSION, type FetchContext, type FetchSession, type FetchTarget } from '../fetch-sessions';
import type { BrokerServices } from '../services';

/** isolation_level 1: only committed records (all of them here: no open transactions). */
const READ_COMMITTED = 1;

/** What one partition read found. */
interface PartitionRead {
  readonly target: FetchTarget;
  readonly errorCode: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  readonly regions: FileRegion[] | null;
  readonly bytes: number;
  readonly errorMessage?: string;
}

interface ReadPass {
  readonly reads: PartitionRead[];
  readonly bytes: number;
  readonly hasError: boolean;
}

/** Per-broker fetch state: the delayed-fetch queue, the session cache, topic names by id. */
interface FetchState {
  readonly queue: DelayedFetchQueue;
  readonly sessions: FetchSessionCache;
  readonly namesById: Map<string, string>;
  closing: boolean;
}

const states = new WeakMap<BrokerServices, FetchState>();

function stateOf(services: BrokerServices): FetchState {
  let state = states.get(services);
  if (state === undefined) {
    const namesById = new Map<string, string>();
    // A deleted topic's id must stop resolving; other changes keep names and ids.
    services.registry.subscribe((event) => {
      if (event.type === 'deleted') namesById.delete(event.topic.topicIdString);
    });
    state = {
      queue: new DelayedFetchQueue(services.partitions),
      sessions: new FetchSessionCache(services.config.maxIncrementalFetchSessionCacheSlots),
      namesById,
      closing: false,
    };
    states.set(services, state);
  }
  return state;
}

/** Shutdown: waiting fetches answer now, and new ones do not wait. */
export function completeDelayedFetches(services: BrokerServices): void {
  const state = states.get(services);
  if (state === undefined) return;
  state.closing = true;
  state.queue.completeAll();
}

/** Fetches waiting in the delayed-fetch queue (tests, metrics). */
export function waitingFetchCount(services: BrokerServices): number {
  return states.get(services)?.queue.size ?? 0;
}

/** Fetch sessions currently cached (tests, metrics). */
export function fetchSessionCount(services: BrokerServices): number {
  return states.get(services)?.sessions.size ?? 0;
}

function topicNameOf(registry: TopicRegistry, namesById: Map<string, string>, topicId: string): string {
  const cached = namesById.get(topicId);
  if (cached !== undefined) return cached;
  const info = registry.getById(topicId);
  if (info === undefined) return '';
  namesById.set(topicId, info.name);
  return info.name;
}

function errorRead(target: FetchTarget, errorCode: number, errorMessage?: string): PartitionRead {
  return { target, errorCode, highWatermark: -1, logStartOffset: -1, regions: null, bytes: 0, errorMessage };
}

/**
 * Reads every target under the response limit `maxBytes`: each partition up to its own
 * maxBytes, whole batches only, the first batch of the first partition with data whole
 * even when larger than both limits (so that a consumer always makes progress).
 */
function readPartitions(services: BrokerServices, targets: readonly FetchTarget[], maxBytes: number, usesTopicIds: boolean): ReadPass {
  const registry = services.registry;
  const reads: PartitionRead[] = new Array<PartitionRead>(targets.length);
  let remaining = maxBytes;
  let total = 0;
  let hasError = false;
  let minOneBatch = true;
  for (let i = 0; i < targets.length; i++) {
    const target = targets[i]!;
    let log: Log | undefined;
    if (target.topic !== '' && registry.has(target.topic)) log = services.partitions.getLog(target.topic, target.partition);
    if (log === undefined) {
      const unknownId = usesTopicIds && target.topic === '';
      reads[i] = errorRead(target, unknownId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      hasError = true;
      continue;
    }
    const logStartOffset = log.logStartOffset;
    const highWatermark = log.logEndOffset;
    const offset = target.fetchOffset;
    if (offset < logStartOffset || offset > highWatermark) {
      reads[i] = errorRead(target, ErrorCode.OFFSET_OUT_OF_RANGE);
      hasError = true;
      continue;
    }
    const limit = Math.min(target.maxBytes, remaining);
    if (offset === highWatermark || (limit <= 0 && !minOneBatch)) {
      reads[i] = { target, errorCode: ErrorCode.NONE, highWatermark, logStartOffset, regions: null, bytes: 0 };
      continue;
    }
    try {
      const result = log.read(offset, Math.max(limit, 0), { minOneBatch });
      reads[i] = { target, errorCode: ErrorCode.NONE, highWatermark, logStartOffset, regions: result.regions, bytes: result.bytes };
      if (result.bytes > 0) {
        minOneBatch = false;
        remaining -= result.bytes;
        total += result.bytes;
      }
    } catch (err) {
      if (!(err instanceof StorageError)) throw err;
      reads[i] = errorRead(target, err.kafkaErrorCode, err.message);
      hasError = true;
    }
  }
  return { reads, bytes: total, hasError };
}

/** Builds the response from a read pass, duplicating the regions' fds for the response to own. */
function buildResponse(
  ctx: RequestContext,
  context: Exclude<FetchContext, { kind: 'error' }>,
  pass: ReadPass,
  readCommitted: boolean,
): HandlerResult<FetchResponse> {
  const session: FetchSession | null = context.session;
  const incremental = context.kind === 'incremental';
  const usesTopicIds = session?.usesTopicIds ?? ctx.header.apiVersion >= TOPIC_ID_MIN_VERSION;
  const responses: FetchableTopicResponse[] = [];
  let retained: FileRegion[][] | null = null;
  let current: FetchableTopicResponse | null = null;
  for (const read of pass.reads) {
    const target = read.target;
    let errorCode = read.errorCode;
    let records: PartitionData['records'] = EMPTY_BYTES;
    if (read.regions !== null && read.regions.length > 0) {
      try {
        const regions = retainRegions(read.regions);
        (retained ??= []).push(regions);
        records = { sizeBytes: read.bytes, regions };
      } catch (err) {
        if (!(err instanceof StorageError)) throw err;
        ctx.log.error({ topic: target.topic, partition: target.partition, err: err.message }, 'cannot hold the file regions of a fetch');
        errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
      }
    }
    const failed = errorCode !== ErrorCode.NONE;
    const highWatermark = failed ? -1 : read.highWatermark;
    const logStartOffset = failed ? -1 : read.logStartOffset;
    const recordBytes = records === EMPTY_BYTES ? 0 : read.bytes;
    if (session !== null) {
      const include = mustRespond(target, errorCode, recordBytes, highWatermark, highWatermark, logStartOffset);
      if (incremental && recordBytes > 0) session.rotateToEnd(target, keyOf(target, usesTopicIds));
      if (incremental && !include) continue;
    }
    if (current === null || current.topic !== target.topic || current.topicId !== target.topicId) {
      current = { topic: target.topic, topicId: target.topicId, partitions: [] };
      responses.push(current);
    }
    current.partitions.push({
      partitionIndex: target.partition,
      errorCode,
      highWatermark,
      // Single broker, no open transactions: everything below the high watermark is stable.
      lastStableOffset: highWatermark,
      logStartOffset,
      abortedTransactions: readCommitted ? [] : null,
      preferredReadReplica: -1,
      records,
    });
  }
  const body: FetchResponse = { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: session?.id ?? 0, responses };
  if (retained === null) return body;
  const held = retained;
  let released = false;
  return new ReleasableResponse(body, () => {
    if (released) return;
    released = true;
    for (const regions of held) releaseRegions(regions);
  });
}

function errorResponse(errorCode: number): FetchResponse {
  return { throttleTimeMs: 0, errorCode, sessionId: 0, responses: [] };
}

function watchedPartitions(reads: readonly PartitionRead[]): WatchedPartition[] {
  const watched: WatchedPartition[] = [];
  for (const read of reads) watched.push({ topic: read.target.topic, partition: read.target.partition });
  return watched;
}

export const fetchHandler = defineHandler({
  apiKey: ApiKey.Fetch,
  minVersion: 4,
  maxVersion: 17,
  handle(request, ctx) {
    const services = ctx.services;
    const state = stateOf(services);
    const version = ctx.header.apiVersion;
    const context = state.sessions.open(request, version, (id) => topicNameOf(services.registry, state.namesById, id));
    if (context.kind === 'error') return errorResponse(context.errorCode);
    const usesTopicIds = version >= TOPIC_ID_MIN_VERSION;
    const maxBytes = Math.min(request.maxBytes, services.config.fetchMaxBytes);
    const readCommitted = request.isolationLevel === READ_COMMITTED;
    const targets = context.targets;
    const first = readPartitions(services, targets, maxBytes, usesTopicIds);
    // Kafka answers at once when waiting cannot help or is not wanted.
    if (request.maxWaitMs <= 0 || targets.length === 0 || first.bytes >= request.minBytes || first.hasError || state.closing) {
      return buildResponse(ctx, context, first, readCommitted);
    }
    // The first read's regions are dropped unheld: after the wait the partitions are read again.
    return state.queue
      .wait(watchedPartitions(first.reads), { minBytes: request.minBytes, availableBytes: first.bytes, maxWaitMs: request.maxWaitMs, conn: ctx.conn })
      .then((outcome) => {
        if (outcome === 'closed') return null;
        // Incremental targets are the session's, possibly reordered meanwhile; re-take them.
        const again = context.kind === 'incremental' ? [...context.session.partitions.values()] : targets;
        return buildResponse(ctx, context, readPartitions(services, again, maxBytes, usesTopicIds), readCommitted);
      });
  },
});
