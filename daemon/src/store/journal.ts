// The write journal (`<state dir>/patches.journal`): one record per applied write, appended and
// made durable (O_DSYNC) before the call returns. A Patch record holds its operations (a few hundred
// bytes however big the config is); an Apply record holds the whole config in protobuf binary, which
// is written several times faster than config.json's JSON. config.json holds a snapshot; at start the
// records after its generation are replayed onto it.
//
// Record: u32 length (BE) · u32 CRC-32 of the body · body = u64 generation · f64 applied-at (ms since
// the epoch) · u8 kind (0 Patch, 1 whole config) · PatchRequest (operations only) or RouterConfig,
// protobuf binary. A record cut short by a crash, or one whose checksum fails, ends the journal: it
// and anything after it are dropped (its write never returned to its caller).
//
// A Patch's record (up to 64 KiB) is written from the event loop before the kernel applies its write,
// an Apply's whole config from libuv's pool beside the kernel apply; a write the kernel refused is
// taken back out (the file cut back to where its record began) before its caller hears back.
import { crc32 } from 'node:zlib';
import { constants, writeSync } from 'node:fs';
import { type FileHandle, mkdir, open, readFile, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { type RouterConfig, RouterConfigSchema } from '../gen/vrouter/v1/config_pb.js';
import { type PatchOperation, PatchRequestSchema } from '../gen/vrouter/v1/service_pb.js';

/** One applied write: a Patch's operations, or an Apply's whole config. */
export type JournalRecord = {
  readonly generation: bigint;
  readonly appliedAt: Date;
} & ({ readonly operations: readonly PatchOperation[] } | { readonly config: RouterConfig });

const HEADER = 8;
const FIXED = 17;
const KIND_PATCH = 0;
const KIND_CONFIG = 1;
// One syscall per record, instead of write() then fdatasync().
const APPEND_DURABLY = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_DSYNC;
/**
 * Records up to this size are written from the event loop: a small O_DSYNC write holds it ~0.2 ms on
 * a virtio disk, while the trip through libuv's pool and back had a tail of several ms on a busy
 * 2-vCPU router (a thread to wake on each side). Bigger records (whole configs) go through the pool
 * so that DHCP is served while they are written.
 */
const IN_PLACE_BYTES = 64 * 1024;

export function encodeRecord(record: JournalRecord): Buffer {
  const payload =
    'config' in record
      ? toBinary(RouterConfigSchema, record.config)
      : toBinary(PatchRequestSchema, create(PatchRequestSchema, { operations: [...record.operations] }));
  const body = Buffer.alloc(FIXED + payload.length);
  body.writeBigUInt64BE(record.generation, 0);
  body.writeDoubleBE(record.appliedAt.getTime(), 8);
  body.writeUInt8('config' in record ? KIND_CONFIG : KIND_PATCH, 16);
  body.set(payload, FIXED);
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
      const generation = body.readBigUInt64BE(0);
      const appliedAt = new Date(body.readDoubleBE(8));
      const payload = body.subarray(FIXED);
      const kind = body.readUInt8(16);
      if (kind === KIND_CONFIG)
        records.push({ generation, appliedAt, config: fromBinary(RouterConfigSchema, payload) });
      else if (kind === KIND_PATCH)
        records.push({
          generation,
          appliedAt,
          operations: fromBinary(PatchRequestSchema, payload).operations,
        });
      else break;
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
  private configs = 0;
  /** Where the record appended last begins, and whether it holds a whole config: what retractLast cuts. */
  private last: { readonly start: number; readonly config: boolean } | undefined;

  constructor(private readonly path: string) {}

  get bytes(): number {
    return this.size;
  }

  /** Whether a whole config was journaled (an Apply) since the last reset. */
  get holdsConfig(): boolean {
    return this.configs > 0;
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
    this.configs = records.filter((r) => 'config' in r).length;
    this.last = undefined;
    return records;
  }

  /** Durable when it resolves: the file is opened with O_DSYNC, so one write() is write + fdatasync. */
  async append(record: JournalRecord): Promise<void> {
    if (this.file === undefined) {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      this.file = await open(this.path, APPEND_DURABLY, 0o600);
    }
    const data = encodeRecord(record);
    try {
      const written =
        data.length <= IN_PLACE_BYTES
          ? writeSync(this.file.fd, data)
          : (await this.file.write(data)).bytesWritten;
      if (written !== data.length)
        throw new Error(
          `journal: only ${written} of a record's ${data.length} bytes were written (disk full?)`,
        );
    } catch (e) {
      // Cut a partly written record off, or the next records would be dropped behind it at load.
      await this.file.truncate(this.size).catch(() => undefined);
      throw e;
    }
    this.last = { start: this.size, config: 'config' in record };
    this.size += data.length;
    if ('config' in record) this.configs++;
  }

  /** Takes back the record appended last (its write did not take effect); durable when it resolves. */
  async retractLast(): Promise<void> {
    const last = this.last;
    if (this.file === undefined || last === undefined) throw new Error('no record to take back');
    await this.file.truncate(last.start);
    await this.file.datasync();
    this.last = undefined;
    this.size = last.start;
    if (last.config) this.configs--;
  }

  /** Empties the journal (after a snapshot holds everything it had). */
  async reset(): Promise<void> {
    await this.file?.close();
    this.file = undefined;
    await truncate(this.path, 0).catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    });
    this.size = 0;
    this.configs = 0;
    this.last = undefined;
  }

  async close(): Promise<void> {
    await this.file?.close();
    this.file = undefined;
  }
}
