import type { TopicInfo } from '../../cluster/index';
import { TopicError, validateTopicName } from '../../cluster/index';
import {
  ApiKey,
  ErrorCode,
  ZERO_UUID,
  type MetadataResponse,
} from '../../protocol/index';
import type { MetadataResponsePartition, MetadataResponseTopic } from '../../protocol/generated/metadata-response';
import { defineHandler } from '../api-handler';
import type { BrokerServices } from '../services';

// Authorized operations are not computed (no ACLs yet): Kafka's "not requested" marker.
const OPERATIONS_OMITTED = -2147483648;

function describeTopic(topic: TopicInfo, services: BrokerServices): MetadataResponseTopic {
  const nodeId = services.nodeId;
  const partitions: MetadataResponsePartition[] = new Array(topic.partitionCount);
  for (let p = 0; p < topic.partitionCount; p++) {
    partitions[p] = {
      errorCode: ErrorCode.NONE,
      partitionIndex: p,
      leaderId: nodeId,
      leaderEpoch: 0,
      replicaNodes: [nodeId],
      isrNodes: [nodeId],
      offlineReplicas: [],
    };
  }
  return {
    errorCode: ErrorCode.NONE,
    name: topic.name,
    topicId: topic.topicIdString,
    isInternal: topic.internal,
    partitions,
    topicAuthorizedOperations: OPERATIONS_OMITTED,
  };
}

function isLegalTopicName(name: string): boolean {
  try {
    validateTopicName(name);
    return true;
  } catch {
    return false;
  }
}

function topicError(name: string | null, topicId: string, errorCode: number): MetadataResponseTopic {
  return { errorCode, name, topicId, isInternal: false, partitions: [], topicAuthorizedOperations: OPERATIONS_OMITTED };
}

export const metadataHandler = defineHandler({
  apiKey: ApiKey.Metadata,
  minVersion: 0,
  maxVersion: 12,
  async handle(request, ctx): Promise<MetadataResponse> {
    const { services } = ctx;
    const version = ctx.header.apiVersion;
    const registry = services.registry;
    const topics: MetadataResponseTopic[] = [];
    // v0 sends an empty list for "all topics"; v1+ sends null.
    const all = request.topics === null || (version === 0 && request.topics.length === 0);
    if (all) {
      for (const topic of registry.list()) topics.push(describeTopic(topic, services));
    } else {
      const autoCreate = services.config.autoCreateTopicsEnable && (version < 4 || request.allowAutoTopicCreation);
      for (const wanted of request.topics ?? []) {
        if (wanted.name === null) {
          // v10+: lookup by topic id. The response's name is nullable only from v12.
          const byId = wanted.topicId === ZERO_UUID ? undefined : registry.getById(wanted.topicId);
          if (byId === undefined) topics.push(topicError(version >= 12 ? null : '', wanted.topicId, ErrorCode.UNKNOWN_TOPIC_ID));
          else topics.push(describeTopic(byId, services));
          continue;
        }
        if (!isLegalTopicName(wanted.name)) {
          // An illegal name is never created: Kafka answers INVALID_TOPIC_EXCEPTION.
          topics.push(topicError(wanted.name, ZERO_UUID, ErrorCode.INVALID_TOPIC_EXCEPTION));
          continue;
        }
        const existing = registry.get(wanted.name);
        if (existing !== undefined) {
          topics.push(describeTopic(existing, services));
          continue;
        }
        if (!autoCreate) {
          topics.push(topicError(wanted.name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
          continue;
        }
        try {
          const created = await registry.create(wanted.name, services.config.numPartitions, {}, {
            replicationFactor: services.config.defaultReplicationFactor,
          });
          ctx.log.info({ topic: created.name, partitions: created.partitionCount }, 'auto-created topic');
          topics.push(describeTopic(created, services));
        } catch (err) {
          if (err instanceof TopicError) {
            // Another request created it meanwhile: describe what is there.
            const raced = registry.get(wanted.name);
            if (raced !== undefined) topics.push(describeTopic(raced, services));
            else topics.push(topicError(wanted.name, ZERO_UUID, err.kafkaErrorCode));
          } else {
            throw err;
          }
        }
      }
    }
    return {
      throttleTimeMs: 0,
      brokers: [{ nodeId: services.nodeId, host: services.advertised.host, port: services.advertised.port, rack: services.config.brokerRack }],
      clusterId: services.clusterId,
      controllerId: services.nodeId,
      topics,
      clusterAuthorizedOperations: OPERATIONS_OMITTED,
    };
  },
});
