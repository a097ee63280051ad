// The Kafka protocol codec: primitives, headers, frames, record batches and the generated
// message codecs. Nested struct types of a message live in its generated module
// (e.g. './generated/fetch-response.js'); everything else is exported here.

export { ErrorCode, ProtocolError, errorName, type ErrorCodeName, type ErrorCodeValue } from './errors.js';
export { Reader } from './reader.js';
export { Writer, type Chunk, type ChunkList, type FileRecords, type Records, type WriterOptions } from './writer.js';
export * from './varint.js';
export * from './uuid.js';
export { EMPTY_BYTES } from './primitives.js';
export { crc32c } from './crc32c.js';
export * from './header.js';
export * from './frame.js';
export * from './record-batch.js';
export * from './generated/index.js';
