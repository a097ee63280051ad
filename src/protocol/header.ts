// Request and response headers, and the rules for which header version a message uses:
// - request header v2 (client id, then tagged fields) when the request version is flexible,
//   v1 (client id) otherwise, v0 (no client id) only for ControlledShutdown v0;
// - response header v1 (correlation id, then tagged fields) when the version is flexible,
//   v0 otherwise, and ALWAYS v0 for ApiVersions (a client that does not yet know the
//   broker's versions must be able to read the answer).
// The client id is always an int16-length string, even in header v2, for the same reason.

import { ApiKey, isFlexibleVersion } from './generated/index.js';
import { Reader } from './reader.js';
import type { Writer } from './writer.js';

export type RequestHeaderVersion = 0 | 1 | 2;
export type ResponseHeaderVersion = 0 | 1;

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  /** null in header v0, or when the client sent a null client id. */
  clientId: string | null;
  headerVersion: RequestHeaderVersion;
  /** Offset of the request body in the buffer that was decoded. */
  bodyOffset: number;
}

export function requestHeaderVersion(apiKey: number, apiVersion: number): RequestHeaderVersion {
  if (apiKey === ApiKey.ControlledShutdown && apiVersion === 0) return 0;
  return isFlexibleVersion(apiKey, apiVersion) ? 2 : 1;
}

export function responseHeaderVersion(apiKey: number, apiVersion: number): ResponseHeaderVersion {
  if (apiKey === ApiKey.ApiVersions) return 0;
  return isFlexibleVersion(apiKey, apiVersion) ? 1 : 0;
}

/**
 * Decodes the header of one request frame (`buf` from `offset` holds the frame WITHOUT its
 * 4-byte size prefix). An api key the broker does not know is read with header v1, and a
 * version above the newest known one of a flexible api with header v2 (as the client sends
 * it), so the broker can still answer, e.g. UNSUPPORTED_VERSION to an ApiVersions request.
 * Throws ProtocolError (INVALID_REQUEST) when the header itself is truncated or malformed.
 */
export function decodeRequestHeader(buf: Buffer, offset = 0, end = buf.length): RequestHeader {
  const r = new Reader(buf, offset, end);
  const apiKey = r.readInt16();
  const apiVersion = r.readInt16();
  const correlationId = r.readInt32();
  const headerVersion = requestHeaderVersion(apiKey, apiVersion);
  let clientId: string | null = null;
  if (headerVersion >= 1) clientId = r.readNullableString();
  if (headerVersion === 2) r.skipTaggedFields();
  return { apiKey, apiVersion, correlationId, clientId, headerVersion, bodyOffset: r.pos };
}

/** Writes a request header with the version the rules pick for `apiKey`/`apiVersion`. */
export function writeRequestHeader(
  w: Writer,
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  clientId: string | null,
): void {
  const headerVersion = requestHeaderVersion(apiKey, apiVersion);
  w.writeInt16(apiKey);
  w.writeInt16(apiVersion);
  w.writeInt32(correlationId);
  if (headerVersion >= 1) w.writeNullableString(clientId);
  if (headerVersion === 2) w.writeUVarint(0);
}

export function writeResponseHeader(w: Writer, apiKey: number, apiVersion: number, correlationId: number): void {
  w.writeInt32(correlationId);
  if (responseHeaderVersion(apiKey, apiVersion) === 1) w.writeUVarint(0);
}

export interface ResponseHeader {
  correlationId: number;
  bodyOffset: number;
}

/** Decodes a response header; `buf` from `offset` holds the frame without its size prefix. */
export function decodeResponseHeader(
  buf: Buffer,
  apiKey: number,
  apiVersion: number,
  offset = 0,
  end = buf.length,
): ResponseHeader {
  const r = new Reader(buf, offset, end);
  const correlationId = r.readInt32();
  if (responseHeaderVersion(apiKey, apiVersion) === 1) r.skipTaggedFields();
  return { correlationId, bodyOffset: r.pos };
}
