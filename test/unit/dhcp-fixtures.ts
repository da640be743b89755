// Client messages for the DHCP unit tests, and the lab config's network A rendered as the server sees it.
import { create } from '@bufbuild/protobuf';
import type { RouterConfig } from '../../daemon/src/gen/vrouter/v1/config_pb.js';
import { DhcpSettingsSchema } from '../../daemon/src/gen/vrouter/v1/networks_pb.js';
import { parseIpv4 } from '../../daemon/src/config/net.js';
import { BOOTREQUEST, type DhcpMessage, OPTION } from '../../daemon/src/services/dhcp/codec.js';
import { macBytes } from '../../daemon/src/services/dhcp/mac.js';
import { type DhcpNetworkPlan, renderDhcp } from '../../daemon/src/services/dhcp/render.js';
import { planInterfaces } from '../../daemon/src/services/interfaces/plan.js';
import { networkADhcp } from '../lab/dhcp-settings.js';
import { labConfig } from '../lab/lab-config.js';

export const LINKS = new Map([
  ['52:54:00:00:00:05', { index: 5, name: 'ens5' }],
  ['52:54:00:00:00:03', { index: 3, name: 'ens3' }],
  ['52:54:00:00:00:04', { index: 4, name: 'ens4' }],
  ['52:54:00:00:00:06', { index: 6, name: 'ens6' }],
]);

export function ip(text: string): number {
  const n = parseIpv4(text);
  if (n === undefined) throw new Error(`bad address ${text}`);
  return n;
}

/** The lab config with DHCP on both networks as the unit tests use it; `edit` may change it first. */
export function dhcpConfig(edit: (c: RouterConfig) => void = () => undefined): RouterConfig {
  const config = labConfig();
  const [a, b] = config.networks;
  if (a === undefined || b === undefined) throw new Error('the lab config has two networks');
  a.dhcp = networkADhcp({ start: '10.1.0.10', end: '10.1.0.14' });
  b.dhcp = create(DhcpSettingsSchema, { enabled: true });
  // DHCP's own view: no DNS service on the router unless a test turns it on.
  a.dns = undefined;
  b.dns = undefined;
  config.dns = undefined;
  edit(config);
  return config;
}

export function networkPlan(config: RouterConfig = dhcpConfig(), index = 0): DhcpNetworkPlan {
  const plan = renderDhcp(config, planInterfaces(config, LINKS)).networks[index];
  if (plan === undefined) throw new Error(`no DHCP plan for network ${index}`);
  return plan;
}

export interface RequestFields {
  readonly type: number;
  readonly mac?: string;
  readonly xid?: number;
  readonly flags?: number;
  readonly ciaddr?: number;
  readonly giaddr?: number;
  readonly op?: number;
  readonly options?: readonly [number, Uint8Array | readonly number[]][];
}

/** A client message; chaddr is `mac`, options come after the message type. */
export function clientMessage(f: RequestFields): DhcpMessage {
  const chaddr = new Uint8Array(16);
  chaddr.set(macBytes(f.mac ?? '52:54:00:aa:00:11'));
  const options = new Map<number, Uint8Array>([[OPTION.MESSAGE_TYPE, Uint8Array.of(f.type)]]);
  for (const [code, value] of f.options ?? []) options.set(code, Uint8Array.from(value));
  return {
    op: f.op ?? BOOTREQUEST,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: f.xid ?? 0x1234abcd,
    secs: 0,
    flags: f.flags ?? 0,
    ciaddr: f.ciaddr ?? 0,
    yiaddr: 0,
    siaddr: 0,
    giaddr: f.giaddr ?? 0,
    chaddr,
    sname: new Uint8Array(64),
    file: new Uint8Array(128),
    options,
  };
}

export function addressBytes(text: string): number[] {
  return text.split('.').map(Number);
}
