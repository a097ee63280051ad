// Topic metadata: the registry of topics, their ids, names and the storage settings they imply.

export { TOPIC_ERROR_CODE, TopicError, type TopicErrorName } from './errors';
export { toLogConfig } from './log-config';
export { randomTopicId, topicIdFromString, topicIdToString, TOPIC_ID_BYTES, ZERO_TOPIC_ID } from './topic-id';
export {
  CONSUMER_OFFSETS_TOPIC,
  MAX_TOPIC_NAME_LENGTH,
  TRANSACTION_STATE_TOPIC,
  collisionKey,
  isInternalTopic,
  validateTopicName,
} from './topic-name';
export { TOPICS_FILE_NAME, TopicStoreCorruptError, topicsFilePath } from './topic-store';
export {
  ALTER_CONFIG_OP,
  TopicRegistry,
  type AlterConfigOperation,
  type CreateTopicOptions,
  type TopicInfo,
  type TopicRegistryEvent,
  type TopicRegistryListener,
  type TopicRegistryOptions,
  type ValidateOnlyOption,
} from './topic-registry';
