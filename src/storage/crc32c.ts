// CRC-32C (Castagnoli). Short inputs are computed in JS, where a table loop beats the cost
// of crossing into the addon (DESIGN.md: below about 64 bytes); longer ones use the
// engine's hardware implementation when the addon is loaded.
import { tryNativeAddon } from './native.js';

const POLY_REFLECTED = 0x82f63b78;
/** Inputs shorter than this stay in JS. */
export const NATIVE_CRC_THRESHOLD_BYTES = 64;

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY_REFLECTED : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** Table-driven CRC-32C in JS, continuing from `crc` (0 to start). */
export function crc32cJs(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC-32C of `data`, continuing from `crc` (0 to start). */
export function crc32c(data: Uint8Array, crc = 0): number {
  if (data.length >= NATIVE_CRC_THRESHOLD_BYTES) {
    const addon = tryNativeAddon();
    if (addon) return addon.crc32c(data, crc);
  }
  return crc32cJs(data, crc);
}
