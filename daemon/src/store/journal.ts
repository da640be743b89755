// The Patch journal (`<state dir>/patches.journal`): one record per applied Patch, appended and
// fdatasync'd before the call returns, so a Patch costs a few hundred bytes of I/O however big the
// config is. config.json holds a snapshot; at start the records after its generation are replayed.
//
// Record: u32 length (BE) · u32 CRC-32 of the body · body = u64 generation · f64 applied-at (ms since
// the epoch) · PatchRequest (protobuf binary, operations only). A record cut short by a crash, or one
// whose checksum fails, ends the journal: it and anything after it are dropped (its Patch never
// returned to its caller).
import { crc32 } from 'node:zlib';
import { type FileHandle, open, readFile, truncate } from 'node:fs/promises';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { type PatchOperation, PatchRequestSchema } from '../gen/vrouter/v1/service_pb.js';

export interface JournalRecord {
  readonly generation: bigint;
  readonly appliedAt: Date;
  readonly operations: readonly PatchOperation[];
}

const HEADER = 8;
const FIXED = 16;

export function encodeRecord(record: JournalRecord): Buffer {
  const operations = toBinary(
    PatchRequestSchema,
    create(PatchRequestSchema, { operations: [...record.operations] }),
  );
  const body = Buffer.alloc(FIXED + operations.length);
  body.writeBigUInt64BE(record.generation, 0);
  body.writeDoubleBE(record.appliedAt.getTime(), 8);
  body.set(operations, FIXED);
  const head = Buffer.alloc(HEADER);
  head.writeUInt32BE(body.length, 0);
  head.writeUInt32BE(crc32(body), 4);
  return Buffer.concat([head, body]);
}

/** The complete records of a journal and the length they span (where a torn tail starts). */
export function decodeRecords(data: Buffer): { records: JournalRecord[]; validLength: number } {
  const records: JournalRecord[] = [];
  let offset = 0;
  while (offset + HEADER <= data.length) {
    const length = data.readUInt32BE(offset);
    const end = offset + HEADER + length;
    if (length < FIXED || end > data.length) break;
    const body = data.subarray(offset + HEADER, end);
    if (crc32(body) !== data.readUInt32BE(offset + 4)) break;
    try {
      const request = fromBinary(PatchRequestSchema, body.subarray(FIXED));
      records.push({
        generation: body.readBigUInt64BE(0),
        appliedAt: new Date(body.readDoubleBE(8)),
        operations: request.operations,
      });
    } catch {
      break;
    }
    offset = end;
  }
  return { records, validLength: offset };
}

export class Journal {
  private file: FileHandle | undefined;
  private size = 0;

  constructor(private readonly path: string) {}

  get bytes(): number {
    return this.size;
  }

  /** Reads the complete records and cuts off a torn tail, so later appends follow a good record. */
  async read(): Promise<JournalRecord[]> {
    let data: Buffer;
    try {
      data = await readFile(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const { records, validLength } = decodeRecords(data);
    if (validLength < data.length) await truncate(this.path, validLength);
    this.size = validLength;
    return records;
  }

  async append(record: JournalRecord): Promise<void> {
    this.file ??= await open(this.path, 'a', 0o600);
    const data = encodeRecord(record);
    try {
      await this.file.write(data);
      await this.file.datasync();
    } catch (e) {
      // Cut a partly written record off, or the next records would be dropped behind it at load.
      await this.file.truncate(this.size).catch(() => undefined);
      throw e;
    }
    this.size += data.length;
  }

  /** Empties the journal (after a snapshot holds everything it had). */
  async reset(): Promise<void> {
    await this.file?.close();
    this.file = undefined;
    await truncate(this.path, 0).catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    });
    this.size = 0;
  }

  async close(): Promise<void> {
    await this.file?.close();
    this.file = undefined;
  }
}
