// Errors of topic metadata operations, each carrying the Kafka error code a broker sends for it.

/** The Kafka error codes the topic registry produces. */
export const TOPIC_ERROR_CODE = {
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  INVALID_TOPIC_EXCEPTION: 17,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_CONFIG: 40,
  INVALID_REQUEST: 42,
  TOPIC_DELETION_DISABLED: 73,
  UNKNOWN_TOPIC_ID: 100,
} as const;

export type TopicErrorName = keyof typeof TOPIC_ERROR_CODE;

export class TopicError extends Error {
  readonly code: TopicErrorName;
  readonly kafkaErrorCode: number;
  constructor(code: TopicErrorName, message: string) {
    super(message);
    this.name = 'TopicError';
    this.code = code;
    this.kafkaErrorCode = TOPIC_ERROR_CODE[code];
  }
}
