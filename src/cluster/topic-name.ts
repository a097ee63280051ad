// Kafka's rules for topic names, and which names are Kafka's internal topics.

import { TopicError } from './errors';

export const MAX_TOPIC_NAME_LENGTH = 249;
export const CONSUMER_OFFSETS_TOPIC = '__consumer_offsets';
export const TRANSACTION_STATE_TOPIC = '__transaction_state';

const LEGAL_NAME = /^[a-zA-Z0-9._-]+$/;

/** Throws INVALID_TOPIC_EXCEPTION with Kafka's wording when `name` cannot be a topic name. */
export function validateTopicName(name: string): void {
  if (name.length === 0) throw new TopicError('INVALID_TOPIC_EXCEPTION', "Topic name is illegal, it can't be empty");
  if (name === '.' || name === '..') {
    throw new TopicError('INVALID_TOPIC_EXCEPTION', 'Topic name cannot be "." or ".."');
  }
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    throw new TopicError(
      'INVALID_TOPIC_EXCEPTION',
      `Topic name is illegal, it can't be longer than ${MAX_TOPIC_NAME_LENGTH} characters, topic name: ${name}`,
    );
  }
  if (!LEGAL_NAME.test(name)) {
    throw new TopicError(
      'INVALID_TOPIC_EXCEPTION',
      `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`,
    );
  }
}

export function isInternalTopic(name: string): boolean {
  return name === CONSUMER_OFFSETS_TOPIC || name === TRANSACTION_STATE_TOPIC;
}

/** Metric names replace '.' by '_', so Kafka refuses two topics that differ only there. */
export function collisionKey(name: string): string {
  return name.replace(/\./g, '_');
}
