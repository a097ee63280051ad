// DescribeCluster (api key 60): the cluster id, the brokers (this one), the controller (this
// broker: it is its own controller) and, when asked, the operations allowed on the cluster.

import { ApiKey, ErrorCode, type DescribeClusterResponse } from '../../protocol/index';
import { defineHandler } from '../api-handler';
import { AUTHORIZED_OPERATIONS_OMITTED, CLUSTER_AUTHORIZED_OPERATIONS } from './admin-common';

const ENDPOINT_TYPE = { BROKER: 1, CONTROLLER: 2 } as const;
const ENDPOINT_TYPE_NAME: Readonly<Record<number, string>> = { 1: 'BROKER', 2: 'CONTROLLER' };

export const describeClusterHandler = defineHandler({
  apiKey: ApiKey.DescribeCluster,
  minVersion: 0,
  maxVersion: 1,
  handle(request, ctx): DescribeClusterResponse {
    const { services } = ctx;
    const version = ctx.header.apiVersion;
    const refused = (v1Code: number, message: string): DescribeClusterResponse => ({
      throttleTimeMs: 0,
      // v0 has no endpoint type error codes; Kafka answers it INVALID_REQUEST.
      errorCode: version === 0 ? ErrorCode.INVALID_REQUEST : v1Code,
      errorMessage: message,
      endpointType: ENDPOINT_TYPE.BROKER,
      clusterId: '',
      controllerId: -1,
      brokers: [],
      clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    });
    const wanted = ENDPOINT_TYPE_NAME[request.endpointType];
    if (wanted === undefined) {
      return refused(ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, `Unsupported endpoint type ${request.endpointType}`);
    }
    if (request.endpointType !== ENDPOINT_TYPE.BROKER) {
      return refused(
        ErrorCode.MISMATCHED_ENDPOINT_TYPE,
        `The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type ${wanted}`,
      );
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      endpointType: ENDPOINT_TYPE.BROKER,
      clusterId: services.clusterId,
      controllerId: services.nodeId,
      brokers: [{ brokerId: services.nodeId, host: services.advertised.host, port: services.advertised.port, rack: services.config.brokerRack }],
      // No authorizer: every operation the cluster resource supports is allowed.
      clusterAuthorizedOperations: request.includeClusterAuthorizedOperations ? CLUSTER_AUTHORIZED_OPERATIONS : AUTHORIZED_OPERATIONS_OMITTED,
    };
  },
});
