// Varint helpers on plain Buffers: LEB128 unsigned varints (Kafka's lengths and tags) and
// zigzag signed varints/varlongs (record fields inside a v2 record batch). Varlongs are JS
// numbers, exact within +-2^52 (zigzag doubles the magnitude; record timestamp and offset
// deltas are far smaller). Reading goes through Reader, which bounds-checks.

/** Zigzag-encodes a signed 32-bit integer into an unsigned 32-bit one. */
export function zigzag32(n: number): number {
  return ((n << 1) ^ (n >> 31)) >>> 0;
}

export function unzigzag32(u: number): number {
  return (u >>> 1) ^ -(u & 1);
}

/** Zigzag-encodes a signed integer (exact within +-2^52) into a non-negative number. */
export function zigzag64(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

export function unzigzag64(u: number): number {
  return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
}

/** Bytes taken by `value` (a non-negative integer below 2^53) as an unsigned varint. */
export function uvarintSize(value: number): number {
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

export function varintSize(n: number): number {
  return uvarintSize(zigzag32(n));
}

export function varlongSize(n: number): number {
  return uvarintSize(zigzag64(n));
}

/** Writes `value` (non-negative, below 2^53) as an unsigned varint; returns the offset after it. */
export function writeUVarintTo(buf: Buffer, offset: number, value: number): number {
  if (value < 0 || !Number.isInteger(value)) throw new RangeError(`not a non-negative integer: ${value}`);
  while (value >= 128) {
    buf[offset++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  buf[offset++] = value;
  return offset;
}

export function writeVarintTo(buf: Buffer, offset: number, n: number): number {
  return writeUVarintTo(buf, offset, zigzag32(n));
}

export function writeVarlongTo(buf: Buffer, offset: number, n: number): number {
  return writeUVarintTo(buf, offset, zigzag64(n));
}
