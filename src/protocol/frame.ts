// Whole frames: a 4-byte big-endian size, the header, the body.
//
// Broker side: decodeRequestHeader (header.ts) then decodeRequestBody, and
// encodeResponseFrame, whose chunk list carries Fetch records as file regions. Client side
// (tests, the bench load generator): encodeRequestFrame and decodeResponseFrame.

import { ErrorCode, ProtocolError } from './errors.js';
import {
  API_CODECS,
  apiCodec,
  type ApiCodec,
  type RequestBodies,
  type ResponseBodies,
} from './generated/index.js';
import { decodeResponseHeader, writeRequestHeader, writeResponseHeader, type RequestHeader } from './header.js';
import { Reader } from './reader.js';
import { Writer, type ChunkList } from './writer.js';

export type ApiKeyNumber = keyof RequestBodies & number;

/** Bytes of the size prefix of every frame. */
export const FRAME_SIZE_BYTES = 4;

/**
 * An encoded response frame, size prefix included: Buffers and file regions to be written in
 * order. Without file records (and without record Buffers of 16 KiB or more) it is exactly
 * one Buffer.
 */
export type ResponseFrame = ChunkList;

/** Record Buffers this large are passed through as their own chunk instead of copied. */
const EXTERNAL_RECORDS_MIN_BYTES = 16 * 1024;
/** Contiguous responses up to this size are copied out so the scratch buffer can be reused. */
const COPY_OUT_MAX_BYTES = 64 * 1024;

// One scratch writer: encoding is synchronous, so no two encodes interleave.
const responseWriter = new Writer({ initialBytes: 16 * 1024, externalRecordsMinBytes: EXTERNAL_RECORDS_MIN_BYTES, clampStrings: true });
const requestWriter = new Writer({ initialBytes: 16 * 1024 });
// Requests as chunk lists: the record Buffers of a produce request go out as they are.
const requestChunkWriter = new Writer({ initialBytes: 16 * 1024, externalRecordsMinBytes: EXTERNAL_RECORDS_MIN_BYTES });

function unknownApi(apiKey: number): ProtocolError {
  return new ProtocolError(`unknown api key ${apiKey}`, ErrorCode.UNSUPPORTED_VERSION);
}

function encodeResponseWith(codec: ApiCodec, apiVersion: number, correlationId: number, body: unknown): ResponseFrame {
  const w = responseWriter;
  w.reset();
  w.writeInt32(0); // size, patched below
  writeResponseHeader(w, codec.apiKey, apiVersion, correlationId);
  codec.encodeResponse(w, body, apiVersion);
  if (w.contiguous && w.pos <= COPY_OUT_MAX_BYTES) {
    const frame = w.copyToBuffer();
    frame.writeInt32BE(frame.length - FRAME_SIZE_BYTES, 0);
    return { chunks: [frame], totalBytes: frame.length };
  }
  const out = w.takeChunks();
  (out.chunks[0] as Buffer).writeInt32BE(out.totalBytes - FRAME_SIZE_BYTES, 0);
  return out;
}

/** Encodes a response frame (size prefix, header by the header rules, body). */
export function encodeResponseFrame<K extends ApiKeyNumber>(
  apiKey: K,
  apiVersion: number,
  correlationId: number,
  body: ResponseBodies[K],
): ResponseFrame {
  return encodeResponseWith(API_CODECS[apiKey] as ApiCodec, apiVersion, correlationId, body);
}

/** encodeResponseFrame for an api key known only at run time (e.g. generic error paths). */
export function encodeResponseFrameDynamic(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  body: unknown,
): ResponseFrame {
  const codec = apiCodec(apiKey);
  if (codec === undefined) throw unknownApi(apiKey);
  return encodeResponseWith(codec, apiVersion, correlationId, body);
}

/**
 * The fast path: a response frame as one Buffer. Record Buffers are copied in; file records
 * cannot be and throw (use encodeResponseFrame for Fetch).
 */
export function encodeResponseBuffer<K extends ApiKeyNumber>(
  apiKey: K,
  apiVersion: number,
  correlationId: number,
  body: ResponseBodies[K],
): Buffer {
  const frame = encodeResponseFrame(apiKey, apiVersion, correlationId, body);
  if (frame.chunks.length === 1) return frame.chunks[0] as Buffer;
  const out = Buffer.allocUnsafe(frame.totalBytes);
  let at = 0;
  for (const chunk of frame.chunks) {
    if (!(chunk instanceof Uint8Array)) throw new Error('response holds file regions: use encodeResponseFrame()');
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * Decodes the body of a request whose header was decoded from `frame` (the frame without its
 * size prefix). Throws ProtocolError: UNSUPPORTED_VERSION for an api key or version the codec
 * does not know, INVALID_REQUEST for a malformed body. Bytes after the body are ignored, as
 * Kafka does. Records and bytes fields are subarrays of `frame`.
 */
export function decodeRequestBody<K extends ApiKeyNumber>(
  apiKey: K,
  header: RequestHeader,
  frame: Buffer,
  end = frame.length,
): RequestBodies[K] {
  if (header.apiKey !== apiKey) throw new Error(`header is for api key ${header.apiKey}, not ${apiKey}`);
  const codec = API_CODECS[apiKey] as ApiCodec;
  return codec.decodeRequest(new Reader(frame, header.bodyOffset, end), header.apiVersion) as RequestBodies[K];
}

/** decodeRequestBody for an api key known only at run time. */
export function decodeRequestBodyDynamic(header: RequestHeader, frame: Buffer, end = frame.length): unknown {
  const codec = apiCodec(header.apiKey);
  if (codec === undefined) throw unknownApi(header.apiKey);
  return codec.decodeRequest(new Reader(frame, header.bodyOffset, end), header.apiVersion);
}

/** Encodes a request frame (size prefix, header, body) as one Buffer. */
export function encodeRequestFrame<K extends ApiKeyNumber>(
  apiKey: K,
  apiVersion: number,
  correlationId: number,
  clientId: string | null,
  body: RequestBodies[K],
): Buffer {
  const w = requestWriter;
  w.reset();
  w.writeInt32(0);
  writeRequestHeader(w, apiKey, apiVersion, correlationId, clientId);
  (API_CODECS[apiKey] as ApiCodec).encodeRequest(w, body, apiVersion);
  const frame = w.copyToBuffer();
  frame.writeInt32BE(frame.length - FRAME_SIZE_BYTES, 0);
  return frame;
}

/**
 * Encodes a request frame as a chunk list: record Buffers of at least 16 KiB are chunks of
 * their own, not copied (write the chunks in order, e.g. corked, and keep the records
 * unchanged until they are sent). Every chunk is a Buffer: requests hold no file regions.
 */
export function encodeRequestChunks<K extends ApiKeyNumber>(
  apiKey: K,
  apiVersion: number,
  correlationId: number,
  clientId: string | null,
  body: RequestBodies[K],
): { chunks: Buffer[]; totalBytes: number } {
  const w = requestChunkWriter;
  w.reset();
  w.writeInt32(0); // size, patched below
  writeRequestHeader(w, apiKey, apiVersion, correlationId, clientId);
  (API_CODECS[apiKey] as ApiCodec).encodeRequest(w, body, apiVersion);
  const out = w.takeChunks();
  const chunks = out.chunks as Buffer[];
  chunks[0]!.writeInt32BE(out.totalBytes - FRAME_SIZE_BYTES, 0);
  return { chunks, totalBytes: out.totalBytes };
}

export interface DecodedResponse<K extends ApiKeyNumber> {
  correlationId: number;
  body: ResponseBodies[K];
}

/** Decodes a response frame (without its size prefix) of a request sent with `apiVersion`. */
export function decodeResponseFrame<K extends ApiKeyNumber>(
  apiKey: K,
  apiVersion: number,
  frame: Buffer,
  offset = 0,
  end = frame.length,
): DecodedResponse<K> {
  const header = decodeResponseHeader(frame, apiKey, apiVersion, offset, end);
  const codec = API_CODECS[apiKey] as ApiCodec;
  const body = codec.decodeResponse(new Reader(frame, header.bodyOffset, end), apiVersion) as ResponseBodies[K];
  return { correlationId: header.correlationId, body };
}
