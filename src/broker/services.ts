import type { Logger } from 'pino';
import type { TopicRegistry } from '../cluster/index';
import type { ServerConfig } from '../config/index';
import type { ApiHandler } from './api-handler';
import type { PartitionManager } from './partition-manager';

/** The broker's shared parts, as handlers use them. */
export interface BrokerServices {
  readonly config: ServerConfig;
  readonly nodeId: number;
  readonly clusterId: string;
  /** The listener clients should connect to (advertised.listeners, else listeners with the bound port). */
  readonly advertised: { host: string; port: number };
  readonly registry: TopicRegistry;
  readonly partitions: PartitionManager;
  readonly log: Logger;
  /** Every handler, by api key (ApiVersions reports them). */
  readonly handlers: ReadonlyMap<number, ApiHandler>;
  /** Extensions registered by later subsystems (group coordinator ...), by name. */
  readonly extensions: Map<string, unknown>;
}
