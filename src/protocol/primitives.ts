// Shared constants of the codec.

/** The default of every `bytes` field: zero-length, so sharing one instance is safe. */
export const EMPTY_BYTES: Buffer = Buffer.alloc(0);
