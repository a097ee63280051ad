import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { FrameDecoder } from './frame-decoder';
import type { FrameReader } from './frame-reader';
import {
  type ConnectionContext,
  type EncodedResponse,
  type FileRegionChunk,
  type FrameHandler,
  type RegionReader,
  type RegionSender,
  isBuffer,
} from './types';

export interface ConnectionOptions {
  id: number;
  listenerName: string;
  maxRequestBytes: number;        // socket.request.max.bytes
  maxInFlightRequests: number;    // queued.max.requests: stop reading past this many
  maxPendingWriteBytes: number;   // stop reading while the peer leaves this much unread, or this many request bytes are in hand
  idleTimeoutMs: number;          // connections.max.idle.ms
  sendTimeoutMs: number;          // a sendfile that makes no progress this long fails the connection
  regionCopyThresholdBytes: number; // responses whose file bytes are below this are copied, not sendfile'd
  useSendfile: boolean;           // false on TLS
  requestBudget: RequestMemoryBudget; // shared by every connection of the server
}

/**
 * Bytes of requests being handled across all connections (Kafka's queued.max.request.bytes
 * idea): a connection that finds the budget spent stops reading until it is paid back.
 */
export class RequestMemoryBudget {
  inFlightBytes = 0;
  readonly maxBytes: number;
  private readonly waiting = new Set<() => void>();
  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }
  get exhausted(): boolean {
    return this.inFlightBytes > this.maxBytes;
  }
  take(bytes: number): void {
    this.inFlightBytes += bytes;
  }
  giveBack(bytes: number): void {
    this.inFlightBytes -= bytes;
    if (!this.exhausted && this.waiting.size > 0) {
      const wake = [...this.waiting];
      this.waiting.clear();
      for (const w of wake) w();
    }
  }
  wait(resume: () => void): void {
    this.waiting.add(resume);
  }
  forget(resume: () => void): void {
    this.waiting.delete(resume);
  }
}

const PRODUCE_API_KEY = 0;

/** A response slot, so responses leave in request order whatever order handlers finish in. */
interface Slot {
  requestBytes: number;
  /** The frame's own pooled buffer, given back when the request is done (Produce only). */
  own: Buffer | null;
  done: boolean;
  response: EncodedResponse | null;
}

/**
 * One client connection: frames requests, runs them concurrently, writes responses strictly
 * in request order, and stops reading while too much is outstanding (backpressure).
 */
export class Connection implements ConnectionContext {
  readonly id: number;
  readonly remoteAddress: string;
  readonly listenerName: string;
  private readonly socket: Socket;
  private readonly handler: FrameHandler;
  private readonly log: Logger;
  private readonly options: ConnectionOptions;
  private readonly sendRegions: RegionSender;
  private readonly readRegions: RegionReader;
  /** Frames come from `reader` (the socket reads into its buffers) or, without one, from 'data' events through `decoder`. */
  private readonly reader: FrameReader | null;
  private readonly decoder: FrameDecoder | null;
  private readonly slots: Slot[] = [];
  private slotHead = 0;
  private writing = false;
  private paused = false;
  private isClosed = false;
  private readonly closeListeners: Array<() => void> = [];
  private closeAfterWrites = false;
  // Bytes of requests being handled: bounded like unread responses, so that pipelined large
  // requests cannot pile up in memory.
  private requestBytesInFlight = 0;
  private readonly resumeFromBudget = (): void => this.maybeResume();

  constructor(
    socket: Socket,
    handler: FrameHandler,
    sendRegions: RegionSender,
    readRegions: RegionReader,
    log: Logger,
    options: ConnectionOptions,
    reader: FrameReader | null = null,
  ) {
    this.socket = socket;
    this.handler = handler;
    this.sendRegions = sendRegions;
    this.readRegions = readRegions;
    this.options = options;
    this.id = options.id;
    this.listenerName = options.listenerName;
    this.remoteAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    this.log = log;
    this.reader = reader;
    if (reader !== null) {
      this.decoder = null;
      reader.onFrame = (frame, own) => {
        this.onFrame(frame, own);
        return !this.paused;
      };
      reader.onError = (err) => this.onBadFrame(err);
    } else {
      this.decoder = new FrameDecoder(options.maxRequestBytes);
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
    }
    socket.setNoDelay(true);
    socket.setTimeout(options.idleTimeoutMs);
    socket.on('drain', () => this.onDrain());
    socket.on('timeout', () => this.onIdle());
    socket.on('error', (err) => this.log.debug({ conn: this.id, err: err.message }, 'connection error'));
    socket.on('close', () => this.onSocketClose());
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get inFlightRequests(): number {
    return this.slots.length - this.slotHead;
  }

  onClose(listener: () => void): void {
    if (this.isClosed) listener();
    else this.closeListeners.push(listener);
  }

  /** Closes the connection after the responses already queued have been written. */
  closeGracefully(): void {
    if (this.inFlightRequests === 0 && !this.writing) this.socket.end();
    else this.closeAfterWrites = true;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer | null): void {
    try {
      // Once paused (too many requests in flight, or too much unread), the rest of the
      // chunk waits in the decoder until the connection resumes.
      this.decoder!.push(chunk, (frame) => {
        this.onFrame(frame);
        return !this.paused;
      });
    } catch (err) {
      this.onBadFrame(err as Error);
    }
  }

  private onBadFrame(err: Error): void {
    // Undecodable framing: one log line and the connection goes (Kafka does the same).
    this.log.warn({ conn: this.id, remote: this.remoteAddress, reason: err.message }, 'closing connection: bad frame');
    this.socket.destroy();
  }

  private onFrame(frame: Buffer, own: Buffer | null = null): void {
    // destroyed: a bad request closed the connection; frames of the same read are not run.
    if (this.isClosed || this.socket.destroyed) return;
    // Only Produce is known to keep no view of its request once answered (its records are
    // in the log by then); other requests' byte fields may live on (group metadata, say).
    const recyclable = own !== null && frame.readInt16BE(0) === PRODUCE_API_KEY ? own : null;
    const slot: Slot = { requestBytes: frame.length, own: recyclable, done: false, response: null };
    this.requestBytesInFlight += frame.length;
    this.options.requestBudget.take(frame.length);
    this.slots.push(slot);
    let result: EncodedResponse | null | Promise<EncodedResponse | null>;
    try {
      result = this.handler.handleFrame(frame, this);
    } catch (err) {
      this.failRequest(err);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (response) => this.complete(slot, response),
        (err: unknown) => this.failRequest(err),
      );
    } else {
      this.complete(slot, result);
    }
    this.maybePause();
  }

  private failRequest(err: unknown): void {
    if (this.isClosed) return;
    this.log.warn({ conn: this.id, remote: this.remoteAddress, reason: (err as Error)?.message ?? String(err) }, 'closing connection: undecodable request');
    this.socket.destroy();
  }

  private complete(slot: Slot, response: EncodedResponse | null): void {
    if (this.isClosed) {
      releaseResponse(response);
      return;
    }
    slot.done = true;
    slot.response = response;
    if (slot.own !== null) {
      this.reader?.recycle(slot.own);
      slot.own = null;
    }
    // The request's bytes (and what its decoded form refers to) are no longer needed.
    this.requestBytesInFlight -= slot.requestBytes;
    this.options.requestBudget.giveBack(slot.requestBytes);
    if (!this.writing) void this.writeReady();
  }

  /** Writes every finished response at the head of the queue, in order. */
  private async writeReady(): Promise<void> {
    this.writing = true;
    // Corked, the responses finished together leave in one write syscall.
    this.socket.cork();
    try {
      while (!this.isClosed && this.slotHead < this.slots.length && this.slots[this.slotHead]!.done) {
        // A peer that does not read: leave the rest queued (their regions are fds, not
        // memory) until the socket drains, so that its buffer stays bounded.
        if (this.socket.writableLength > this.options.maxPendingWriteBytes) break;
        const slot = this.slots[this.slotHead]!;
        this.slots[this.slotHead] = undefined as unknown as Slot;
        this.slotHead++;
        if (this.slotHead > 1024 && this.slotHead * 2 > this.slots.length) {
          this.slots.splice(0, this.slotHead);
          this.slotHead = 0;
        }
        const response = slot.response;
        if (response === null) continue;
        if (Buffer.isBuffer(response)) this.socket.write(response);
        else {
          this.socket.uncork();
          try {
            await this.writeChunks(response.chunks, response.totalBytes);
          } finally {
            releaseResponse(response);
            this.socket.cork();
          }
        }
      }
    } catch (err) {
      this.log.info({ conn: this.id, remote: this.remoteAddress, reason: (err as Error).message }, 'closing connection: response write failed');
      this.socket.destroy();
    } finally {
      this.socket.uncork();
      this.writing = false;
    }
    this.maybePause();
    this.maybeResume();
    if (this.closeAfterWrites && this.inFlightRequests === 0) this.socket.end();
  }

  private async writeChunks(chunks: Array<Buffer | FileRegionChunk>, totalBytes: number): Promise<void> {
    let fileBytes = 0;
    for (const chunk of chunks) if (!isBuffer(chunk)) fileBytes += chunk.length;
    if (!this.options.useSendfile || fileBytes < this.options.regionCopyThresholdBytes) {
      // Small or TLS: copy the file bytes into Buffers and let the socket queue them.
      this.socket.cork();
      for (const chunk of chunks) {
        if (isBuffer(chunk)) this.socket.write(chunk);
        else for (const b of this.readRegions([chunk])) this.socket.write(b);
      }
      this.socket.uncork();
      return;
    }
    let i = 0;
    while (i < chunks.length) {
      // Buffers up to the next region go through the socket; sendfile must wait until they
      // have reached the kernel, or the bytes would leave out of order.
      let lastWrite: Promise<void> | null = null;
      while (i < chunks.length && isBuffer(chunks[i]!)) {
        const buf = chunks[i++] as Buffer;
        lastWrite = new Promise<void>((resolve, reject) => {
          this.socket.write(buf, (err) => (err ? reject(err) : resolve()));
        });
      }
      if (lastWrite !== null) await lastWrite;
      if (i >= chunks.length || this.isClosed) break;
      const regions: FileRegionChunk[] = [];
      while (i < chunks.length && !isBuffer(chunks[i]!)) regions.push(chunks[i++] as FileRegionChunk);
      await this.sendRegions(this.socket, regions, this.options.sendTimeoutMs);
    }
    void totalBytes;
  }

  private onDrain(): void {
    this.maybeResume();
    if (!this.writing && !this.isClosed && this.slotHead < this.slots.length && this.slots[this.slotHead]!.done) void this.writeReady();
  }

  private maybePause(): void {
    if (this.paused) return;
    if (
      this.inFlightRequests >= this.options.maxInFlightRequests ||
      this.requestBytesInFlight > this.options.maxPendingWriteBytes ||
      this.socket.writableLength > this.options.maxPendingWriteBytes ||
      this.options.requestBudget.exhausted
    ) {
      if (this.options.requestBudget.exhausted) this.options.requestBudget.wait(this.resumeFromBudget);
      this.paused = true;
      this.socket.pause();
    }
  }

  private maybeResume(): void {
    if (!this.paused || this.isClosed) return;
    if (this.options.requestBudget.exhausted) {
      this.options.requestBudget.wait(this.resumeFromBudget);
      return;
    }
    if (
      this.inFlightRequests < this.options.maxInFlightRequests &&
      this.requestBytesInFlight <= this.options.maxPendingWriteBytes &&
      this.socket.writableLength <= this.options.maxPendingWriteBytes &&
      !this.options.requestBudget.exhausted
    ) {
      this.paused = false;
      this.socket.resume();
      if (this.reader !== null) this.reader.resume();
      else if (this.decoder!.hasHeld) this.onData(null);
    }
  }

  private onIdle(): void {
    // connections.max.idle.ms: only a connection with nothing in flight is idle.
    if (this.inFlightRequests === 0 && !this.writing) {
      this.log.debug({ conn: this.id, remote: this.remoteAddress }, 'closing idle connection');
      this.socket.destroy();
    }
  }

  private onSocketClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (let i = this.slotHead; i < this.slots.length; i++) {
      const slot = this.slots[i]!;
      if (slot.done) releaseResponse(slot.response);
      else this.options.requestBudget.giveBack(slot.requestBytes);
    }
    this.options.requestBudget.forget(this.resumeFromBudget);
    this.slots.length = 0;
    this.slotHead = 0;
    for (const listener of this.closeListeners.splice(0)) {
      try {
        listener();
      } catch (err) {
        this.log.error({ conn: this.id, err: (err as Error).message }, 'close listener failed');
      }
    }
  }
}

function releaseResponse(response: EncodedResponse | null): void {
  if (response !== null && !Buffer.isBuffer(response)) response.release?.();
}
