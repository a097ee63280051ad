// CreateTopics (api key 19): creates topics with a partition count or a manual assignment,
// a replication factor and config overrides, or only checks that it could (validateOnly).
// Each topic gets its own result; v5+ results describe what was created.

import { validateTopicName, type TopicInfo } from '../../cluster/index';
import { describeTopicConfigs, validateTopicConfigs } from '../../config/index';
import { ApiKey, ErrorCode, ZERO_UUID, type CreateTopicsResponse } from '../../protocol/index';
import type { CreatableTopic } from '../../protocol/generated/create-topics-request';
import type { CreatableTopicConfigs, CreatableTopicResult } from '../../protocol/generated/create-topics-response';
import { defineHandler, type RequestContext } from '../api-handler';
import { AdminError, apiErrorOf, duplicatesOf, validateManualAssignment } from './admin-common';

// KRaft's metadata log: Kafka refuses to create a topic of that name.
const CLUSTER_METADATA_TOPIC = '__cluster_metadata';

interface CreationPlan {
  partitionCount: number;
  replicationFactor: number;
  overrides: Record<string, string>;
}

function failed(name: string, code: number, message: string | null): CreatableTopicResult {
  return { name, topicId: ZERO_UUID, errorCode: code, errorMessage: message, numPartitions: -1, replicationFactor: -1, configs: [] };
}

/** Config overrides as given (a key named twice keeps its last value, as in Kafka), validated. */
function overridesOf(topic: CreatableTopic, ctx: RequestContext): Record<string, string> {
  const given = new Map<string, string | null>();
  for (const config of topic.configs) given.set(config.name, config.value);
  const nullKeys = [...given].filter(([, value]) => value === null).map(([key]) => key);
  if (nullKeys.length > 0) {
    throw new AdminError(ErrorCode.INVALID_CONFIG, `Null value not supported for topic configs: ${nullKeys.join(',')}`);
  }
  const overrides = Object.fromEntries(given) as Record<string, string>;
  const firstError = validateTopicConfigs(overrides, ctx.services.config)[0];
  if (firstError !== undefined) throw new AdminError(ErrorCode.INVALID_CONFIG, firstError.message);
  return overrides;
}

/** Partition count and replication factor from a manual assignment (Kafka's checks and wording). */
function planFromAssignments(topic: CreatableTopic, nodeId: number): { partitionCount: number; replicationFactor: number } {
  if (topic.replicationFactor !== -1) {
    throw new AdminError(ErrorCode.INVALID_REQUEST, 'A manual partition assignment was specified, but replication factor was not set to -1.');
  }
  if (topic.numPartitions !== -1) {
    throw new AdminError(ErrorCode.INVALID_REQUEST, 'A manual partition assignment was specified, but numPartitions was not set to -1.');
  }
  const seen = new Set<number>();
  let replicationFactor: number | null = null;
  for (const assignment of topic.assignments) {
    if (seen.has(assignment.partitionIndex)) {
      throw new AdminError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `Found multiple manual partition assignments for partition ${assignment.partitionIndex}`,
      );
    }
    validateManualAssignment(assignment.brokerIds, replicationFactor, nodeId);
    replicationFactor = assignment.brokerIds.length;
    seen.add(assignment.partitionIndex);
  }
  for (let p = 0; p < seen.size; p++) {
    if (!seen.has(p)) {
      throw new AdminError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'partitions should be a consecutive 0-based integer sequence');
    }
  }
  // The loop ran at least once (the caller checked), so replicationFactor is set.
  return { partitionCount: seen.size, replicationFactor: replicationFactor ?? 1 };
}

function planOf(topic: CreatableTopic, ctx: RequestContext): CreationPlan {
  const overrides = overridesOf(topic, ctx);
  if (topic.assignments.length > 0) return { ...planFromAssignments(topic, ctx.services.nodeId), overrides };
  // Kafka checks the replication factor before the partition count; the registry resolves -1
  // to the broker defaults and refuses factors above the broker count.
  if (topic.replicationFactor < -1 || topic.replicationFactor === 0) {
    throw new AdminError(ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0, or -1 to use the default value.');
  }
  if (topic.numPartitions < -1 || topic.numPartitions === 0) {
    throw new AdminError(ErrorCode.INVALID_PARTITIONS, 'Number of partitions was set to an invalid non-positive value.');
  }
  return { partitionCount: topic.numPartitions, replicationFactor: topic.replicationFactor, overrides };
}

function describeCreated(info: TopicInfo, ctx: RequestContext): CreatableTopicResult {
  const configs: CreatableTopicConfigs[] = describeTopicConfigs(ctx.services.config, info.configs).map((entry) => ({
    name: entry.name,
    value: entry.value,
    readOnly: entry.readOnly,
    configSource: entry.source,
    isSensitive: entry.isSensitive,
  }));
  return {
    name: info.name,
    topicId: info.topicIdString,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    numPartitions: info.partitionCount,
    replicationFactor: info.replicationFactor,
    configs,
  };
}

async function createOne(topic: CreatableTopic, validateOnly: boolean, ctx: RequestContext): Promise<CreatableTopicResult> {
  const registry = ctx.services.registry;
  try {
    validateTopicName(topic.name);
    if (registry.has(topic.name)) {
      return failed(topic.name, ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${topic.name}' already exists.`);
    }
    const plan = planOf(topic, ctx);
    const info = await registry.create(topic.name, plan.partitionCount, plan.overrides, {
      replicationFactor: plan.replicationFactor,
      validateOnly,
    });
    if (!validateOnly) ctx.log.info({ topic: info.name, partitions: info.partitionCount, configs: info.configs }, 'created topic');
    return describeCreated(info, ctx);
  } catch (err) {
    const error = apiErrorOf(err, ctx.log, 'CreateTopics');
    return failed(topic.name, error.code, error.message);
  }
}

export const createTopicsHandler = defineHandler({
  apiKey: ApiKey.CreateTopics,
  minVersion: 0,
  maxVersion: 7,
  async handle(request, ctx): Promise<CreateTopicsResponse> {
    const duplicates = duplicatesOf(request.topics.map((t) => t.name));
    const answered = new Set<string>();
    const topics: CreatableTopicResult[] = [];
    for (const topic of request.topics) {
      // One result per name: a name given twice is refused once, and none of its entries is created.
      if (answered.has(topic.name)) continue;
      answered.add(topic.name);
      if (duplicates.has(topic.name)) {
        topics.push(failed(topic.name, ErrorCode.INVALID_REQUEST, 'Duplicate topic name.'));
      } else if (topic.name === CLUSTER_METADATA_TOPIC) {
        topics.push(failed(topic.name, ErrorCode.INVALID_REQUEST, `Creation of internal topic ${CLUSTER_METADATA_TOPIC} is prohibited.`));
      } else {
        topics.push(await createOne(topic, request.validateOnly, ctx));
      }
    }
    return { throttleTimeMs: 0, topics };
  },
});
