import type { Logger } from 'pino';
import type { ConnectionContext, EncodedResponse, FrameHandler } from '../network/types';
import {
  ApiKey,
  ErrorCode,
  ProtocolError,
  decodeRequestBodyDynamic,
  decodeRequestHeader,
  encodeResponseFrame,
  encodeResponseFrameDynamic,
  type RequestHeader,
  type ResponseFrame,
} from '../protocol/index';
import { ReleasableResponse, type ApiHandler, type RequestContext } from './api-handler';
import { apiVersionsBody } from './handlers/api-versions';
import type { BrokerServices } from './services';

/** An undecodable or unsupported request: the connection is closed, with this reason logged. */
export class UndecodableRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UndecodableRequestError';
  }
}

function toEncoded(frame: ResponseFrame): EncodedResponse {
  return frame.chunks.length === 1 && Buffer.isBuffer(frame.chunks[0]) ? frame.chunks[0] : frame;
}

/**
 * Decodes each frame's header, routes it to the handler of its api key, and encodes the
 * response. A version the broker does not implement gets UNSUPPORTED_VERSION for
 * ApiVersions (KIP-511: answered with v0 and the broker's versions) and a closed connection
 * for every other API, as Kafka does.
 */
export class RequestRouter implements FrameHandler {
  private readonly services: BrokerServices;
  private readonly log: Logger;

  constructor(services: BrokerServices) {
    this.services = services;
    this.log = services.log;
  }

  handleFrame(frame: Buffer, conn: ConnectionContext): EncodedResponse | null | Promise<EncodedResponse | null> {
    let header: RequestHeader;
    try {
      header = decodeRequestHeader(frame);
    } catch (err) {
      throw new UndecodableRequestError(`bad request header: ${(err as Error).message}`);
    }
    const handler = this.services.handlers.get(header.apiKey);
    if (handler === undefined || header.apiVersion < handler.minVersion || header.apiVersion > handler.maxVersion) {
      if (header.apiKey === ApiKey.ApiVersions) return this.unsupportedApiVersions(header);
      throw new UndecodableRequestError(
        handler === undefined
          ? `unknown api key ${header.apiKey}`
          : `unsupported version ${header.apiVersion} of api key ${header.apiKey} (supported ${handler.minVersion}-${handler.maxVersion})`,
      );
    }
    let body: unknown;
    try {
      body = decodeRequestBodyDynamic(header, frame);
    } catch (err) {
      if (header.apiKey === ApiKey.ApiVersions && err instanceof ProtocolError) {
        // KIP-511: a client on a newer ApiVersions version still learns what we support.
        return this.unsupportedApiVersions(header);
      }
      throw new UndecodableRequestError(`malformed ${handler.apiKey}/v${header.apiVersion} request: ${(err as Error).message}`);
    }
    const ctx: RequestContext = { header, conn, services: this.services, log: this.log };
    const result = (handler as ApiHandler).handle(body as never, ctx);
    if (result instanceof Promise) return result.then((res) => this.encode(header, res));
    return this.encode(header, result);
  }

  private encode(header: RequestHeader, response: unknown): EncodedResponse | null {
    if (response === null) return null;
    if (!(response instanceof ReleasableResponse)) {
      return toEncoded(encodeResponseFrameDynamic(header.apiKey, header.apiVersion, header.correlationId, response));
    }
    let frame: ResponseFrame;
    try {
      frame = encodeResponseFrameDynamic(header.apiKey, header.apiVersion, header.correlationId, response.body);
    } catch (err) {
      response.release();
      throw err;
    }
    const encoded = toEncoded(frame);
    if (Buffer.isBuffer(encoded)) {
      // Everything was copied into one Buffer: nothing is left to hold.
      response.release();
      return encoded;
    }
    return { chunks: encoded.chunks, totalBytes: encoded.totalBytes, release: response.release };
  }

  private unsupportedApiVersions(header: RequestHeader): EncodedResponse {
    const body = apiVersionsBody(this.services.handlers, ErrorCode.UNSUPPORTED_VERSION);
    return toEncoded(encodeResponseFrame(ApiKey.ApiVersions, 0, header.correlationId, body));
  }
}
