// XXH32 (the checksum of the LZ4 frame format: header, block and content checksums),
// incremental, so that an LZ4 frame can be checked while it is decompressed piece by piece.
// Reference: xxhash.h (XXH32), seed 0 unless given.

const PRIME32_1 = 0x9e3779b1;
const PRIME32_2 = 0x85ebca77;
const PRIME32_3 = 0xc2b2ae3d;
const PRIME32_4 = 0x27d4eb2f;
const PRIME32_5 = 0x165667b1;

function rotl32(x: number, r: number): number {
  return ((x << r) | (x >>> (32 - r))) >>> 0;
}

function round32(acc: number, lane: number): number {
  return Math.imul(rotl32((acc + Math.imul(lane, PRIME32_2)) >>> 0, 13), PRIME32_1) >>> 0;
}

function readU32LE(buf: Uint8Array, at: number): number {
  return (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24)) >>> 0;
}

export class Xxh32 {
  private v1: number;
  private v2: number;
  private v3: number;
  private v4: number;
  private totalBytes = 0;
  // Bytes not yet consumed as a whole 16-byte stripe.
  private readonly tail = new Uint8Array(16);
  private tailBytes = 0;

  constructor(private readonly seed = 0) {
    this.v1 = (seed + PRIME32_1 + PRIME32_2) >>> 0;
    this.v2 = (seed + PRIME32_2) >>> 0;
    this.v3 = seed >>> 0;
    this.v4 = (seed - PRIME32_1) >>> 0;
  }

  update(data: Uint8Array): this {
    this.totalBytes += data.length;
    let position = 0;
    if (this.tailBytes > 0) {
      const take = Math.min(16 - this.tailBytes, data.length);
      this.tail.set(data.subarray(0, take), this.tailBytes);
      this.tailBytes += take;
      position = take;
      if (this.tailBytes < 16) return this;
      this.stripe(this.tail, 0);
      this.tailBytes = 0;
    }
    while (position + 16 <= data.length) {
      this.stripe(data, position);
      position += 16;
    }
    if (position < data.length) {
      this.tail.set(data.subarray(position), 0);
      this.tailBytes = data.length - position;
    }
    return this;
  }

  digest(): number {
    let h =
      this.totalBytes >= 16
        ? (rotl32(this.v1, 1) + rotl32(this.v2, 7) + rotl32(this.v3, 12) + rotl32(this.v4, 18)) >>> 0
        : (this.seed + PRIME32_5) >>> 0;
    h = (h + this.totalBytes) >>> 0;
    let position = 0;
    while (position + 4 <= this.tailBytes) {
      h = Math.imul(rotl32((h + Math.imul(readU32LE(this.tail, position), PRIME32_3)) >>> 0, 17), PRIME32_4) >>> 0;
      position += 4;
    }
    while (position < this.tailBytes) {
      h = Math.imul(rotl32((h + Math.imul(this.tail[position]!, PRIME32_5)) >>> 0, 11), PRIME32_1) >>> 0;
      position += 1;
    }
    h ^= h >>> 15;
    h = Math.imul(h, PRIME32_2) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, PRIME32_3) >>> 0;
    h ^= h >>> 16;
    return h >>> 0;
  }

  private stripe(data: Uint8Array, at: number): void {
    this.v1 = round32(this.v1, readU32LE(data, at));
    this.v2 = round32(this.v2, readU32LE(data, at + 4));
    this.v3 = round32(this.v3, readU32LE(data, at + 8));
    this.v4 = round32(this.v4, readU32LE(data, at + 12));
  }
}

/** XXH32 of one buffer. */
export function xxh32(data: Uint8Array, seed = 0): number {
  return new Xxh32(seed).update(data).digest();
}
