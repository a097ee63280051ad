// DeleteTopics (api key 20): deletes topics named in the request (v0-5), or named or given
// by topic id (v6+). The partition logs follow the registry's 'deleted' event. Internal
// topics are deleted like any other, as Kafka's broker does (its tools refuse, not the broker).

import type { TopicInfo } from '../../cluster/index';
import { ApiKey, ErrorCode, ZERO_UUID, type DeleteTopicsResponse } from '../../protocol/index';
import type { DeletableTopicResult } from '../../protocol/generated/delete-topics-response';
import { defineHandler, type RequestContext } from '../api-handler';
import { apiErrorOf, duplicatesOf } from './admin-common';

/** One entry of the request after the checks that need no topic lookup. */
type Wanted =
  | { kind: 'name'; name: string }
  | { kind: 'id'; topicId: string }
  | { kind: 'refused'; result: DeletableTopicResult };

function result(name: string | null, topicId: string, errorCode: number, errorMessage: string | null): DeletableTopicResult {
  return { name, topicId, errorCode, errorMessage };
}

/** Reads the request's entries in order, refusing entries that are malformed or repeated. */
function wantedTopics(names: readonly string[], states: ReadonlyArray<{ name: string | null; topicId: string }>): Wanted[] {
  const entries: Array<{ name: string | null; topicId: string }> = [...names.map((name) => ({ name, topicId: ZERO_UUID })), ...states];
  const duplicateNames = duplicatesOf(entries.filter((e) => e.name !== null && e.topicId === ZERO_UUID).map((e) => e.name!));
  const duplicateIds = duplicatesOf(entries.filter((e) => e.name === null && e.topicId !== ZERO_UUID).map((e) => e.topicId));
  const reported = new Set<string>();
  const out: Wanted[] = [];
  for (const entry of entries) {
    if (entry.name === null && entry.topicId === ZERO_UUID) {
      out.push({ kind: 'refused', result: result(null, ZERO_UUID, ErrorCode.INVALID_REQUEST, 'Neither topic name nor id were specified.') });
    } else if (entry.name !== null && entry.topicId !== ZERO_UUID) {
      out.push({
        kind: 'refused',
        result: result(entry.name, entry.topicId, ErrorCode.INVALID_REQUEST, 'You may not specify both topic name and topic id.'),
      });
    } else if (entry.name !== null) {
      if (!duplicateNames.has(entry.name)) out.push({ kind: 'name', name: entry.name });
      else if (!reported.has(`n:${entry.name}`)) {
        reported.add(`n:${entry.name}`);
        out.push({ kind: 'refused', result: result(entry.name, ZERO_UUID, ErrorCode.INVALID_REQUEST, 'Duplicate topic name.') });
      }
    } else if (!duplicateIds.has(entry.topicId)) {
      out.push({ kind: 'id', topicId: entry.topicId });
    } else if (!reported.has(`i:${entry.topicId}`)) {
      reported.add(`i:${entry.topicId}`);
      out.push({ kind: 'refused', result: result(null, entry.topicId, ErrorCode.INVALID_REQUEST, 'Duplicate topic id.') });
    }
  }
  return out;
}

async function deleteOne(topic: TopicInfo, ctx: RequestContext): Promise<DeletableTopicResult> {
  try {
    const deleted = await ctx.services.registry.delete(topic.name);
    // Answer once the logs are out of the way: a client that creates the name again next
    // must get empty partitions.
    await ctx.services.partitions.logsDeleted(deleted.name);
    ctx.log.info({ topic: deleted.name, topicId: deleted.topicIdString }, 'deleted topic');
    return result(deleted.name, deleted.topicIdString, ErrorCode.NONE, null);
  } catch (err) {
    const error = apiErrorOf(err, ctx.log, 'DeleteTopics');
    return result(topic.name, topic.topicIdString, error.code, error.message);
  }
}

export const deleteTopicsHandler = defineHandler({
  apiKey: ApiKey.DeleteTopics,
  minVersion: 0,
  maxVersion: 6,
  async handle(request, ctx): Promise<DeleteTopicsResponse> {
    const version = ctx.header.apiVersion;
    const registry = ctx.services.registry;
    if (!ctx.services.config.deleteTopicEnable) {
      // Versions before 3 predate TOPIC_DELETION_DISABLED; Kafka answers them INVALID_REQUEST.
      const code = version < 3 ? ErrorCode.INVALID_REQUEST : ErrorCode.TOPIC_DELETION_DISABLED;
      const responses = [...request.topicNames.map((name) => ({ name, topicId: ZERO_UUID })), ...request.topics].map((e) =>
        result(e.name, e.topicId, code, 'Topic deletion is disabled.'),
      );
      return { throttleTimeMs: 0, responses };
    }

    const wanted = wantedTopics(request.topicNames, request.topics);
    // Resolve every entry first, so that a name and an id meaning the same topic are caught
    // before anything is deleted.
    const resolved: Array<{ topic: TopicInfo | undefined; entry: Wanted }> = wanted.map((entry) => ({
      entry,
      topic: entry.kind === 'name' ? registry.get(entry.name) : entry.kind === 'id' ? registry.getById(entry.topicId) : undefined,
    }));
    const timesNamed = new Map<string, number>();
    for (const { topic } of resolved) if (topic !== undefined) timesNamed.set(topic.name, (timesNamed.get(topic.name) ?? 0) + 1);

    const responses: DeletableTopicResult[] = [];
    for (const { entry, topic } of resolved) {
      if (entry.kind === 'refused') {
        responses.push(entry.result);
      } else if (topic === undefined) {
        responses.push(
          entry.kind === 'name'
            ? result(entry.name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.')
            : result(null, entry.topicId, ErrorCode.UNKNOWN_TOPIC_ID, 'This server does not host this topic ID.'),
        );
      } else if ((timesNamed.get(topic.name) ?? 0) > 1) {
        responses.push(
          result(topic.name, topic.topicIdString, ErrorCode.INVALID_REQUEST, 'The provided topic name maps to an ID that was already supplied.'),
        );
      } else {
        responses.push(await deleteOne(topic, ctx));
      }
    }
    return { throttleTimeMs: 0, responses };
  },
});
