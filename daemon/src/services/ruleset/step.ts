// The `nftables` apply step: loads the daemon's tables in one transaction per write (see
// nft/commands.ts for how little a small change sends) and watches them for drift.
//
// Drift is found without comparing nft's reformatted JSON to ours rule by rule: after every
// structural change the step reads back the tables' skeleton (a terse `list ruleset`: everything but
// set elements, handles and counter values removed) as the fingerprint of what it loaded. A later
// check compares a fresh skeleton with it, each set's element count with the render, and the
// elements one by one: read over netlink (nft/element-dump.ts; an interval set's as the kernel
// stores its bounds, nft/interval-elements.ts), or when the element channel is down, a hash set's
// from nft's listing (nft/listed-elements.ts). Any difference (tables flushed, a rule or element
// deleted by hand, an element replaced by hand) is repaired by loading the tables whole again.
import type { NftElementChannel } from '../../drivers/nft-netlink.js';
import { type NftTransport } from '../../drivers/nftables.js';
import { planTransaction } from '../../nft/commands.js';
import { inTable, listedElements, unrenderedElements } from '../../nft/listed-elements.js';
import { type NftRuleset, type NftSet, tableKey } from '../../nft/model.js';
import {
  type DumpedElement,
  describe,
  identity,
  listedCount,
  renderedIdentities,
} from '../../nft/element-dump.js';
import { isLeadingGap } from '../../nft/interval-elements.js';
import type { Rendered } from '../../reconcile/rendered.js';
import type { ApplyStep, StepChange } from '../../reconcile/step.js';
import { isJsonObject } from '../../json-object.js';
import { readLastLoad, saveLastLoad, structureDigest } from './last-load.js';

export class NftablesStep implements ApplyStep {
  readonly name = 'nftables';
  private fingerprint = new Map<string, string>();
  private transactions = 0;
  private wholeLoadsAfterRefusal = 0;
  private elementTransactions = 0;
  private tablesKeptAtStart = 0;

  /**
   * With `elements`, a change of set elements alone goes straight over netlink (see
   * nft/element-wire.ts); with `lastLoadFile`, a restarted daemon keeps the tables the kernel still
   * holds when they are exactly what it would load (last-load.ts).
   */
  constructor(
    private readonly nft: NftTransport,
    private readonly elements?: NftElementChannel,
    private readonly lastLoadFile?: string,
  ) {}

  /**
   * A diff trusts the kernel to hold `previous`. When someone changed the tables behind the daemon's
   * back since the last drift check (a table deleted, an element removed), the kernel refuses it; the
   * desired tables loaded whole need no such trust, so an Apply converges instead of failing on drift.
   * Only when that is refused too is the change itself at fault: the diff's error is reported.
   */
  async apply(desired: Rendered, previous: Rendered): Promise<StepChange> {
    if (previous.nft.tables.length === 0 && this.fingerprint.size === 0) {
      const kept = await this.keepLastLoad(desired);
      if (kept !== undefined) return kept;
    }
    try {
      return await this.load(desired.nft, previous.nft, 'diff');
    } catch (refused) {
      let whole: StepChange;
      try {
        whole = await this.load(desired.nft, previous.nft, 'replace');
      } catch {
        throw refused;
      }
      this.wholeLoadsAfterRefusal++;
      return {
        changed: true,
        summary: `${whole.summary} (the change alone was refused: tables loaded whole)`,
      };
    }
  }

  /** The transaction is all or nothing, so the kernel holds either; loading `previous` whole fits both. */
  async rollback(previous: Rendered, attempted: Rendered): Promise<StepChange> {
    return this.load(previous.nft, attempted.nft, 'replace');
  }

  async repair(desired: Rendered): Promise<StepChange> {
    return this.load(desired.nft, desired.nft, 'replace');
  }

  /**
   * The whole comparison, readings included: with nothing to keep between reading and comparing, the
   * engine runs all of it outside the write queue. Set elements are read over netlink when the element
   * channel is up (70k elements: tens of milliseconds, where libnftables' JSON listing of them takes
   * about a second of CPU), otherwise from one full listing per table.
   */
  async readDrift(desired: Rendered): Promise<string[]> {
    const findings: string[] = [];
    const channel = this.elements?.unavailable === undefined ? this.elements : undefined;
    const skeletons = channel === undefined ? undefined : await this.skeletons(desired.nft);
    for (const table of desired.nft.tables) {
      const key = tableKey(table);
      const listing =
        skeletons === undefined ? await this.nft.listTable(table.family, table.name, false) : undefined;
      const shape = skeletons?.get(key) ?? (listing === undefined ? undefined : skeleton(listing));
      if (shape === undefined) {
        findings.push(`table ${key} is missing`);
        continue;
      }
      if (shape !== this.fingerprint.get(key)) findings.push(`table ${key}: chains, rules or sets differ`);
      const listed = listing === undefined ? undefined : listedElements(listing);
      for (const set of table.sets) {
        if (set.dynamic === true) continue;
        const finding =
          channel === undefined
            ? listedSetDrift(set, listed?.get(set.name) ?? [])
            : dumpedSetDrift(set, (await channel.readSet(table.family, table.name, set.name)) ?? []);
        if (finding !== undefined) findings.push(`table ${key}: ${finding}`);
      }
    }
    return findings;
  }

  async drift(desired: Rendered, reading?: unknown): Promise<string[]> {
    return Array.isArray(reading) ? (reading as string[]) : this.readDrift(desired);
  }

  counters(): Record<string, number> {
    return {
      transactions: this.transactions,
      tables_kept_at_start: this.tablesKeptAtStart,
      element_transactions_over_netlink: this.elementTransactions,
      whole_loads_after_refusal: this.wholeLoadsAfterRefusal,
      // 1 when the netlink socket could not be set up: every change then goes through the backend.
      element_channel_unavailable: this.elements?.unavailable === undefined ? 0 : 1,
    };
  }

  private async load(
    desired: NftRuleset,
    previous: NftRuleset,
    mode: 'diff' | 'replace',
  ): Promise<StepChange> {
    const plan = planTransaction(desired, previous, mode);
    if (plan.commands.length === 0) return { changed: false, summary: '' };
    const overNetlink = plan.structural ? undefined : await this.elements?.run(plan.commands, desired);
    if (overNetlink === undefined) await this.nft.run(plan.commands);
    else this.elementTransactions++;
    this.transactions++;
    if (plan.structural || this.fingerprint.size === 0) await this.takeFingerprint(desired);
    const how =
      overNetlink === undefined
        ? ''
        : ` (${overNetlink.elements} set elements over netlink: encoded in ${overNetlink.encodeMs.toFixed(1)} ms, kernel ${overNetlink.kernelMs.toFixed(1)} ms)`;
    return { changed: true, summary: `${plan.commands.length} commands in one transaction${how}` };
  }

  /**
   * The first load of this process (a start-up): when the kernel still holds the tables this daemon
   * last loaded (a restart, an upgrade) and they are exactly what `desired` would load, skeleton and
   * every element, they are kept: no reload, no counter starting again from zero. Else undefined.
   */
  private async keepLastLoad(desired: Rendered): Promise<StepChange | undefined> {
    if (this.lastLoadFile === undefined || desired.nft.tables.length === 0) return undefined;
    const last = await readLastLoad(this.lastLoadFile);
    if (last === undefined || last.structure !== structureDigest(desired.nft)) return undefined;
    this.fingerprint = new Map(last.fingerprint);
    const findings = await this.readDrift(desired).catch((e: unknown) => [String(e)]);
    if (findings.length > 0) {
      this.fingerprint = new Map();
      return undefined;
    }
    this.tablesKeptAtStart++;
    return {
      changed: false,
      summary: 'the kernel still held these tables, element for element: kept as they are (counters too)',
    };
  }

  private async takeFingerprint(desired: NftRuleset): Promise<void> {
    this.fingerprint = await this.skeletons(desired);
    if (this.lastLoadFile !== undefined)
      await saveLastLoad(this.lastLoadFile, {
        structure: structureDigest(desired),
        fingerprint: this.fingerprint,
      });
  }

  /**
   * Each table's skeleton; terse `list ruleset FAMILY` skips set elements cheaply (`list table -t`
   * still reads them all).
   */
  private async skeletons(ruleset: NftRuleset): Promise<Map<string, string>> {
    const result = new Map<string, string>();
    const families = new Map<string, readonly unknown[]>();
    for (const table of ruleset.tables) {
      let listing = families.get(table.family);
      if (listing === undefined) {
        listing = (await this.nft.list(`ruleset ${table.family}`, true)) ?? [];
        families.set(table.family, listing);
      }
      const own = listing.filter((o) => inTable(o, table.name));
      if (own.length > 0) result.set(tableKey(table), skeleton(own));
    }
    return result;
  }
}

/**
 * A set read over netlink against its render: the count (as nft lists it), then every element both
 * ways (an interval set's bounds included, so a prefix widened by hand is found though the count holds).
 */
function dumpedSetDrift(set: NftSet, dumped: readonly DumpedElement[]): string | undefined {
  const count = listedCount(dumped);
  if (count !== set.elements.length) return wrongCount(set, count);
  const rendered = renderedIdentities(set);
  if (rendered === undefined) return undefined;
  const stored = dumped.filter((e) => !isLeadingGap(e.intervalEnd, e.key));
  const foreign = stored.filter((e) => !rendered.has(identity(e)));
  if (foreign[0] !== undefined) return unrendered(set, foreign.length, describe(set, foreign[0]));
  // Every stored element is rendered and none twice (a set holds a key once): equal sizes, equal sets.
  return stored.length === rendered.size
    ? undefined
    : `set ${set.name} holds ${stored.length} stored elements (interval starts and ends), not ${rendered.size}`;
}

/** A set as `nft -j list` showed it against its render; interval sets by count alone. */
function listedSetDrift(set: NftSet, listed: readonly unknown[]): string | undefined {
  if (listed.length !== set.elements.length) return wrongCount(set, listed.length);
  if (set.flags?.includes('interval') === true) return undefined;
  const foreign = unrenderedElements(set, listed);
  return foreign.length === 0 ? undefined : unrendered(set, foreign.length, JSON.stringify(foreign[0]));
}

function wrongCount(set: NftSet, count: number): string {
  return `set ${set.name} has ${count} elements, not ${set.elements.length}`;
}

function unrendered(set: NftSet, count: number, example: string): string {
  return `set ${set.name} holds ${count} element${count === 1 ? '' : 's'} the config does not have, e.g. ${example}`;
}

/** The listing without metainfo, handles, set elements and counter values. */
function skeleton(listing: readonly unknown[]): string {
  return JSON.stringify(
    listing.filter((o) => !isJsonObject(o) || !('metainfo' in o)),
    (key, value: unknown) => {
      if (key === 'handle' || key === 'elem') return undefined;
      if (key === 'counter' && isJsonObject(value)) return {};
      return value;
    },
  );
}
