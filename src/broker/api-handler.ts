import type { Logger } from 'pino';
import type { ConnectionContext } from '../network/types';
import type { ApiKeyNumber, RequestBodies, RequestHeader, ResponseBodies } from '../protocol/index';
import type { BrokerServices } from './services';

/** What a handler sees of one request. */
export interface RequestContext {
  readonly header: RequestHeader;
  readonly conn: ConnectionContext;
  readonly services: BrokerServices;
  readonly log: Logger;
}

/**
 * A response body that holds resources (the duplicated fds of Fetch's file regions) until
 * the connection has written or dropped it: the router hands `release` to the network
 * layer, which calls it exactly once.
 */
export class ReleasableResponse<T> {
  readonly body: T;
  readonly release: () => void;
  constructor(body: T, release: () => void) {
    this.body = body;
    this.release = release;
  }
}

/** What a handler returns: a body, a body holding resources, or null for no response. */
export type HandlerResult<T> = T | ReleasableResponse<T> | null;

/**
 * One API key's handler: the versions it implements (exactly what ApiVersions advertises)
 * and the function that answers a decoded request. Returning null sends no response
 * (Produce with acks=0).
 */
export interface ApiHandler<K extends ApiKeyNumber = ApiKeyNumber> {
  readonly apiKey: K;
  readonly minVersion: number;
  readonly maxVersion: number;
  handle(request: RequestBodies[K], ctx: RequestContext): HandlerResult<ResponseBodies[K]> | Promise<HandlerResult<ResponseBodies[K]>>;
}

/** Helps a handler file declare itself with its key's request/response types checked. */
export function defineHandler<K extends ApiKeyNumber>(handler: ApiHandler<K>): ApiHandler<K> {
  return handler;
}
