// The DHCP leases on disk, in the state directory: a snapshot (`dhcp-leases.json`, written whole and
// atomically: write, fsync, rename) and a journal of the changes since (`dhcp-leases.journal.<n>`, one
// change a line, appended and fsynced at most once per `delayMs`, 100 ms by default). A burst of
// thousands of clients costs ten appends a second, each as long as what changed in it rather than as
// long as the table.
// When the journal outgrows the table, a new journal segment starts and a new snapshot is written
// (serialized in slices, so the event loop keeps answering); then the older segments go.
//
// Loading replays the snapshot, then the segments in order: each journal line states a client's lease
// whole, so replaying a segment over a snapshot taken later still ends at the latest state. A crash
// loses at most the last `delayMs` of changes, which clients repair themselves: a renewing client
// whose lease is unknown but whose address is free in the pool gets it confirmed.
import { type FileHandle, mkdir, open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../store/atomic-file.js';
import type { Lease, LeaseChange } from './leases.js';
import {
  type DeclinedAddress,
  LeaseState,
  type StoredLeases,
  declinedRecord,
  journalLine,
  leaseRecord,
  snapshotDocument,
} from './lease-records.js';

export interface LeaseSnapshot {
  leases(): Iterable<Lease>;
  declined(): Iterable<DeclinedAddress>;
  readonly size: number;
}

export interface LeaseFileLog {
  error(obj: object, msg: string): void;
}

const SNAPSHOT = 'dhcp-leases.json';
const SEGMENT = /^dhcp-leases\.journal\.(\d+)$/;
/** A journal shorter than this is never compacted; longer, once it has twice as many lines as leases. */
const COMPACT_MIN_LINES = 10_000;
/** Records serialized between two yields to the event loop while writing a snapshot. */
const SLICE = 2_000;

export class LeaseFile {
  readonly path: string;
  private pending: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private journal: FileHandle | undefined;
  /** The newest segment; the next one opened is numbered one more. */
  private segment = 0;
  private journalLines = 0;
  private counts = { writes: 0, failures: 0, compactions: 0 };

  constructor(
    private readonly dir: string,
    private readonly snapshot: LeaseSnapshot,
    private readonly log: LeaseFileLog,
    private readonly delayMs = 100,
  ) {
    this.path = join(dir, SNAPSHOT);
  }

  get writes(): number {
    return this.counts.writes;
  }

  get failures(): number {
    return this.counts.failures;
  }

  get compactions(): number {
    return this.counts.compactions;
  }

  /** The stored leases; an unreadable snapshot is moved aside (kept for a post-mortem) and reads as
   * empty, with the journal still replayed. */
  async load(): Promise<StoredLeases> {
    const state = new LeaseState();
    const text = await readFile(this.path, 'utf8').catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    });
    if (text !== undefined)
      try {
        state.readSnapshot(text);
      } catch (e) {
        const aside = `${this.path}.unreadable-${Date.now()}`;
        await rename(this.path, aside);
        this.log.error({ err: e, movedTo: aside }, 'DHCP lease snapshot unreadable; moved aside');
      }
    for (const n of await this.segments()) {
      this.journalLines += state.readJournal(await readFile(this.segmentPath(n), 'utf8'));
      this.segment = Math.max(this.segment, n);
    }
    return state.result();
  }

  /** A change to persist: written within `delayMs`. */
  record(change: LeaseChange): void {
    this.pending.push(journalLine(change));
    this.arm();
  }

  private arm(): void {
    if (this.timer !== undefined || this.writing !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.write();
    }, this.delayMs);
    this.timer.unref();
  }

  /** Writes what is pending now (at shutdown) and closes the journal. */
  async flush(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.writing;
    if (this.pending.length > 0) await this.write();
    await this.journal?.close();
    this.journal = undefined;
  }

  private async write(): Promise<void> {
    const lines = this.pending;
    this.pending = [];
    this.writing = this.append(lines).then(
      () => {
        this.counts.writes++;
      },
      (err: unknown) => {
        this.counts.failures++;
        // Kept for the next attempt, in order.
        this.pending = [...lines, ...this.pending];
        this.log.error({ err, dir: this.dir }, 'could not write the DHCP lease journal; will retry');
      },
    );
    await this.writing;
    if (this.journalLines >= Math.max(COMPACT_MIN_LINES, 2 * this.snapshot.size)) {
      this.writing = this.compact().catch((err: unknown) => {
        this.counts.failures++;
        this.log.error({ err, dir: this.dir }, 'could not write the DHCP lease snapshot; will retry');
      });
      await this.writing;
    }
    this.writing = undefined;
    if (this.pending.length > 0) this.arm();
  }

  private async append(lines: readonly string[]): Promise<void> {
    // Each run and each compaction starts a segment of its own: never an append after a line a
    // crash may have cut short.
    if (this.journal === undefined) {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      this.segment++;
      this.journal = await open(this.segmentPath(this.segment), 'a', 0o600);
    }
    await this.journal.write(lines.join(''));
    await this.journal.datasync();
    this.journalLines += lines.length;
  }

  /** A new segment for the changes from now on, a snapshot of the table, then the old segments go. */
  private async compact(): Promise<void> {
    const upTo = this.segment;
    await this.journal?.close();
    this.journal = undefined;
    this.journalLines = 0;
    const leases: string[] = [];
    let n = 0;
    for (const lease of this.snapshot.leases()) {
      if (!lease.offered) leases.push(leaseRecord(lease));
      if (++n % SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const declined = [...this.snapshot.declined()].map(declinedRecord);
    await writeFileAtomic(this.path, snapshotDocument(leases, declined));
    for (const segment of await this.segments()) if (segment <= upTo) await unlink(this.segmentPath(segment));
    this.counts.compactions++;
  }

  private async segments(): Promise<number[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names
      .map((name) => SEGMENT.exec(name)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  private segmentPath(n: number): string {
    return join(this.dir, `dhcp-leases.journal.${n}`);
  }
}

/** The whole table as one snapshot document, at once (tests, tools and benchmarks seed files with it). */
export function serializeLeases(snapshot: Omit<LeaseSnapshot, 'size'>): string {
  const leases = [...snapshot.leases()].filter((l) => !l.offered).map(leaseRecord);
  return snapshotDocument(leases, [...snapshot.declined()].map(declinedRecord));
}
