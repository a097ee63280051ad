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
 * One API key's handler: the versions it implements (exactly what ApiVersions advertises)
 * and the function that answers a decoded request. Returning null sends no response
 * (Produce with acks=0).
 */
export interface ApiHandler<K extends ApiKeyNumber = ApiKeyNumber> {
  readonly apiKey: K;
  readonly minVersion: number;
  readonly maxVersion: number;
  handle(request: RequestBodies[K], ctx: RequestContext): ResponseBodies[K] | null | Promise<ResponseBodies[K] | null>;
}

/** Helps a handler file declare itself with its key's request/response types checked. */
export function defineHandler<K extends ApiKeyNumber>(handler: ApiHandler<K>): ApiHandler<K> {
  return handler;
}
