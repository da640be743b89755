// What tests read back from the lab's kernel and from the daemon's event stream.
import { type ServiceError, status } from '@grpc/grpc-js';
import type { WatchResponse } from '../../daemon/src/gen/vrouter/v1/service_pb.js';
import type { RouterClient } from '../../daemon/src/cli/client.js';
import { inNamespace, ip } from './exec.js';

/** Global addresses of a link, CIDR form as `ip` prints them, sorted (the kernel's order says nothing). */
export async function addressesOf(ns: string, ifname: string): Promise<string[]> {
  const { stdout } = await ip('-n', ns, '-j', 'addr', 'show', 'dev', ifname);
  const [link] = JSON.parse(stdout) as { addr_info: { local: string; prefixlen: number; scope: string }[] }[];
  return (link?.addr_info ?? [])
    .filter((a) => a.scope === 'global')
    .map((a) => `${a.local}/${a.prefixlen}`)
    .sort();
}

/**
 * Everything an Apply may touch in the router namespace, as text, for before/after comparisons:
 * IPv4 and global IPv6 addresses (link-local ones are the kernel's and change state on their own),
 * links with their MTU and flags, the whole nftables ruleset.
 */
export async function kernelSnapshot(ns: string): Promise<string> {
  const [v4, v6, links, ruleset] = await Promise.all([
    ip('-n', ns, '-4', 'addr'),
    ip('-n', ns, '-6', 'addr', 'show', 'scope', 'global'),
    ip('-n', ns, '-d', 'link'),
    inNamespace(ns, 'nft', ['-s', 'list', 'ruleset']),
  ]);
  return [v4.stdout, v6.stdout, links.stdout, ruleset.stdout].join('\n---\n');
}

export async function ping(ns: string, address: string): Promise<boolean> {
  const result = await inNamespace(ns, 'ping', ['-c', '1', '-W', '2', address], { allowFailure: true });
  return result.code === 0;
}

/** Collects Watch events; `next(match)` resolves with the first matching event (already seen or to come). */
export class EventLog {
  readonly events: WatchResponse[] = [];
  private waiters: { match: (e: WatchResponse) => boolean; resolve: (e: WatchResponse) => void }[] = [];
  private readonly cancel: () => void;

  constructor(client: RouterClient) {
    const { events, cancel } = client.watch(false);
    this.cancel = cancel;
    void (async () => {
      try {
        for await (const event of events) {
          this.events.push(event);
          for (const w of this.waiters.filter((w) => w.match(event))) w.resolve(event);
          this.waiters = this.waiters.filter((w) => !w.match(event));
        }
      } catch (e) {
        if ((e as ServiceError).code !== status.CANCELLED) throw e;
      }
    })();
  }

  /** Fails after `limitMs`: a bound on a hang, not a speed requirement. */
  next(match: (e: WatchResponse) => boolean, limitMs = 20_000): Promise<WatchResponse> {
    const seen = this.events.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `no matching event within ${limitMs} ms; got ${this.events.map((e) => e.event.case).join(', ')}`,
            ),
          ),
        limitMs,
      );
      this.waiters.push({ match, resolve: (e) => (clearTimeout(timer), resolve(e)) });
    });
  }

  close(): void {
    this.cancel();
  }
}
