// Validation of the router's NICs: identity (id, MAC), role, addresses and MTU.
import type { RouterConfig } from '../../gen/vrouter/v1/config_pb.js';
import { type Nic, NicRole } from '../../gen/vrouter/v1/interfaces_pb.js';
import { checkId, checkInterfaceAddress, checkMac, checkRange, checkText } from '../../config/fields.js';
import { type Ipv4Prefix, formatIpv4, formatPrefix, prefixesOverlap } from '../../config/net.js';
import { UniqueKeys, type Violations } from '../../config/violations.js';

export const MTU_MIN = 576;
export const MTU_MAX = 9216;

export interface ValidNic {
  readonly nic: Nic;
  readonly path: string;
  readonly mac: string;
  readonly addresses: readonly Ipv4Prefix[];
}

/** The NICs that passed validation, by id, for the sections that refer to them. */
export type NicLookup = ReadonlyMap<string, ValidNic>;

export function validateNics(config: RouterConfig, v: Violations): NicLookup {
  const nics = new Map<string, ValidNic>();
  const ids = new UniqueKeys<string>(v, 'id');
  const macs = new UniqueKeys<string>(v, 'MAC');
  const addresses = new UniqueKeys<number>(v, 'address');
  let management: string | undefined;
  const subnets: { prefix: Ipv4Prefix; nicId: string; path: string }[] = [];

  config.nics.forEach((nic, i) => {
    const path = `nics[${i}]`;
    const idOk = checkId(v, `${path}.id`, nic.id) && ids.claim(nic.id, `${path}.id`, `"${nic.id}"`);
    const mac = checkMac(v, `${path}.mac`, nic.mac);
    if (mac !== undefined) macs.claim(mac, `${path}.mac`, mac);
    if (nic.role === NicRole.UNSPECIFIED) v.add(`${path}.role`, 'required: public, private or management');
    else if (!(nic.role in NicRole)) v.add(`${path}.role`, `unknown role ${nic.role}`);
    if (nic.role === NicRole.MANAGEMENT) {
      if (management !== undefined)
        v.add(`${path}.role`, `only one management NIC is allowed (also ${management})`);
      management ??= path;
    }
    checkRange(v, `${path}.mtu`, nic.mtu, MTU_MIN, MTU_MAX, "the link's current MTU");
    checkText(v, `${path}.description`, nic.description);

    const valid: Ipv4Prefix[] = [];
    nic.addresses.forEach((text, j) => {
      const apath = `${path}.addresses[${j}]`;
      const p = checkInterfaceAddress(v, apath, text);
      if (p === undefined || !addresses.claim(p.address, apath, formatIpv4(p.address))) return;
      const clash = subnets.find((s) => s.nicId !== nic.id && prefixesOverlap(s.prefix, p));
      if (clash !== undefined)
        v.add(
          apath,
          `subnet ${formatPrefix(p)} overlaps ${formatPrefix(clash.prefix)} on another NIC (${clash.path})`,
        );
      subnets.push({ prefix: p, nicId: nic.id, path: apath });
      valid.push(p);
    });
    if (idOk && mac !== undefined) nics.set(nic.id, { nic, path, mac, addresses: valid });
  });
  return nics;
}
