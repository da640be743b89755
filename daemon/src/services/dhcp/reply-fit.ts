// Whether each network's DHCP options fit the reply every client accepts: 548 bytes (RFC 2131), what
// a client gets that sends no maximum message size (dhclient sends none). The reply checked is the
// server's own, built and encoded by the code that answers clients, so the check cannot drift from
// it: an ACK with every option and the network's longest host name. What a client adds at run time
// (its identifier, echoed) is the server's to handle.
import type { RouterConfig } from '../../gen/vrouter/v1/config_pb.js';
import type { Violations } from '../../config/violations.js';
import type { NetworkLookup } from '../networks/validate.js';
import {
  BOOTREPLY,
  type DhcpMessage,
  MESSAGE_TYPE,
  MIN_MAX_MESSAGE,
  encodeMessage,
  optionRoom,
  optionsSize,
} from './codec.js';
import { encodeText } from './option-values.js';
import { ESSENTIAL_OPTIONS, replyOptions } from './protocol.js';
import { networkOptions } from './render.js';

export function validateDhcpReplySize(config: RouterConfig, networks: NetworkLookup, v: Violations): void {
  config.networks.forEach((network, i) => {
    const path = `networks[${i}]`;
    const valid = networks.get(network.id);
    const nic = config.nics.find((n) => n.id === network.nicId);
    // Options are built only from a network whose settings are valid; errors are reported there.
    if (network.dhcp === undefined || valid?.path !== path || nic === undefined) return;
    if (v.items.some((item) => item.field.startsWith(`${path}.`))) return;

    const planned = networkOptions(config, network, valid.gateway, valid.subnet, nic.mtu);
    const longest = network.hosts.reduce((a, h) => (h.hostname.length > a.length ? h.hostname : a), '');
    const options = replyOptions(planned, MESSAGE_TYPE.ACK, true, {
      asked: undefined,
      clientId: undefined,
      hostname: longest === '' ? undefined : encodeText(longest),
    });
    const { omitted } = encodeMessage(emptyReply(options), MIN_MAX_MESSAGE, ESSENTIAL_OPTIONS);
    if (omitted.length === 0) return;
    v.add(
      `${path}.dhcp`,
      `the DHCP options need ${optionsSize(options)} bytes, and a ${MIN_MAX_MESSAGE}-byte reply ` +
        `(what a client that sends no maximum message size accepts) holds at most ${optionRoom(MIN_MAX_MESSAGE)}: ` +
        `option${omitted.length > 1 ? 's' : ''} ${omitted.join(', ')} would be left out; ` +
        'hand out fewer classless routes, search domains or servers',
    );
  });
}

function emptyReply(options: Map<number, Uint8Array>): DhcpMessage {
  return {
    op: BOOTREPLY,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: 0,
    secs: 0,
    flags: 0,
    ciaddr: 0,
    yiaddr: 0,
    siaddr: 0,
    giaddr: 0,
    chaddr: new Uint8Array(16),
    sname: new Uint8Array(64),
    file: new Uint8Array(128),
    options,
  };
}
