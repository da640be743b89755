// show firewall: the rule sets, their rules in evaluation order and per-rule counters.
import { create } from '@bufbuild/protobuf';
import {
  FirewallAction,
  type FirewallStatus,
  FirewallStatusSchema,
} from '../../gen/vrouter/v1/firewall_pb.js';
import { type Command, printMessage } from '../command.js';
import { table } from '../table.js';

export const showFirewall: Command = async ({ client, json }) => {
  const response = await client.getStatus();
  printMessage(
    FirewallStatusSchema,
    response.firewall ?? create(FirewallStatusSchema),
    json,
    describeFirewall,
  );
  return 0;
};

export function describeFirewall(f: FirewallStatus): string {
  if (f.ruleSets.length === 0) return 'no rule sets (no NICs configured)';
  return f.ruleSets
    .map((set) => {
      const attached =
        set.attachedTo.length === 0 ? 'not attached' : `attached to ${set.attachedTo.join(', ')}`;
      const rows = set.rules.map((r) => [
        String(r.priority),
        r.id,
        r.disabled ? 'disabled' : FirewallAction[r.action].toLowerCase(),
        r.match,
        String(r.packets),
        String(r.bytes),
        `${r.system ? '(system) ' : ''}${r.description}`,
      ]);
      return `rule set ${set.id}: ${set.description} (${attached})\n${table(
        ['PRIO', 'RULE', 'ACTION', 'MATCH', 'PACKETS', 'BYTES', 'DESCRIPTION'],
        rows,
      )}`;
    })
    .join('\n\n');
}
