// Traffic for lab scenarios: servers and clients of net-tool.js run in namespaces. One helper for the
// firewall, NAT and benchmark scenarios alike.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type RunResult, inNamespace, spawnInNamespace } from './exec.js';

const NET_TOOL = fileURLToPath(new URL('./net-tool.js', import.meta.url));

export type ServerMode = 'serve-http' | 'serve-tcp' | 'serve-udp' | 'serve-lines';

/** Starts a net-tool server in `ns` and resolves once it listens; it dies with the namespace. */
export function serve(ns: string, mode: ServerMode, ...ports: number[]): Promise<ChildProcess> {
  const child = spawnInNamespace(ns, process.execPath, [NET_TOOL, mode, ...ports.map(String)]);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${mode} in ${ns} did not start`)), 10_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => reject(new Error(`${mode} in ${ns} exited with ${code}`)));
  });
}

/**
 * A web server (`serve-http`) left running in `ns` when this process exits, as `make lab` leaves its
 * lab: detached, nothing piped back; it goes when the namespace is removed (removeNamespaceSync).
 */
export async function leaveServing(ns: string, port: number): Promise<void> {
  spawn('ip', ['netns', 'exec', ns, process.execPath, NET_TOOL, 'serve-http', String(port)], {
    stdio: 'ignore',
    detached: true,
  }).unref();
  for (let attempt = 0; attempt < 50; attempt++) {
    if ((await connect(ns, '127.0.0.1', port, 200)) === 'connected') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the web server in ${ns} did not start listening on ${port}`);
}

/** A net-tool client (`tcp HOST PORT [MS]`, `udp …`); resolves with its result whatever the exit code. */
export function client(ns: string, ...args: string[]): Promise<RunResult> {
  return inNamespace(ns, process.execPath, [NET_TOOL, ...args], { allowFailure: true, timeoutMs: 15_000 });
}

export type Outcome = 'connected' | 'refused' | 'timeout' | 'error';

/** One TCP connection attempt from `ns`: how it ended, a timeout told apart from a refusal. */
export async function connect(ns: string, host: string, port: number, timeoutMs = 1500): Promise<Outcome> {
  const { stdout } = await inNamespace(ns, process.execPath, [
    NET_TOOL,
    'connect',
    host,
    String(port),
    String(timeoutMs),
  ]);
  return (JSON.parse(stdout) as { result: Outcome }).result;
}

/** A connection kept open to a `serve-lines` server; `echo()` sends a line and tells whether it came back. */
export class HeldConnection {
  private readonly lines: AsyncIterator<string, undefined>;

  private constructor(private readonly child: ChildProcess) {
    if (child.stdout === null) throw new Error('net-tool without stdout');
    this.lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]() as AsyncIterator<
      string,
      undefined
    >;
  }

  static async open(ns: string, host: string, port: number): Promise<HeldConnection> {
    const held = new HeldConnection(
      spawn('ip', ['netns', 'exec', ns, process.execPath, NET_TOOL, 'hold', host, String(port)], {
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
