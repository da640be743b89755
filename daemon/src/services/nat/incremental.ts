// Validation of the NAT sections of a config that differs from the last valid one by a few objects
// (a Patch), in O(changed objects) instead of O(all). The index of the last valid config is kept;
// objects that left or joined the lists (found by identity, config/identity-diff.ts) are taken out of
// it and checked into it with the same rules as the full check (validate.ts).
//
// It only ever answers "valid": at the first problem, or a change it does not handle (NICs or
// networks changed, a VIP used by others moved), it gives up and the full check runs, which also
// writes the violations with their paths. So its verdict can only differ from the full check's by
// being slower, never by being wrong (a property test compares both on random Patches).
import type { RouterConfig } from '../../gen/vrouter/v1/config_pb.js';
import { checkId } from '../../config/fields.js';
import { identityDiff } from '../../config/identity-diff.js';
import { Violations } from '../../config/violations.js';
import type { NicLookup } from '../interfaces/validate.js';
import type { NetworkLookup } from '../networks/validate.js';
import {
  type NatIndex,
  type NatScope,
  addEip,
  addForward,
  checkEip,
  checkPortForward,
  checkVip,
  hostAddresses,
  ownAddressesByNic,
  removeEip,
  removeForward,
  validateNat,
  validateSnats,
} from './validate.js';

interface Memo {
  readonly nics: RouterConfig['nics'];
  readonly networks: RouterConfig['networks'];
  vips: RouterConfig['vips'];
  eips: RouterConfig['eips'];
  forwards: RouterConfig['portForwards'];
  readonly scope: NatScope;
  readonly index: NatIndex;
}

let memo: Memo | undefined;

/** Drops the last valid config: the next check is a full one (tests compare both ways with it). */
export function forgetValidated(): void {
  memo = undefined;
}

/** validateNat, incrementally when the last valid config is close enough. */
export function validateNatCached(
  config: RouterConfig,
  nics: NicLookup,
  networks: NetworkLookup,
  v: Violations,
): void {
  const last = memo;
  memo = undefined;
  if (last !== undefined && v.isEmpty && last.nics === config.nics && last.networks === config.networks)
    if (advance(last, config)) {
      memo = last;
      return;
    }
  const before = v.items.length;
  const scope: NatScope = {
    nics,
    networks,
    own: ownAddressesByNic(config),
    hostIps: hostAddresses(networks),
  };
  const index = validateNat(config, scope, v);
  if (v.items.length === before)
    memo = {
      nics: config.nics,
      networks: config.networks,
      vips: config.vips,
      eips: config.eips,
      forwards: config.portForwards,
      scope,
      index,
    };
}

/** Moves the memo to `config`; false when the change is not handled or not valid (memo is then spoilt). */
function advance(m: Memo, config: RouterConfig): boolean {
  const { index, scope } = m;
  const vips = identityDiff(m.vips, config.vips);
  const eips = identityDiff(m.eips, config.eips);
  const forwards = identityDiff(m.forwards, config.portForwards);
  const scratch = new Violations();
  const path = '-';
  const pathOf = () => path;

  for (const eip of eips.removed) removeEip(index, eip);
  for (const pf of forwards.removed) removeForward(index, pf);
  const replacedVips = new Set(vips.added.map((vip) => vip.id));
  for (const vip of vips.removed) {
    if (index.vips.get(vip.id) === vip) index.vips.delete(vip.id);
    if (index.vipIds.get(vip.ip) === vip.id) index.vipIds.delete(vip.ip);
    const used = index.eipByVip.has(vip.id) || index.forwardsByVip.has(vip.id);
    const moved = !replacedVips.has(vip.id) || config.vips.find((v) => v.id === vip.id)?.ip !== vip.ip;
    if (used && (moved || config.vips.find((v) => v.id === vip.id)?.nicId !== vip.nicId)) return false;
  }
  for (const vip of vips.added) {
    if (!checkId(scratch, path, vip.id) || index.vips.has(vip.id) || index.vipIds.has(vip.ip)) return false;
    if (!checkVip(vip, path, scope, scratch)) return false;
    index.vips.set(vip.id, vip);
    index.vipIds.set(vip.ip, vip.id);
  }
  for (const eip of eips.added) {
    if (!checkId(scratch, path, eip.id) || index.eips.has(eip.id)) return false;
    if (!checkEip(eip, path, scope, index, scratch, pathOf) || index.forwardsByVip.has(eip.vipId))
      return false;
    addEip(index, eip);
  }
  for (const pf of forwards.added) {
    if (!checkId(scratch, path, pf.id) || index.forwards.has(pf.id)) return false;
    if (!checkPortForward(pf, path, scope, index, scratch, pathOf)) return false;
    addForward(index, pf);
  }
  // SNAT entries are few (one per network): check them all against the new index.
  validateSnats(config, scope, index, scratch, pathOf);
  if (!scratch.isEmpty) return false;
  m.vips = config.vips;
  m.eips = config.eips;
  m.forwards = config.portForwards;
  return true;
}
