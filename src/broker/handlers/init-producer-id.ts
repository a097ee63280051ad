// InitProducerId (api key 22): gives an idempotent producer its id and epoch. Without a
// transactional id every call gets a fresh id at epoch 0, as Kafka does. With one, the
// request is validated and answered the same way: transactions themselves are not
// implemented yet (no transaction coordinator), so the id is not tied to the
// transactional id and earlier producers of it are not fenced.
import { ApiKey, ErrorCode, type InitProducerIdResponse } from '../../protocol/index';
import { defineHandler } from '../api-handler';
import { ProducerIdAllocator } from '../producer-ids';
import type { BrokerServices } from '../services';

const allocators = new WeakMap<BrokerServices, ProducerIdAllocator>();

function allocatorOf(services: BrokerServices): ProducerIdAllocator {
  let allocator = allocators.get(services);
  if (allocator === undefined) {
    allocator = new ProducerIdAllocator(services.config.logDirs[0]!);
    allocators.set(services, allocator);
  }
  return allocator;
}

function failed(errorCode: number): InitProducerIdResponse {
  return { throttleTimeMs: 0, errorCode, producerId: -1, producerEpoch: -1 };
}

export const initProducerIdHandler = defineHandler({
  apiKey: ApiKey.InitProducerId,
  minVersion: 0,
  maxVersion: 5,
  async handle(request, ctx): Promise<InitProducerIdResponse> {
    const transactionalId = request.transactionalId;
    if (transactionalId !== null) {
      if (transactionalId === '') return failed(ErrorCode.INVALID_REQUEST);
      const timeoutMs = request.transactionTimeoutMs;
      if (timeoutMs <= 0 || timeoutMs > ctx.services.config.transactionMaxTimeoutMs) return failed(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    }
    try {
      const producerId = await allocatorOf(ctx.services).allocate();
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 };
    } catch (err) {
      ctx.log.error({ err: (err as Error).message }, 'cannot allocate a producer id');
      return failed(ErrorCode.UNKNOWN_SERVER_ERROR);
    }
  },
});
