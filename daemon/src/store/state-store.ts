// The last good desired state on disk: a snapshot (`<state dir>/config.json`: generation, time and
// the config in its proto3 JSON form, so an operator can read it) plus the journal of the writes
// applied since (journal.ts). Every write appends one record while the kernel applies it, and takes it
// back when the kernel refuses; the engine folds the journal into a new snapshot (compact) off the
// caller's path once it holds an Apply's whole config or has grown large. Loading replays the journal
// onto the snapshot.
import { mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { type JsonValue, create, fromJson, toJson } from '@bufbuild/protobuf';
import { type RouterConfig, RouterConfigSchema } from '../gen/vrouter/v1/config_pb.js';
import { applyPatch } from '../config/patch.js';
import { writeFileAtomic } from './atomic-file.js';
import { Journal, type JournalRecord } from './journal.js';

/** A journal past this size is folded into a snapshot. */
const COMPACT_BYTES = 1 << 20;

export interface PersistedState {
  readonly generation: bigint;
  readonly appliedAt: Date;
  readonly config: RouterConfig;
}

interface StateFile {
  generation: string;
  appliedAt: string;
  config: JsonValue;
}

export class StateStore {
  private readonly path: string;
  private readonly journal: Journal;
  /** Set when a record could not be taken back: the snapshot to write before any record follows it. */
  private rewriteFirst: PersistedState | undefined;

  constructor(private readonly dir: string) {
    this.path = join(dir, 'config.json');
    this.journal = new Journal(join(dir, 'patches.journal'));
  }

  /** The snapshot with the journal's Patches replayed onto it; undefined when nothing was ever saved. */
  async load(): Promise<PersistedState | undefined> {
    let state = await this.loadSnapshot();
    for (const record of await this.journal.read()) {
      const base = state ?? { generation: 0n, appliedAt: new Date(0), config: create(RouterConfigSchema) };
      if (record.generation <= base.generation) continue;
      if (record.generation !== base.generation + 1n)
        throw new Error(`journal jumps from generation ${base.generation} to ${record.generation}`);
      if ('config' in record) {
        state = { generation: record.generation, appliedAt: record.appliedAt, config: record.config };
        continue;
      }
      const patched = applyPatch(base.config, record.operations);
      if (Array.isArray(patched))
        throw new Error(
          `journal record of generation ${record.generation} does not apply: ${patched[0]?.description ?? ''}`,
        );
      state = { generation: record.generation, appliedAt: record.appliedAt, config: patched.config };
    }
    return state;
  }

  /** Records a write (durable when it resolves). */
  async append(record: JournalRecord): Promise<void> {
    if (this.rewriteFirst !== undefined) await this.save(this.rewriteFirst);
    await this.journal.append(record);
  }

  /**
   * Takes back the record appended last, whose write the kernel refused; `committed` is the state
   * that stands. When the journal cannot be cut, the next append first rewrites the snapshot as
   * `committed` (which empties the journal), so no record is ever replayed on top of the refused one.
   */
  async retract(committed: PersistedState): Promise<void> {
    try {
      await this.journal.retractLast();
    } catch (e) {
      this.rewriteFirst = committed;
      throw e;
    }
  }

  /** Whether the journal should be folded into a snapshot: it holds a whole config, or has grown. */
  get wantsCompaction(): boolean {
    return this.journal.holdsConfig || this.journal.bytes > COMPACT_BYTES;
  }

  async close(): Promise<void> {
    await this.journal.close();
  }

  private async loadSnapshot(): Promise<PersistedState | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    const file = JSON.parse(text) as StateFile;
    return {
      generation: BigInt(file.generation),
      appliedAt: new Date(file.appliedAt),
      config: fromJson(RouterConfigSchema, file.config, { ignoreUnknownFields: true }),
    };
  }

  /** Writes a snapshot of the whole state, then empties the journal it supersedes. */
  async save(state: PersistedState): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file: StateFile = {
      generation: state.generation.toString(),
      appliedAt: state.appliedAt.toISOString(),
      config: toJson(RouterConfigSchema, state.config),
    };
    await writeFileAtomic(this.path, `${JSON.stringify(file, null, 1)}\n`);
    await this.journal.reset();
    this.rewriteFirst = undefined;
  }

  /** Moves an unreadable state file aside so the daemon can start empty and the file stays for a post-mortem. */
  async quarantine(): Promise<string> {
    const stamp = Date.now();
    const aside = `${this.path}.unreadable-${stamp}`;
    await rename(this.path, aside).catch(() => undefined);
    await rename(
      join(this.dir, 'patches.journal'),
      join(this.dir, `patches.journal.unreadable-${stamp}`),
    ).catch(() => undefined);
    return aside;
  }
}
