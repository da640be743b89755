// Lab helpers for firewall scenarios: TCP servers and clients in namespaces (probe.js), a stand-in
// port forward, and the check that ExplainFirewall agrees with what the kernel did: for each probe,
// the verdict explained for every NIC direction the packet crosses must predict the connection's
// outcome (accept: connected, drop: timeout, reject: refused at once), and the counter of every rule
// explained as deciding must move.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { Test } from 'tap';
import type { RouterClient } from '../../daemon/src/cli/client.js';
import {
  type ExplainFirewallResponse,
  FirewallAction,
  type FirewallPacketSchema,
  Direction,
} from '../../daemon/src/gen/vrouter/v1/firewall_pb.js';
import { inNamespace, spawnInNamespace } from './exec.js';

const PROBE = fileURLToPath(new URL('./probe.js', import.meta.url));

export type Outcome = 'connected' | 'refused' | 'timeout' | 'error';

/** An echo server on PORT in the namespace, ready when this resolves; killed with the namespace. */
export async function serve(ns: string, port: number): Promise<ChildProcess> {
  const child = spawnInNamespace(ns, process.execPath, [PROBE, 'serve', String(port)]);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`server on ${ns}:${port} exited with ${code}`)));
  });
  return child;
}

export async function connect(ns: string, host: string, port: number, timeoutMs = 1500): Promise<Outcome> {
  const { stdout } = await inNamespace(ns, process.execPath, [
    PROBE,
    'connect',
    host,
    String(port),
    String(timeoutMs),
  ]);
  return (JSON.parse(stdout) as { result: Outcome }).result;
}

/** A connection kept open; `echo()` sends a line over it and tells whether it came back. */
export class HeldConnection {
  private readonly lines: AsyncIterator<string, undefined>;

  private constructor(private readonly child: ChildProcess) {
    if (child.stdout === null) throw new Error('probe without stdout');
    this.lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]() as AsyncIterator<
      string,
      undefined
    >;
  }

  static async open(ns: string, host: string, port: number): Promise<HeldConnection> {
    const held = new HeldConnection(
      spawn('ip', ['netns', 'exec', ns, process.execPath, PROBE, 'hold', host, String(port)], {
        stdio: ['pipe', 'pipe', 'ignore'],
      }),
    );
    const first = await held.next();
    if (first !== 'connected') throw new Error(`held connection to ${host}:${port}: ${first}`);
    return held;
  }

  async echo(): Promise<boolean> {
    this.child.stdin?.write('ping\n');
    return (await this.next()) === 'echo ok';
  }

  close(): void {
    this.child.stdin?.end();
    this.child.kill();
  }

  private async next(): Promise<string> {
    const line = await this.lines.next();
    return line.done === true ? 'closed' : line.value;
  }
}

export interface Crossing {
  readonly nicId: string;
  readonly direction: 'in' | 'out';
}

export type PacketInit = MessageInitShape<typeof FirewallPacketSchema>;

export interface Verified {
  readonly outcome: Outcome;
  readonly explanations: readonly ExplainFirewallResponse[];
}

/**
 * Explains the packet for each crossing (in the order the kernel filters: in, then out), runs the
 * probe, and checks the outcome and the counters against the explanations.
 */
export async function verifyExplained(
  t: Test,
  client: RouterClient,
  label: string,
  crossings: readonly Crossing[],
  packet: PacketInit,
  probe: () => Promise<Outcome>,
): Promise<Verified> {
  const explanations: ExplainFirewallResponse[] = [];
  for (const c of crossings)
    explanations.push(
      await client.explainFirewall({
        nicId: c.nicId,
        direction: c.direction === 'in' ? Direction.IN : Direction.OUT,
        packet,
      }),
    );
  const decisive = explanations.findIndex((e) => e.verdict !== FirewallAction.ACCEPT);
  const seen = decisive < 0 ? explanations : explanations.slice(0, decisive + 1);
  const before = await counters(client);
  const outcome = await probe();
  const after = await counters(client);
  const verdict =
    decisive < 0 ? FirewallAction.ACCEPT : (explanations[decisive]?.verdict ?? FirewallAction.ACCEPT);
  const expected: Outcome =
    verdict === FirewallAction.ACCEPT ? 'connected' : verdict === FirewallAction.DROP ? 'timeout' : 'refused';
  t.equal(outcome, expected, `${label}: explain says ${FirewallAction[verdict]}, the kernel ${outcome}`);
  for (const e of seen) {
    const id = e.rule?.id;
    if (id === undefined) continue;
    t.ok(
      (after.get(id) ?? 0n) > (before.get(id) ?? 0n),
      `${label}: the counter of ${id} (explained as deciding) moved: ${before.get(id) ?? 0n} -> ${after.get(id) ?? 0n}`,
    );
  }
  return { outcome, explanations };
}

/** Packets decided by each rule, from GetStatus. */
export async function counters(client: RouterClient): Promise<Map<string, bigint>> {
  const status = await client.getStatus();
  const all = new Map<string, bigint>();
  for (const set of status.firewall?.ruleSets ?? [])
    for (const rule of set.rules) all.set(rule.id, rule.packets);
  return all;
}
