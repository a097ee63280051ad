// Every API the broker implements: one handler file per API key. ApiVersions advertises
// exactly this list.
import type { ApiHandler } from '../api-handler';
import { apiVersionsHandler } from './api-versions';
import { metadataHandler } from './metadata';

export function allHandlers(): ApiHandler[] {
  return [
    apiVersionsHandler,
    metadataHandler,
  ] as ApiHandler[];
}
