// Producer id allocation for InitProducerId. Ids come from blocks reserved in a small file
// of the log dir: before handing out any id of a block, the file is rewritten (atomically:
// temp file, fsync, rename, fsync of the directory) to say where the next block starts, so
// that a restart, even a crash, never hands out an id twice.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export const PRODUCER_ID_FILE = 'producer-id-block';
/** Ids reserved per file write (Kafka's controller hands out blocks of 1000 too). */
export const PRODUCER_ID_BLOCK_SIZE = 1000;
const FORMAT_VERSION = 1;

export class ProducerIdCorruptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProducerIdCorruptError';
  }
}

export class ProducerIdAllocator {
  private readonly filePath: string;
  private readonly dir: string;
  private readonly blockSize: number;
  private next = 0;
  private blockEnd = 0;
  private loaded = false;
  // Reservations run one at a time; callers queue behind the one in progress.
  private chain: Promise<unknown> = Promise.resolve();

  constructor(logDir: string, blockSize: number = PRODUCER_ID_BLOCK_SIZE) {
    this.dir = logDir;
    this.filePath = path.join(logDir, PRODUCER_ID_FILE);
    this.blockSize = blockSize;
  }

  /** A producer id never handed out before by this log dir. */
  allocate(): Promise<number> {
    if (this.loaded && this.next < this.blockEnd) return Promise.resolve(this.next++);
    const result = this.chain.then(async () => {
      if (!this.loaded) {
        this.next = await this.readNextBlockStart();
        this.blockEnd = this.next;
        this.loaded = true;
      }
      if (this.next >= this.blockEnd) await this.reserve(this.next + this.blockSize);
      return this.next++;
    });
    this.chain = result.catch(() => undefined);
    return result;
  }

  private async readNextBlockStart(): Promise<number> {
    let text: string;
    try {
      text = await fs.readFile(this.filePath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    const match = /^version=(\d+)\nnext=(\d+)\n$/.exec(text);
    if (match === null || Number(match[1]) !== FORMAT_VERSION) {
      throw new ProducerIdCorruptError(`${this.filePath} is not a producer id block file`);
    }
    const next = Number(match[2]);
    if (!Number.isSafeInteger(next)) throw new ProducerIdCorruptError(`${this.filePath} holds an impossible id ${match[2]}`);
    return next;
  }

  private async reserve(blockEnd: number): Promise<void> {
    const temp = `${this.filePath}.tmp`;
    const handle = await fs.open(temp, 'w');
    try {
      await handle.writeFile(`version=${FORMAT_VERSION}\nnext=${blockEnd}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, this.filePath);
    const dirHandle = await fs.open(this.dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
    this.blockEnd = blockEnd;
  }
}
