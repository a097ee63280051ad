// An LZ4 block decoder (lz4_Block_format.md) in JS, writing into a caller's buffer. The LZ4
// binding allocates every output in its own allocator (mimalloc), which keeps what it freed:
// 200 LZ4 bombs of 8 MiB left the broker at ~1.5 GiB. Decoding into one reused buffer
// allocates nothing.

/** Copies shorter than this go byte by byte. */
const SHORT_COPY_BYTES = 32;

/**
 * Decodes the block `src` into `out` from `outStart`; the bytes of `out` before `outStart`
 * are the window that matches may refer back into (linked blocks), no further back than
 * `windowStart`. Returns the end of the output in `out`; throws when the block is malformed
 * or its output would pass `out.length`.
 */
export function decodeLz4Block(src: Uint8Array, out: Uint8Array, outStart: number, windowStart: number): number {
  const end = src.length;
  const outEnd = out.length;
  let ip = 0;
  let op = outStart;
  for (;;) {
    if (ip >= end) throw new Error('LZ4 block truncated at a sequence');
    const token = src[ip++]!;
    // Literals.
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (ip >= end) throw new Error('LZ4 block truncated in a literal length');
        b = src[ip++]!;
        literals += b;
      } while (b === 255);
    }
    if (ip + literals > end) throw new Error('LZ4 literals run past the block');
    if (op + literals > outEnd) throw new Error('LZ4 block decodes to more than its maximum size');
    if (literals < SHORT_COPY_BYTES) {
      // A loop beats set() and its subarray for the short runs most sequences have.
      for (let k = 0; k < literals; k++) out[op + k] = src[ip + k]!;
    } else {
      out.set(src.subarray(ip, ip + literals), op);
    }
    ip += literals;
    op += literals;
    // The last sequence is literals only.
    if (ip === end) return op;
    if (ip + 2 > end) throw new Error('LZ4 block truncated at a match offset');
    const offset = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    if (offset === 0 || op - offset < windowStart) throw new Error(`LZ4 match offset ${offset} reaches before the window`);
    let length = (token & 15) + 4;
    if ((token & 15) === 15) {
      let b: number;
      do {
        if (ip >= end) throw new Error('LZ4 block truncated in a match length');
        b = src[ip++]!;
        length += b;
      } while (b === 255);
    }
    if (op + length > outEnd) throw new Error('LZ4 block decodes to more than its maximum size');
    const from = op - offset;
    if (length < SHORT_COPY_BYTES) {
      // Byte by byte is right for overlapping matches too (each byte is written before read).
      for (let k = 0; k < length; k++) out[op + k] = out[from + k]!;
      op += length;
    } else if (offset === 1) {
      out.fill(out[from]!, op, op + length);
      op += length;
    } else if (offset >= length) {
      out.copyWithin(op, from, from + length);
      op += length;
    } else {
      // Overlapping: the output from `from` on repeats with period `offset`, so copying
      // from `from` as much as is already written (a multiple of the period) continues it.
      const stop = op + length;
      while (op < stop) {
        const n = Math.min(op - from, stop - op);
        out.copyWithin(op, from, from + n);
        op += n;
      }
    }
  }
}
