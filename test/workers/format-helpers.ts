// Small independent helpers for the codec format tests.

const PRIME32_1 = 2654435761;
const PRIME32_2 = 2246822519;
const PRIME32_3 = 3266489917;
const PRIME32_4 = 668265263;
const PRIME32_5 = 374761393;

function rotl32(x: number, r: number): number {
  return ((x << r) | (x >>> (32 - r))) >>> 0;
}

function round32(acc: number, lane: number): number {
  return Math.imul(rotl32((acc + Math.imul(lane, PRIME32_2)) >>> 0, 13), PRIME32_1) >>> 0;
}

/** xxHash32 (the checksum of the LZ4 frame format). */
export function xxh32(data: Uint8Array, seed = 0): number {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const length = data.length;
  let position = 0;
  let h: number;
  if (length >= 16) {
    let v1 = (seed + PRIME32_1 + PRIME32_2) >>> 0;
    let v2 = (seed + PRIME32_2) >>> 0;
    let v3 = seed >>> 0;
    let v4 = (seed - PRIME32_1) >>> 0;
    while (position + 16 <= length) {
      v1 = round32(v1, view.getUint32(position, true));
      v2 = round32(v2, view.getUint32(position + 4, true));
      v3 = round32(v3, view.getUint32(position + 8, true));
      v4 = round32(v4, view.getUint32(position + 12, true));
      position += 16;
    }
    h = (rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18)) >>> 0;
  } else {
    h = (seed + PRIME32_5) >>> 0;
  }
  h = (h + length) >>> 0;
  while (position + 4 <= length) {
    h = Math.imul(rotl32((h + Math.imul(view.getUint32(position, true), PRIME32_3)) >>> 0, 17), PRIME32_4) >>> 0;
    position += 4;
  }
  while (position < length) {
    h = Math.imul(rotl32((h + Math.imul(data[position]!, PRIME32_5)) >>> 0, 11), PRIME32_1) >>> 0;
    position += 1;
  }
  h ^= h >>> 15;
  h = Math.imul(h, PRIME32_2) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, PRIME32_3) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
export function seededBytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    out[i] = state & 0xff;
  }
  return out;
}
