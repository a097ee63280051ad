// IncrementalAlterConfigs (api key 44): SET, DELETE, APPEND to or SUBTRACT from single config
// keys of a topic (all of a resource's operations apply, or none), or only check them
// (validateOnly). Broker configs are static in Strand, so only deleting (a no-op) is accepted
// for them. Broker logger resources set the level of the broker's logger at once.

import { ALTER_CONFIG_OP } from '../../cluster/index';
import { BROKER_CONFIGS } from '../../config/index';
import { ApiKey, ErrorCode, type IncrementalAlterConfigsResponse } from '../../protocol/index';
import type { AlterConfigsResource, AlterableConfig } from '../../protocol/generated/incremental-alter-configs-request';
import { defineHandler, type RequestContext } from '../api-handler';
import { AdminError, CONFIG_RESOURCE, LOG_LEVELS, NO_ERROR, ROOT_LOGGER, parseJavaInt, type ApiError } from './admin-common';
import {
  checkBrokerResourceName,
  checkConfigKeys,
  checkTopicResource,
  refuseBrokerConfigChanges,
  alterEachResource,
  unsupportedResourceType,
} from './alter-configs';

const OP_NAME: Readonly<Record<number, string>> = { 0: 'SET', 1: 'DELETE', 2: 'APPEND', 3: 'SUBTRACT' };

/** The broker config keys the operations would leave set; Strand refuses any. */
function brokerKeysSet(configs: readonly AlterableConfig[]): string[] {
  const set = new Set<string>();
  for (const c of configs) {
    switch (c.configOperation) {
      case ALTER_CONFIG_OP.SET:
        set.add(c.name);
        break;
      case ALTER_CONFIG_OP.DELETE:
        set.delete(c.name);
        break;
      case ALTER_CONFIG_OP.APPEND:
      case ALTER_CONFIG_OP.SUBTRACT: {
        const verb = c.configOperation === ALTER_CONFIG_OP.APPEND ? 'append' : 'subtract';
        const def = BROKER_CONFIGS.get(c.name);
        if (def === undefined) throw new AdminError(ErrorCode.INVALID_CONFIG, `Unknown config name: ${c.name}`);
        if (def.type !== 'LIST') throw new AdminError(ErrorCode.INVALID_CONFIG, `Config value ${verb} is not allowed for config key: ${c.name}`);
        set.add(c.name);
        break;
      }
      default:
        throw new AdminError(ErrorCode.INVALID_REQUEST, `Unknown operations type ${c.configOperation}`);
    }
  }
  return [...set];
}

/** Log levels: SET one of Kafka's levels on an existing logger; the root logger's level cannot be removed. */
function alterLoggers(resource: AlterConfigsResource, validateOnly: boolean, ctx: RequestContext): void {
  const id = parseJavaInt(resource.resourceName);
  if (id === null) throw new AdminError(ErrorCode.INVALID_REQUEST, `Node id must be an integer, but it is: ${resource.resourceName}`);
  if (id !== ctx.services.nodeId) {
    throw new AdminError(ErrorCode.INVALID_REQUEST, `Unexpected node id. Expected ${ctx.services.nodeId}, but received ${resource.resourceName}`);
  }
  const loggerMissing = (name: string): AdminError => new AdminError(ErrorCode.INVALID_CONFIG, `Logger ${name} does not exist!`);
  for (const c of resource.configs) {
    switch (c.configOperation) {
      case ALTER_CONFIG_OP.SET:
        if (c.name !== ROOT_LOGGER) throw loggerMissing(c.name);
        if (!LOG_LEVELS.has(c.value ?? '')) {
          throw new AdminError(
            ErrorCode.INVALID_CONFIG,
            `Cannot set the log level of ${c.name} to ${c.value} as it is not a supported log level. Valid log levels are ${[...LOG_LEVELS.keys()].sort().join(', ')}`,
          );
        }
        break;
      case ALTER_CONFIG_OP.DELETE:
        if (c.name !== ROOT_LOGGER) throw loggerMissing(c.name);
        throw new AdminError(ErrorCode.INVALID_REQUEST, `Removing the log level of the ${ROOT_LOGGER} logger is not allowed`);
      case ALTER_CONFIG_OP.APPEND:
      case ALTER_CONFIG_OP.SUBTRACT:
        throw new AdminError(ErrorCode.INVALID_REQUEST, `${OP_NAME[c.configOperation]} operation is not allowed for the BROKER_LOGGER resource`);
      default:
        throw new AdminError(ErrorCode.INVALID_REQUEST, `Unknown operation type ${c.configOperation} is not allowed for the BROKER_LOGGER resource`);
    }
  }
  if (validateOnly) return;
  for (const c of resource.configs) {
    const level = LOG_LEVELS.get(c.value!)!;
    ctx.services.log.level = level;
    ctx.services.log.warn({ logger: c.name, level: c.value }, 'updated the log level');
  }
}

async function alterResource(resource: AlterConfigsResource, validateOnly: boolean, ctx: RequestContext): Promise<ApiError> {
  checkConfigKeys(resource.configs, (c) => c.configOperation !== ALTER_CONFIG_OP.DELETE);
  switch (resource.resourceType) {
    case CONFIG_RESOURCE.BROKER_LOGGER:
      alterLoggers(resource, validateOnly, ctx);
      return NO_ERROR;
    case CONFIG_RESOURCE.BROKER:
      checkBrokerResourceName(resource.resourceName, ctx.services.nodeId);
      refuseBrokerConfigChanges(brokerKeysSet(resource.configs));
      return NO_ERROR;
    case CONFIG_RESOURCE.TOPIC: {
      checkTopicResource(resource.resourceName, ctx);
      const ops = resource.configs.map((c) => ({ name: c.name, op: c.configOperation, value: c.value }));
      const info = await ctx.services.registry.incrementalAlterConfigs(resource.resourceName, ops, { validateOnly });
      if (!validateOnly) ctx.log.info({ topic: info.name, configs: info.configs }, 'altered topic configs');
      return NO_ERROR;
    }
    default:
      throw unsupportedResourceType(resource.resourceType);
  }
}

export const incrementalAlterConfigsHandler = defineHandler({
  apiKey: ApiKey.IncrementalAlterConfigs,
  minVersion: 0,
  maxVersion: 1,
  async handle(request, ctx): Promise<IncrementalAlterConfigsResponse> {
    const responses = await alterEachResource(request.resources, (r) => alterResource(r, request.validateOnly, ctx), ctx, 'IncrementalAlterConfigs');
    return { throttleTimeMs: 0, responses };
  },
});
