// Applies Patch operations to a config, copy-on-write: untouched sections are shared with the
// original, so a one-object patch on a 10k-object config copies one array, not the config.
// Every put is remembered so that a violation in the resulting config can be reported at the
// operation that caused it (`operations[2].put_host.host.ip`) rather than at a config path the
// caller never wrote.
import type { RouterConfig } from '../gen/vrouter/v1/config_pb.js';
import {
  type FirewallRule,
  type FirewallRuleSet,
  FirewallSchema,
  Direction,
} from '../gen/vrouter/v1/firewall_pb.js';
import { MetadataSchema } from '../gen/vrouter/v1/metadata_pb.js';
import type { Host, Network } from '../gen/vrouter/v1/networks_pb.js';
import { ObjectKind, type PatchOperation } from '../gen/vrouter/v1/service_pb.js';
import { create } from '@bufbuild/protobuf';
import {
  refuseRuleDelete,
  refuseRuleSetDelete,
  withInboundSet,
  withoutNicFirewall,
} from '../services/firewall/patch-rules.js';
import { type FieldViolation, Violations } from './violations.js';

export interface PatchResult {
  readonly config: RouterConfig;
  /** Maps violations of the resulting config back onto the operations. */
  readonly relocate: (violations: readonly FieldViolation[]) => FieldViolation[];
}

type TopLevel =
  | 'nics'
  | 'networks'
  | 'vips'
  | 'snats'
  | 'eips'
  | 'portForwards'
  | 'loadBalancers'
  | 'routes'
  | 'ipsecConnections'
  | 'qosRules';

type OperationCase = NonNullable<PatchOperation['operation']['case']>;

/** The top-level lists of objects with ids: what puts them, what kind deletes them. */
const COLLECTIONS: readonly {
  readonly key: TopLevel;
  readonly kind: ObjectKind;
  readonly put: OperationCase;
}[] = [
  { key: 'nics', kind: ObjectKind.NIC, put: 'putNic' },
  { key: 'networks', kind: ObjectKind.NETWORK, put: 'putNetwork' },
  { key: 'vips', kind: ObjectKind.VIP, put: 'putVip' },
  { key: 'snats', kind: ObjectKind.SNAT, put: 'putSnat' },
  { key: 'eips', kind: ObjectKind.EIP, put: 'putEip' },
  { key: 'portForwards', kind: ObjectKind.PORT_FORWARD, put: 'putPortForward' },
  { key: 'loadBalancers', kind: ObjectKind.LOAD_BALANCER, put: 'putLoadBalancer' },
  { key: 'routes', kind: ObjectKind.ROUTE, put: 'putRoute' },
  { key: 'ipsecConnections', kind: ObjectKind.IPSEC_CONNECTION, put: 'putIpsecConnection' },
  { key: 'qosRules', kind: ObjectKind.QOS_RULE, put: 'putQosRule' },
];

/** `portForwards` → `port_forwards`: proto field names for paths. */
function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

interface Placed {
  /** The object as placed, found again by identity after all operations ran. */
  readonly object: object;
  /** Path of the object inside the operation, e.g. `operations[2].put_host.host`. */
  readonly opPath: string;
}

export function applyPatch(
  original: RouterConfig,
  operations: readonly PatchOperation[],
): PatchResult | FieldViolation[] {
  const v = new Violations();
  let config: RouterConfig = { ...original };
  const placed: Placed[] = [];

  operations.forEach((op, i) => {
    const path = `operations[${i}]`;
    const o = op.operation;
    const collection = COLLECTIONS.find((c) => c.put === o.case);
    if (collection !== undefined) {
      const item = o.value as { id: string };
      config = { ...config, [collection.key]: upsert(config[collection.key] as { id: string }[], item) };
      placed.push({ object: item, opPath: `${path}.${snake(collection.put)}` });
      return;
    }
    switch (o.case) {
      case 'putHost': {
        const { networkId, host } = o.value;
        const n = config.networks.findIndex((x) => x.id === networkId);
        if (host === undefined) return v.add(`${path}.put_host.host`, 'required');
        if (n < 0) return v.add(`${path}.put_host.network_id`, `no network "${networkId}"`);
        // A host moves between networks by id: drop it from any other network first.
        const networks = config.networks.map((net, j) =>
          j === n
            ? { ...net, hosts: upsert(net.hosts, host) }
            : net.hosts.some((h) => h.id === host.id)
              ? { ...net, hosts: net.hosts.filter((h) => h.id !== host.id) }
              : net,
        );
        config = { ...config, networks };
        placed.push({ object: host, opPath: `${path}.put_host.host` });
        return;
      }
      case 'putFirewallRuleSet': {
        const firewall = config.firewall ?? create(FirewallSchema);
        config = { ...config, firewall: { ...firewall, ruleSets: upsert(firewall.ruleSets, o.value) } };
        placed.push({ object: o.value, opPath: `${path}.put_firewall_rule_set` });
        return;
      }
      case 'putFirewallRule': {
        const { ruleSetId, rule } = o.value;
        const sets = withInboundSet(config, ruleSetId);
        const s = sets.findIndex((x) => x.id === ruleSetId);
        if (rule === undefined) return v.add(`${path}.put_firewall_rule.rule`, 'required');
        if (s < 0) return v.add(`${path}.put_firewall_rule.rule_set_id`, `no rule set "${ruleSetId}"`);
        const ruleSets = sets.map((set, j) => withRule(set, rule, j === s));
        config = { ...config, firewall: { ...(config.firewall ?? create(FirewallSchema)), ruleSets } };
        placed.push({ object: rule, opPath: `${path}.put_firewall_rule.rule` });
        return;
      }
      case 'putFirewallAttachment': {
        const a = o.value;
        const firewall = config.firewall ?? create(FirewallSchema);
        const others = firewall.attachments.filter((x) => x.nicId !== a.nicId || x.direction !== a.direction);
        config = { ...config, firewall: { ...firewall, attachments: [...others, a] } };
        placed.push({ object: a, opPath: `${path}.put_firewall_attachment` });
        return;
      }
      case 'putMetadataInstance': {
        const metadata = config.metadata ?? create(MetadataSchema);
        config = { ...config, metadata: { ...metadata, instances: upsert(metadata.instances, o.value) } };
        placed.push({ object: o.value, opPath: `${path}.put_metadata_instance` });
        return;
      }
      case 'delete':
        config = deleteObject(config, o.value.kind, o.value.id, `${path}.delete`, v);
        return;
      case undefined:
        return v.add(`${path}.operation`, 'required: one of put_* or delete');
    }
  });

  if (!v.isEmpty) return v.items;
  const final = config;
  return { config: final, relocate: (violations) => relocate(final, placed, violations) };
}

// Copies of lists of 10k objects are made once, at their final length: spreading or filtering grows
// the new array step by step, and the garbage of a Patch then costs its share of GC pauses.
function upsert<T extends { id: string }>(list: readonly T[], item: T): T[] {
  const i = list.findIndex((x) => x.id === item.id);
  if (i < 0) return list.concat([item]);
  const copy = list.slice();
  copy[i] = item;
  return copy;
}

function without<T extends { id: string }>(list: readonly T[], id: string): T[] {
  const i = list.findIndex((x) => x.id === id);
  if (i < 0) return list as T[];
  const copy = list.slice();
  copy.splice(i, 1);
  return copy;
}

/** A rule belongs to one set: putting it into one removes it from any other. */
function withRule(set: FirewallRuleSet, rule: FirewallRule, target: boolean): FirewallRuleSet {
  if (target) return { ...set, rules: upsert(set.rules, rule) };
  return set.rules.some((r) => r.id === rule.id)
    ? { ...set, rules: set.rules.filter((r) => r.id !== rule.id) }
    : set;
}

function deleteObject(
  config: RouterConfig,
  kind: ObjectKind,
  id: string,
  path: string,
  v: Violations,
): RouterConfig {
  const list = COLLECTIONS.find((c) => c.kind === kind)?.key;
  if (list !== undefined) {
    const items = config[list] as { id: string }[];
    const kept = without(items, id);
    if (kept === items) return config;
    const changed = { ...config, [list]: kept };
    return kind === ObjectKind.NIC ? withoutNicFirewall(changed, id) : changed;
  }
  const firewall = config.firewall;
  switch (kind) {
    case ObjectKind.HOST:
      return {
        ...config,
        networks: config.networks.map((n) =>
          n.hosts.some((h) => h.id === id) ? { ...n, hosts: n.hosts.filter((h) => h.id !== id) } : n,
        ),
      };
    case ObjectKind.FIREWALL_RULE_SET: {
      const refusal = refuseRuleSetDelete(config, id);
      if (refusal !== undefined) v.add(`${path}.id`, refusal);
      return firewall === undefined || refusal !== undefined
        ? config
        : { ...config, firewall: { ...firewall, ruleSets: firewall.ruleSets.filter((s) => s.id !== id) } };
    }
    case ObjectKind.FIREWALL_RULE: {
      const refusal = refuseRuleDelete(id);
      if (refusal !== undefined) v.add(`${path}.id`, refusal);
      return firewall === undefined || refusal !== undefined
        ? config
        : {
            ...config,
            firewall: {
              ...firewall,
              ruleSets: firewall.ruleSets.map((s) =>
                s.rules.some((r) => r.id === id) ? { ...s, rules: s.rules.filter((r) => r.id !== id) } : s,
              ),
            },
          };
    }
    case ObjectKind.FIREWALL_ATTACHMENT: {
      const match = /^(.+)\/(in|out)$/.exec(id);
      if (match === null) {
        v.add(`${path}.id`, `"${id}" is not an attachment id (<nic id>/in or <nic id>/out)`);
        return config;
      }
      const direction = match[2] === 'in' ? Direction.IN : Direction.OUT;
      if (direction === Direction.IN) {
        v.add(`${path}.id`, `a NIC's inbound set is always attached; delete rules of ${match[1]}.in instead`);
        return config;
      }
      return firewall === undefined
        ? config
        : {
            ...config,
            firewall: {
              ...firewall,
              attachments: firewall.attachments.filter(
                (a) => a.nicId !== match[1] || a.direction !== direction,
              ),
            },
          };
    }
    case ObjectKind.METADATA_INSTANCE: {
      const metadata = config.metadata;
      return metadata === undefined
        ? config
        : { ...config, metadata: { ...metadata, instances: metadata.instances.filter((m) => m.id !== id) } };
    }
    default:
      v.add(`${path}.kind`, kind === ObjectKind.UNSPECIFIED ? 'required' : `unknown kind ${kind}`);
      return config;
  }
}

/** Where each placed object ended up in the final config, as a config path. */
function finalPaths(config: RouterConfig, placed: readonly Placed[]): Map<string, string> {
  const where = new Map<object, string>();
  for (const { key } of COLLECTIONS)
    (config[key] as object[]).forEach((item, i) => where.set(item, `${snake(key)}[${i}]`));
  config.networks.forEach((n: Network, i) =>
    n.hosts.forEach((h: Host, j) => where.set(h, `networks[${i}].hosts[${j}]`)),
  );
  config.firewall?.ruleSets.forEach((s, i) => {
    where.set(s, `firewall.rule_sets[${i}]`);
    s.rules.forEach((r, j) => where.set(r, `firewall.rule_sets[${i}].rules[${j}]`));
  });
  config.firewall?.attachments.forEach((a, i) => where.set(a, `firewall.attachments[${i}]`));
  config.metadata?.instances.forEach((m, i) => where.set(m, `metadata.instances[${i}]`));
  const result = new Map<string, string>();
  for (const p of placed) {
    const at = where.get(p.object);
    if (at !== undefined) result.set(at, p.opPath);
  }
  return result;
}

/**
 * Puts each violation at the operation that placed its object; a conflict between two objects at the
 * one the Patch put, when it put only the other side. The same complaint twice (a put EIP's VIP
 * shared with five forwards) is reported once.
 */
function relocate(
  config: RouterConfig,
  placed: readonly Placed[],
  violations: readonly FieldViolation[],
): FieldViolation[] {
  const paths = finalPaths(config, placed);
  const onOperation = (field: string): string | undefined => {
    let best: [string, string] | undefined;
    for (const [configPath, opPath] of paths)
      if (
        (field === configPath || field.startsWith(`${configPath}.`)) &&
        (best === undefined || configPath.length > best[0].length)
      )
        best = [configPath, opPath];
    return best === undefined ? undefined : best[1] + field.slice(best[0].length);
  };
  const told = new Map<string, FieldViolation>();
  for (const { field, description, otherSide } of violations) {
    const own = onOperation(field);
    const other = own === undefined && otherSide !== undefined ? onOperation(otherSide.field) : undefined;
    const violation =
      own !== undefined
        ? { field: own, description }
        : other !== undefined && otherSide !== undefined
          ? { field: other, description: otherSide.description }
          : { field, description };
    told.set(`${violation.field}\n${violation.description}`, violation);
  }
  return [...told.values()];
}
