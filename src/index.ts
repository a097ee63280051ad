// strand: the broker as a library. The storage engine alone is the subpath "strand/storage".
export { Broker } from './broker/broker';
export { loadServerConfig, createServerConfig, type ServerConfig } from './config/index';
