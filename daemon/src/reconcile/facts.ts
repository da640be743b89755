// Facts about the kernel that rendering needs: which link carries which MAC.
import type { Netlink } from '../drivers/netlink.js';
import type { LinkFact } from '../services/interfaces/plan.js';
import type { Facts } from './rendered.js';

const NO_MAC = '00:00:00:00:00:00';

export async function gatherFacts(netlink: Netlink): Promise<Facts> {
  const links = new Map<string, LinkFact>();
  // Sorted by index: when a bridge or other virtual link copies a NIC's MAC, the NIC (created
  // first, lower index) is the one meant.
  for (const link of (await netlink.links()).sort((a, b) => a.index - b.index))
    if (link.mac !== '' && link.mac !== NO_MAC && !links.has(link.mac))
      links.set(link.mac, { index: link.index, name: link.name });
  return { links };
}
