// Which __consumer_offsets partition holds a group: the same as Kafka's, so that a log dir
// written by either can be read by the other. Kafka takes Java's String.hashCode of the group
// id (over UTF-16 code units, 32-bit wrapping), makes it non-negative with its Utils.abs
// (which maps Integer.MIN_VALUE to 0 rather than leaving it negative), and takes the rest
// modulo the partition count.

const INT32_MIN = -2147483648;

/** Java's String.hashCode: h = 31 * h + c over the UTF-16 code units, wrapping at 32 bits. */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** Kafka's Utils.abs: |n|, except that Integer.MIN_VALUE becomes 0. */
export function kafkaAbs(n: number): number {
  return n === INT32_MIN ? 0 : Math.abs(n);
}

export function offsetsPartitionFor(groupId: string, partitionCount: number): number {
  return kafkaAbs(javaStringHashCode(groupId)) % partitionCount;
}
