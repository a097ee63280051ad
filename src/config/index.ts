// Strand's configuration: Kafka's broker and topic config names, defaults and validation.

export * from './types';
export { parseServerProperties, parseOverrides } from './properties';
export { formatJavaDouble, formatValue, javaTrim, longToNumber, parseTyped, parseValue, LONG_MAX, LONG_MIN } from './values';
export {
  BROKER_CONFIGS,
  BROKER_SYNONYM_GROUPS,
  CLEANUP_POLICIES,
  COMPRESSION_TYPES,
  SECURITY_PROTOCOLS,
  TIMESTAMP_TYPES,
  brokerConfigSynonyms,
} from './broker-configs';
export { TOPIC_CONFIGS, topicConfigForBrokerConfig, type TopicConfigDefinition, type TopicConfigSynonym } from './topic-configs';
export {
  createServerConfig,
  loadServerConfig,
  type ListenerConfig,
  type LoadServerConfigOptions,
  type ServerConfig,
} from './server-config';
export {
  assertValidTopicConfigs,
  resolveTopicConfig,
  resolveTopicValues,
  topicServerDefaults,
  validateTopicConfigs,
  type CompressionTypeName,
  type MessageTimestampType,
  type TopicConfig,
  type TopicConfigValidationError,
  type TopicOverrides,
} from './topic-config';
export { describeBrokerConfigs, describeTopicConfigs } from './describe';
