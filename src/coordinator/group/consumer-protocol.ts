// The part of the consumer protocol (protocol type "consumer") the coordinator reads: the
// topics in a member's subscription (ConsumerProtocolSubscription, any version; later
// versions only append fields). Used to know which topics a group consumes, for
// OffsetDelete (GROUP_SUBSCRIBED_TO_TOPIC) and for offset expiry in stable groups.

import { Reader } from '../../protocol/index';

export const CONSUMER_PROTOCOL_TYPE = 'consumer';

// A topic name takes at least its int16 length.
const MIN_TOPIC_BYTES = 2;

/** The subscribed topics, or null when the bytes are not a consumer subscription. */
export function subscribedTopicsOf(metadata: Buffer): string[] | null {
  try {
    const r = new Reader(metadata);
    const version = r.readInt16();
    if (version < 0) return null;
    const count = r.readArrayLength(MIN_TOPIC_BYTES);
    if (count < 0) return null;
    const topics: string[] = [];
    for (let i = 0; i < count; i++) topics.push(r.readString());
    return topics;
  } catch {
    return null;
  }
}
