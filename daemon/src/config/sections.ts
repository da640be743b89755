// Sections of RouterConfig whose service this build does not implement yet. A config that sets one is
// refused with UNIMPLEMENTED naming it, never silently ignored. Implementing a service removes its
// entry here.
import { type DescMessage, type MessageShape, create, equals } from '@bufbuild/protobuf';
import type { RouterConfig } from '../gen/vrouter/v1/config_pb.js';
import { HaSchema } from '../gen/vrouter/v1/ha_pb.js';
import { MetadataSchema } from '../gen/vrouter/v1/metadata_pb.js';
import { NetflowSchema } from '../gen/vrouter/v1/netflow_pb.js';
import { MulticastSchema, OspfSchema } from '../gen/vrouter/v1/routing_pb.js';
import type { FieldViolation } from './violations.js';

interface Section {
  /** The service that will serve the section, named in the error. */
  readonly service: string;
  /** Paths of the fields that set the section; empty when it is not used. */
  paths(config: RouterConfig): string[];
}

function isSet<D extends DescMessage>(schema: D, value: MessageShape<D> | undefined): boolean {
  return value !== undefined && !equals(schema, value, create(schema));
}

function list(field: string, service: string, get: (c: RouterConfig) => readonly unknown[]): Section {
  return { service, paths: (c) => (get(c).length > 0 ? [field] : []) };
}

function message<D extends DescMessage>(
  field: string,
  service: string,
  schema: D,
  get: (c: RouterConfig) => MessageShape<D> | undefined,
): Section {
  return { service, paths: (c) => (isSet(schema, get(c)) ? [field] : []) };
}

const UNIMPLEMENTED: readonly Section[] = [
  list('load_balancers', 'load balancing', (c) => c.loadBalancers),
  list('ipsec_connections', 'IPsec', (c) => c.ipsecConnections),
  message('ospf', 'OSPF', OspfSchema, (c) => c.ospf),
  message('multicast', 'multicast routing', MulticastSchema, (c) => c.multicast),
  list('qos_rules', 'QoS', (c) => c.qosRules),
  message('netflow', 'NetFlow', NetflowSchema, (c) => c.netflow),
  message('metadata', 'the metadata service', MetadataSchema, (c) => c.metadata),
  message('ha', 'high availability', HaSchema, (c) => c.ha),
];

/** One entry per used section this build cannot serve. */
export function unimplementedSections(config: RouterConfig): FieldViolation[] {
  return UNIMPLEMENTED.flatMap((s) =>
    s
      .paths(config)
      .map((field) => ({ field, description: `${s.service} is not implemented in this version` })),
  );
}
