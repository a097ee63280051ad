// CreatePartitions (api key 37): raises a topic's partition count, optionally with a manual
// assignment for each new partition, or only checks that it could (validateOnly). New
// partition logs follow the registry's 'partitionsAdded' event.

import { ApiKey, ErrorCode, type CreatePartitionsResponse } from '../../protocol/index';
import type { CreatePartitionsTopic } from '../../protocol/generated/create-partitions-request';
import type { CreatePartitionsTopicResult } from '../../protocol/generated/create-partitions-response';
import { defineHandler, type RequestContext } from '../api-handler';
import { AdminError, apiErrorOf, duplicatesOf, validateManualAssignment } from './admin-common';

async function createPartitions(topic: CreatePartitionsTopic, validateOnly: boolean, ctx: RequestContext): Promise<CreatePartitionsTopicResult> {
  const registry = ctx.services.registry;
  try {
    // A validate-only pass first: Kafka checks the new count against the current one before
    // it looks at the assignments. The result describes the topic as it would become.
    const checked = await registry.addPartitions(topic.name, topic.count, { validateOnly: true });
    if (topic.assignments !== null) {
      const existing = registry.get(topic.name)?.partitionCount ?? checked.partitionCount;
      const additional = topic.count - existing;
      if (topic.assignments.length !== additional) {
        throw new AdminError(
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          `Attempted to add ${additional} additional partition(s), but only ${topic.assignments.length} assignment(s) were specified.`,
        );
      }
      for (const assignment of topic.assignments) {
        validateManualAssignment(assignment.brokerIds, checked.replicationFactor, ctx.services.nodeId);
      }
    }
    if (!validateOnly) {
      const info = await registry.addPartitions(topic.name, topic.count);
      ctx.log.info({ topic: info.name, partitions: info.partitionCount }, 'added partitions');
    }
    return { name: topic.name, errorCode: ErrorCode.NONE, errorMessage: null };
  } catch (err) {
    const error = apiErrorOf(err, ctx.log, 'CreatePartitions');
    return { name: topic.name, errorCode: error.code, errorMessage: error.message };
  }
}

export const createPartitionsHandler = defineHandler({
  apiKey: ApiKey.CreatePartitions,
  minVersion: 0,
  maxVersion: 3,
  async handle(request, ctx): Promise<CreatePartitionsResponse> {
    const duplicates = duplicatesOf(request.topics.map((t) => t.name));
    const answered = new Set<string>();
    const results: CreatePartitionsTopicResult[] = [];
    for (const topic of request.topics) {
      if (answered.has(topic.name)) continue;
      answered.add(topic.name);
      if (duplicates.has(topic.name)) {
        results.push({ name: topic.name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate topic name.' });
      } else {
        results.push(await createPartitions(topic, request.validateOnly, ctx));
      }
    }
    return { throttleTimeMs: 0, results };
  },
});
