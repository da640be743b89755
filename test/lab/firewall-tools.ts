// Lab helper for firewall scenarios: the check that ExplainFirewall agrees with what the kernel did
// to a connection (traffic.ts): for each probe, the verdict explained for every NIC direction the
// packet crosses must predict the connection's outcome (accept: connected, drop: timeout, reject:
// refused at once), and the counter of every rule explained as deciding must move.
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { Test } from 'tap';
import type { RouterClient } from '../../daemon/src/cli/client.js';
import {
  type ExplainFirewallResponse,
  FirewallAction,
  type FirewallPacketSchema,
  Direction,
} from '../../daemon/src/gen/vrouter/v1/firewall_pb.js';
import type { Outcome } from './traffic.js';

export interface Crossing {
  readonly nicId: string;
  readonly direction: 'in' | 'out';
}

export type PacketInit = MessageInitShape<typeof FirewallPacketSchema>;

export interface Verified {
  readonly outcome: Outcome;
  readonly explanations: readonly ExplainFirewallResponse[];
}

/**
 * Explains the packet for each crossing (in the order the kernel filters: in, then out), runs the
 * probe, and checks the outcome and the counters against the explanations.
 */
export async function verifyExplained(
  t: Test,
  client: RouterClient,
  label: string,
  crossings: readonly Crossing[],
  packet: PacketInit,
  probe: () => Promise<Outcome>,
): Promise<Verified> {
  const explanations: ExplainFirewallResponse[] = [];
  for (const c of crossings)
    explanations.push(
      await client.explainFirewall({
        nicId: c.nicId,
        direction: c.direction === 'in' ? Direction.IN : Direction.OUT,
        packet,
      }),
    );
  const decisive = explanations.findIndex((e) => e.verdict !== FirewallAction.ACCEPT);
  const seen = decisive < 0 ? explanations : explanations.slice(0, decisive + 1);
  const before = await counters(client);
  const outcome = await probe();
  const after = await counters(client);
  const verdict =
    decisive < 0 ? FirewallAction.ACCEPT : (explanations[decisive]?.verdict ?? FirewallAction.ACCEPT);
  const expected: Outcome =
    verdict === FirewallAction.ACCEPT ? 'connected' : verdict === FirewallAction.DROP ? 'timeout' : 'refused';
  t.equal(outcome, expected, `${label}: explain says ${FirewallAction[verdict]}, the kernel ${outcome}`);
  for (const e of seen) {
    const id = e.rule?.id;
    if (id === undefined) continue;
    t.ok(
      (after.get(id) ?? 0n) > (before.get(id) ?? 0n),
      `${label}: the counter of ${id} (explained as deciding) moved: ${before.get(id) ?? 0n} -> ${after.get(id) ?? 0n}`,
    );
  }
  return { outcome, explanations };
}

/** Packets decided by each rule, from GetStatus. */
export async function counters(client: RouterClient): Promise<Map<string, bigint>> {
  const status = await client.getStatus();
  const all = new Map<string, bigint>();
  for (const set of status.firewall?.ruleSets ?? [])
    for (const rule of set.rules) all.set(rule.id, rule.packets);
  return all;
}
