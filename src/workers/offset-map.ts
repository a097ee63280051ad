// The cleaner's dedupe map: key -> offset of the latest record with that key, in a fixed
// amount of memory (log.cleaner.dedupe.buffer.size), as Kafka's cleaner keeps it. Keys are not
// stored, only a 64-bit hash of their bytes, so the map's size does not depend on key sizes.
// Two different keys with the same 64-bit hash would share an entry (the older one's records
// could then be removed); at a few million keys per clean that chance is below 1e-6.
//
// Layout: open addressing over a power-of-two table with double hashing (the second hash
// lane, forced odd, is the probe step, so every probe sequence visits the whole table). 16
// bytes per slot in one Int32Array, [lane 1, lane 2, offset high, offset low], so that a probe
// touches one cache line; an offset high word of -1 marks a free slot.

const BYTES_PER_ENTRY = 16;
const MIN_SLOTS = 1024;
const TWO_POW_32 = 4294967296;

// The two lanes of the last hashKey() call: module state, so hashing allocates nothing per record.
let hashLane1 = 0;
let hashLane2 = 0;

/** The lanes of the last hashKey() call (tests, diagnostics). */
export function lastKeyHash(): [number, number] {
  return [hashLane1, hashLane2];
}

/**
 * Hashes buf[start, end) for the next put()/get(): two murmur3-style 32-bit lanes with
 * different seeds over the same 4-byte words, then a full avalanche of each.
 */
export function hashKey(buf: Uint8Array, start: number, end: number): void {
  let h1 = 0x9747b28c;
  let h2 = 0x5bd1e995;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    let k = buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h1 ^= k;
    h1 = (h1 << 13) | (h1 >>> 19);
    h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
    h2 ^= Math.imul(k, 0x85ebca6b) ^ (k >>> 11);
    h2 = (h2 << 17) | (h2 >>> 15);
    h2 = (Math.imul(h2, 9) + 0x7f4a7c15) | 0;
  }
  const rest = end - i;
  if (rest > 0) {
    let tail = buf[i]!;
    if (rest > 1) tail ^= buf[i + 1]! << 8;
    if (rest > 2) tail ^= buf[i + 2]! << 16;
    tail = Math.imul(tail, 0xcc9e2d51);
    tail = (tail << 15) | (tail >>> 17);
    tail = Math.imul(tail, 0x1b873593);
    h1 ^= tail;
    h2 ^= Math.imul(tail, 0xc2b2ae35);
  }
  const len = end - start;
  hashLane1 = fmix(h1 ^ len);
  hashLane2 = fmix(h2 ^ Math.imul(len, 0x27d4eb2f));
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

export class OffsetMap {
  readonly slots: number;
  /** Most keys the map takes before it counts as full (slots x load factor). */
  readonly maxKeys: number;
  private readonly mask: number;
  private readonly table: Int32Array;
  private keys = 0;

  /** A map in `bytes` of memory (rounded down to a power of two of slots). */
  constructor(bytes: number, loadFactor: number) {
    if (!(loadFactor > 0 && loadFactor <= 1)) throw new RangeError(`dedupe load factor must be in (0, 1], got ${loadFactor}`);
    this.slots = OffsetMap.bytesFor(bytes) / BYTES_PER_ENTRY;
    this.mask = this.slots - 1;
    // Keep one slot free whatever the load factor, so a probe for a missing key always ends.
    this.maxKeys = Math.min(this.slots - 1, Math.max(1, Math.floor(this.slots * loadFactor)));
    this.table = new Int32Array(this.slots * 4);
    this.markAllFree();
  }

  /** Memory a map created with `bytes` occupies. */
  static bytesFor(bytes: number): number {
    let slots = MIN_SLOTS;
    while (slots * 2 * BYTES_PER_ENTRY <= bytes && slots < 2 ** 30) slots *= 2;
    return slots * BYTES_PER_ENTRY;
  }

  /** True when a map made with these settings would be this one's size and load factor. */
  isShaped(bytes: number, loadFactor: number): boolean {
    const slots = OffsetMap.bytesFor(bytes) / BYTES_PER_ENTRY;
    return slots === this.slots && Math.min(slots - 1, Math.max(1, Math.floor(slots * loadFactor))) === this.maxKeys;
  }

  get size(): number {
    return this.keys;
  }

  /** Room for `n` more keys without passing the load factor. */
  hasRoomFor(n: number): boolean {
    return this.keys + n <= this.maxKeys;
  }

  clear(): void {
    if (this.keys === 0) return;
    this.markAllFree();
    this.keys = 0;
  }

  private markAllFree(): void {
    const t = this.table;
    for (let i = 2; i < t.length; i += 4) t[i] = -1;
  }

  /** Records `offset` for the key last hashed by hashKey(), keeping the larger offset. */
  put(offset: number): void {
    const h1 = hashLane1;
    const h2 = hashLane2;
    const t = this.table;
    const step = (h2 | 1) & this.mask;
    let i = h1 & this.mask;
    for (;;) {
      const at = i << 2;
      const high = t[at + 2]!;
      if (high === -1) {
        if (this.keys >= this.maxKeys) throw new RangeError('offset map is full');
        t[at] = h1;
        t[at + 1] = h2;
        t[at + 2] = Math.floor(offset / TWO_POW_32);
        t[at + 3] = offset | 0;
        this.keys++;
        return;
      }
      if (t[at] === h1 && t[at + 1] === h2) {
        if (offset > high * TWO_POW_32 + (t[at + 3]! >>> 0)) {
          t[at + 2] = Math.floor(offset / TWO_POW_32);
          t[at + 3] = offset | 0;
        }
        return;
      }
      i = (i + step) & this.mask;
    }
  }

  /** The latest offset of the key last hashed by hashKey(), or -1. */
  get(): number {
    const h1 = hashLane1;
    const h2 = hashLane2;
    const t = this.table;
    const step = (h2 | 1) & this.mask;
    let i = h1 & this.mask;
    for (;;) {
      const at = i << 2;
      const high = t[at + 2]!;
      if (high === -1) return -1;
      if (t[at] === h1 && t[at + 1] === h2) return high * TWO_POW_32 + (t[at + 3]! >>> 0);
      i = (i + step) & this.mask;
    }
  }
}
