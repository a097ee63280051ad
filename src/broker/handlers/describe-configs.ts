// DescribeConfigs (api key 32): the configs of topics, of this broker and of its loggers, with
// Kafka's names, values, sources, synonyms, types and (v3+, on request) documentation. v0 has
// isDefault where later versions have the source.

import { validateTopicName } from '../../cluster/index';
import { describeBrokerConfigs, describeTopicConfigs, type ConfigEntry } from '../../config/index';
import { ApiKey, ErrorCode, type DescribeConfigsResponse } from '../../protocol/index';
import type { DescribeConfigsResource } from '../../protocol/generated/describe-configs-request';
import type { DescribeConfigsResourceResult, DescribeConfigsResult } from '../../protocol/generated/describe-configs-response';
import { defineHandler, type RequestContext } from '../api-handler';
import { AdminError, CONFIG_RESOURCE, apiErrorOf, isKnownConfigResourceType, loggerLevels, parseJavaInt } from './admin-common';
import { configDocumentation, type DocumentedResource } from './config-documentation';

const DYNAMIC_BROKER_LOGGER_CONFIG = 6;
const CONFIG_TYPE_UNKNOWN = 0;

interface DescribeOptions {
  includeSynonyms: boolean;
  includeDocumentation: boolean;
}

function toResult(entries: readonly ConfigEntry[], kind: DocumentedResource, options: DescribeOptions): DescribeConfigsResourceResult[] {
  return entries.map((e) => ({
    name: e.name,
    value: e.value,
    readOnly: e.readOnly,
    isDefault: e.isDefault,
    configSource: e.source,
    isSensitive: e.isSensitive,
    synonyms: options.includeSynonyms ? e.synonyms.map((s) => ({ name: s.name, value: s.value, source: s.source })) : [],
    configType: e.configType,
    documentation: options.includeDocumentation ? configDocumentation(kind, e.name) : null,
  }));
}

/** Kafka accepts "" (the cluster-wide defaults) or this broker's id; anything else is refused. */
function checkBrokerName(name: string, nodeId: number, allowEmpty: boolean): void {
  const id = parseJavaInt(name);
  if (id === null) throw new AdminError(ErrorCode.INVALID_REQUEST, `Broker id must be an integer, but it is: ${name}`);
  if (id !== nodeId) {
    const expected = allowEmpty ? `${nodeId} or empty string,` : `${nodeId}`;
    throw new AdminError(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${expected} but received ${name}`);
  }
}

function wanted(keys: readonly string[] | null): (name: string) => boolean {
  if (keys === null || keys.length === 0) return () => true;
  const set = new Set(keys);
  return (name) => set.has(name);
}

function describeResource(resource: DescribeConfigsResource, options: DescribeOptions, ctx: RequestContext): DescribeConfigsResourceResult[] {
  const { services } = ctx;
  switch (resource.resourceType) {
    case CONFIG_RESOURCE.TOPIC: {
      validateTopicName(resource.resourceName);
      const topic = services.registry.get(resource.resourceName);
      // Kafka sends this error without a message.
      if (topic === undefined) throw new AdminError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null);
      return toResult(describeTopicConfigs(services.config, topic.configs, resource.configurationKeys), 'topic', options);
    }
    case CONFIG_RESOURCE.BROKER:
      // "" names the cluster-wide dynamic defaults; Strand has no dynamic broker configs.
      if (resource.resourceName === '') return [];
      checkBrokerName(resource.resourceName, services.nodeId, true);
      return toResult(describeBrokerConfigs(services.config, resource.configurationKeys), 'broker', options);
    case CONFIG_RESOURCE.BROKER_LOGGER: {
      if (resource.resourceName === '') throw new AdminError(ErrorCode.INVALID_REQUEST, 'Broker id must not be empty');
      checkBrokerName(resource.resourceName, services.nodeId, false);
      const include = wanted(resource.configurationKeys);
      return [...loggerLevels(services.log)]
        .filter(([name]) => include(name))
        .map(([name, level]) => ({
          name,
          value: level,
          readOnly: false,
          isDefault: false,
          configSource: DYNAMIC_BROKER_LOGGER_CONFIG,
          isSensitive: false,
          synonyms: [],
          configType: CONFIG_TYPE_UNKNOWN,
          documentation: null,
        }));
    }
    default:
      // CLIENT_METRICS and GROUP: Kafka resources that Strand does not implement.
      throw new AdminError(ErrorCode.INVALID_REQUEST, `Unsupported resource type: ${resource.resourceType}`);
  }
}

export const describeConfigsHandler = defineHandler({
  apiKey: ApiKey.DescribeConfigs,
  minVersion: 0,
  maxVersion: 4,
  handle(request, ctx): DescribeConfigsResponse {
    const options: DescribeOptions = { includeSynonyms: request.includeSynonyms, includeDocumentation: request.includeDocumentation };
    const unknownType = request.resources.find((r) => !isKnownConfigResourceType(r.resourceType));
    if (unknownType !== undefined) {
      // Kafka refuses the whole request when one resource has a type it does not know.
      const message = `Unexpected resource type ${unknownType.resourceType} for resource ${unknownType.resourceName}`;
      return {
        throttleTimeMs: 0,
        results: request.resources.map((r) => ({
          errorCode: ErrorCode.INVALID_REQUEST,
          errorMessage: message,
          resourceType: r.resourceType,
          resourceName: r.resourceName,
          configs: [],
        })),
      };
    }
    const results: DescribeConfigsResult[] = request.resources.map((resource) => {
      try {
        const configs = describeResource(resource, options, ctx);
        return { errorCode: ErrorCode.NONE, errorMessage: null, resourceType: resource.resourceType, resourceName: resource.resourceName, configs };
      } catch (err) {
        const error = apiErrorOf(err, ctx.log, 'DescribeConfigs');
        return {
          errorCode: error.code,
          errorMessage: error.message,
          resourceType: resource.resourceType,
          resourceName: resource.resourceName,
          configs: [],
        };
      }
    });
    return { throttleTimeMs: 0, results };
  },
});
