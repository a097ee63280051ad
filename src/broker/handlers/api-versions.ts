import { ApiKey, ErrorCode, type ApiVersionsResponse } from '../../protocol/index';
import { defineHandler, type ApiHandler } from '../api-handler';

// KIP-511: client software name and version must look like this, or INVALID_REQUEST.
const SOFTWARE_PATTERN = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/;

/** The ApiVersions body: exactly the versions the broker's handlers implement. */
export function apiVersionsBody(handlers: ReadonlyMap<number, ApiHandler>, errorCode: number): ApiVersionsResponse {
  const apiKeys = [...handlers.values()]
    .sort((a, b) => a.apiKey - b.apiKey)
    .map((h) => ({ apiKey: h.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }));
  return { errorCode, apiKeys, throttleTimeMs: 0 };
}

export const apiVersionsHandler = defineHandler({
  apiKey: ApiKey.ApiVersions,
  minVersion: 0,
  maxVersion: 4,
  handle(request, ctx) {
    let errorCode: number = ErrorCode.NONE;
    if (ctx.header.apiVersion >= 3 && (!SOFTWARE_PATTERN.test(request.clientSoftwareName) || !SOFTWARE_PATTERN.test(request.clientSoftwareVersion))) {
      errorCode = ErrorCode.INVALID_REQUEST;
    }
    return apiVersionsBody(ctx.services.handlers, errorCode);
  },
});
