// AlterConfigs (api key 33): replaces the whole set of a topic's config overrides (keys left
// out return to their defaults), or only checks that it could (validateOnly). Changes are
// persisted and reach the partition logs through the registry's 'configsChanged' event.
// Broker configs are static in Strand: a broker resource may not change any key.

import { validateTopicName } from '../../cluster/index';
import { ApiKey, ErrorCode, type AlterConfigsResponse } from '../../protocol/index';
import type { AlterConfigsResource } from '../../protocol/generated/alter-configs-request';
import type { AlterConfigsResourceResponse } from '../../protocol/generated/alter-configs-response';
import { defineHandler, type RequestContext } from '../api-handler';
import { AdminError, CONFIG_RESOURCE, NO_ERROR, apiErrorOf, duplicatesOf, parseJavaInt, type ApiError } from './admin-common';

/** What both AlterConfigs APIs need of a resource. */
interface AlterableResource {
  resourceType: number;
  resourceName: string;
  configs: ReadonlyArray<{ name: string; value: string | null }>;
}

function resourceKey(resource: AlterableResource): string {
  return `${resource.resourceType}\u0000${resource.resourceName}`;
}

/**
 * Both AlterConfigs APIs: each resource altered on its own, its failure answered with its
 * Kafka error; resources named twice in one request are refused in every entry, as Kafka does.
 */
export async function alterEachResource<R extends AlterableResource>(
  resources: readonly R[],
  alter: (resource: R) => Promise<ApiError>,
  ctx: RequestContext,
  apiName: string,
): Promise<AlterConfigsResourceResponse[]> {
  const repeated = duplicatesOf(resources.map((r) => resourceKey(r)));
  const responses: AlterConfigsResourceResponse[] = [];
  for (const resource of resources) {
    let error: ApiError;
    if (repeated.has(resourceKey(resource))) {
      error = { code: ErrorCode.INVALID_REQUEST, message: 'Each resource must appear at most once.' };
    } else {
      try {
        error = await alter(resource);
      } catch (err) {
        error = apiErrorOf(err, ctx.log, apiName);
      }
    }
    responses.push({ errorCode: error.code, errorMessage: error.message, resourceType: resource.resourceType, resourceName: resource.resourceName });
  }
  return responses;
}

/** Kafka's first checks of every resource: no key twice, and no null value where one is needed. */
export function checkConfigKeys<C extends { name: string; value: string | null }>(configs: readonly C[], needsValue: (config: C) => boolean): void {
  if (duplicatesOf(configs.map((c) => c.name)).size > 0) {
    throw new AdminError(ErrorCode.INVALID_REQUEST, 'Error due to duplicate config keys');
  }
  const nullKeys = configs.filter((c) => c.value === null && needsValue(c)).map((c) => c.name);
  if (nullKeys.length > 0) throw new AdminError(ErrorCode.INVALID_REQUEST, `Null value not supported for : ${nullKeys.join(', ')}`);
}

/** A broker resource is "" (the cluster-wide defaults) or this broker's id. */
export function checkBrokerResourceName(name: string, nodeId: number): void {
  if (name === '') return;
  const id = parseJavaInt(name);
  if (id === null) throw new AdminError(ErrorCode.INVALID_REQUEST, `Node id must be an integer, but it is: ${name}`);
  if (id !== nodeId) throw new AdminError(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${nodeId}, but received ${name}`);
}

/** Strand reads broker configs once, at startup: changing any of them at run time is refused as Kafka refuses its static ones. */
export function refuseBrokerConfigChanges(keys: readonly string[]): void {
  if (keys.length === 0) return;
  throw new AdminError(ErrorCode.INVALID_REQUEST, `Cannot update these configs dynamically: Set(${keys.join(', ')})`);
}

/** A topic resource names one existing topic; "" would mean topic defaults, which Kafka does not have. */
export function checkTopicResource(name: string, ctx: RequestContext): void {
  if (name === '') throw new AdminError(ErrorCode.INVALID_REQUEST, 'Default topic resources are not allowed.');
  validateTopicName(name);
  if (!ctx.services.registry.has(name)) {
    throw new AdminError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${name}' does not exist.`);
  }
}

export function unsupportedResourceType(type: number): AdminError {
  // CLIENT_METRICS and GROUP resources exist in Kafka but not in Strand.
  if (type === CONFIG_RESOURCE.CLIENT_METRICS || type === CONFIG_RESOURCE.GROUP) {
    return new AdminError(ErrorCode.INVALID_REQUEST, `Unsupported resource type: ${type}`);
  }
  return new AdminError(ErrorCode.INVALID_REQUEST, `Unknown resource type ${type}`);
}

async function alterResource(resource: AlterConfigsResource, validateOnly: boolean, ctx: RequestContext): Promise<ApiError> {
  checkConfigKeys(resource.configs, () => true);
  switch (resource.resourceType) {
    case CONFIG_RESOURCE.BROKER:
      checkBrokerResourceName(resource.resourceName, ctx.services.nodeId);
      refuseBrokerConfigChanges(resource.configs.map((c) => c.name));
      return NO_ERROR;
    case CONFIG_RESOURCE.TOPIC: {
      checkTopicResource(resource.resourceName, ctx);
      const overrides = new Map<string, string>();
      for (const c of resource.configs) overrides.set(c.name, c.value!);
      const info = await ctx.services.registry.alterConfigs(resource.resourceName, Object.fromEntries(overrides), { validateOnly });
      if (!validateOnly) ctx.log.info({ topic: info.name, configs: info.configs }, 'replaced topic configs');
      return NO_ERROR;
    }
    default:
      // BROKER_LOGGER included: the legacy API never supported it.
      throw unsupportedResourceType(resource.resourceType);
  }
}

export const alterConfigsHandler = defineHandler({
  apiKey: ApiKey.AlterConfigs,
  minVersion: 0,
  maxVersion: 2,
  async handle(request, ctx): Promise<AlterConfigsResponse> {
    const responses = await alterEachResource(request.resources, (r) => alterResource(r, request.validateOnly, ctx), ctx, 'AlterConfigs');
    return { throttleTimeMs: 0, responses };
  },
});
