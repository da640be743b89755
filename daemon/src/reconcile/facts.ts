// Facts about the kernel that rendering needs: which link carries which MAC. Read again only when
// the kernel announced a link change (or an announcement may have been lost): a link dump was a
// tenth of a one-EIP Patch.
import type { LinkChanges } from '../drivers/link-changes.js';
import type { LinkState, Netlink } from '../drivers/netlink.js';
import type { LinkFact, LinkFacts } from '../services/interfaces/plan.js';

const NO_MAC = '00:00:00:00:00:00';

export class KernelFacts {
  private cached: { readonly version: number; readonly links: LinkFacts } | undefined;

  constructor(
    private readonly netlink: Pick<Netlink, 'links'>,
    private readonly changes: Pick<LinkChanges, 'version'>,
  ) {}

  /** MAC → link. `fresh`: read the kernel even if no change was announced (a NIC being plugged in). */
  async links(fresh: boolean): Promise<LinkFacts> {
    // Read before the dump: a change the dump may have missed leaves the cache stale by one version.
    const version = this.changes.version;
    if (!fresh && version !== undefined && this.cached?.version === version) return this.cached.links;
    const links = linksByMac(await this.netlink.links());
    this.cached = version === undefined ? undefined : { version, links };
    return links;
  }
}

function linksByMac(kernelLinks: readonly LinkState[]): LinkFacts {
  const links = new Map<string, LinkFact>();
  // Sorted by index: when a bridge or other virtual link copies a NIC's MAC, the NIC (created
  // first, lower index) is the one meant.
  for (const link of [...kernelLinks].sort((a, b) => a.index - b.index))
    if (link.mac !== '' && link.mac !== NO_MAC && !links.has(link.mac))
      links.set(link.mac, { index: link.index, name: link.name });
  return links;
}
