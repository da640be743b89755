// vrouterd as the lab runs it: inside the router namespace, with its own state directory and
// console socket, stdout (JSON log lines) appended to a file the tests can read.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RouterClient } from '../../daemon/src/cli/client.js';

export const DAEMON_MAIN = fileURLToPath(new URL('../../daemon/src/main.js', import.meta.url));
export const VROUTERCTL = fileURLToPath(new URL('../../daemon/src/cli/vrouterctl.js', import.meta.url));
/**
 * Node's flags for the daemon, the same as systemd/vrouterd.service gives it (a unit test holds the
 * two together): a young generation of 16 MiB semi-spaces, not the 64 MiB V8 picks on a machine with
 * gigabytes to spare, so that a scavenge copies what a few dozen Patches left alive (~1.4 ms) rather
 * than what two hundred did (3–9 ms, in the middle of a Patch).
 */
export const DAEMON_NODE_FLAGS = ['--max-semi-space-size=16'];

export interface DaemonOptions {
  /** `host:port` of the management API inside the router namespace. */
  readonly listen?: string;
  /** PEM file paths for mTLS; without them a `listen` address is plaintext (--insecure). */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca: string };
  readonly driftIntervalSeconds?: number;
  readonly nicWaitSeconds?: number;
  readonly env?: NodeJS.ProcessEnv;
  /** Keep running after this process exits (`make lab`). */
  readonly detached?: boolean;
  /** nftables transport (`--nft-backend`); the daemon's default when absent. */
  readonly nftBackend?: 'lib' | 'exec';
  /** Where element-only changes go (`--nft-elements`); the daemon's default when absent. */
  readonly nftElements?: 'netlink' | 'backend';
}

export class LabDaemon {
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> = Promise.resolve(null);
  private rpc: RouterClient | undefined;

  private constructor(
    readonly namespace: string,
    readonly stateDir: string,
    private readonly options: DaemonOptions,
  ) {}

  get socket(): string {
    return join(this.stateDir, 'control.sock');
  }

  get logFile(): string {
    return join(this.stateDir, 'vrouterd.log');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  static async start(namespace: string, options: DaemonOptions = {}, stateDir?: string): Promise<LabDaemon> {
    const daemon = new LabDaemon(
      namespace,
      stateDir ?? (await mkdtemp(join(tmpdir(), 'vrouterd-lab-'))),
      options,
    );
    try {
      await daemon.launch();
    } catch (e) {
      // A daemon that did not come up leaves no state directory made for it (its log is in the error).
      if (stateDir === undefined) await daemon.destroy();
      throw e;
    }
    return daemon;
  }

  /** The client over the console socket. */
  get client(): RouterClient {
    this.rpc ??= new RouterClient({ socket: this.socket }, 60_000);
    return this.rpc;
  }

  async launch(): Promise<void> {
    const o = this.options;
    const args = [
      ...DAEMON_NODE_FLAGS,
      DAEMON_MAIN,
      '--state-dir',
      this.stateDir,
      '--control-socket',
      this.socket,
      '--drift-interval',
      String(o.driftIntervalSeconds ?? 0),
      '--nic-wait',
      String(o.nicWaitSeconds ?? 2),
      '--log-level',
      'debug',
    ];
    if (o.nftBackend !== undefined) args.push('--nft-backend', o.nftBackend);
    if (o.nftElements !== undefined) args.push('--nft-elements', o.nftElements);
    if (o.listen !== undefined) {
      args.push('--listen', o.listen);
      if (o.tls === undefined) args.push('--insecure');
      else args.push('--tls-cert', o.tls.cert, '--tls-key', o.tls.key, '--tls-ca', o.tls.ca);
    }
    const log = openSync(this.logFile, 'a');
    const child = spawn('ip', ['netns', 'exec', this.namespace, process.execPath, ...args], {
      stdio: ['ignore', log, log],
      env: { ...process.env, ...o.env },
      detached: o.detached === true,
    });
    closeSync(log);
    if (o.detached === true) child.unref();
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    await this.waitReady(child);
  }

  private async waitReady(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`vrouterd exited with ${child.exitCode}:\n${this.logTail()}`);
      // A new channel each try: one channel would wait out gRPC's reconnect backoff (1 s, then 1.6 s …)
      // after the socket was missing, and the start-up bench would measure that backoff.
      const probe = new RouterClient({ socket: this.socket }, 1000);
      try {
        await probe.getStatus();
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`vrouterd did not answer within 30 s:\n${this.logTail()}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      } finally {
        probe.close();
      }
    }
  }

  /** SIGTERM and wait; returns the exit code. */
  async stop(): Promise<number | null> {
    this.closeClient();
    this.child?.kill('SIGTERM');
    return this.exited;
  }

  /** kill -9: no chance to clean up. */
  async kill(): Promise<void> {
    this.closeClient();
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  logTail(lines = 40): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Stops the daemon (if running) and removes its state directory. */
  async destroy(): Promise<void> {
    await this.kill();
    await rm(this.stateDir, { recursive: true, force: true });
  }

  private closeClient(): void {
    this.rpc?.close();
    this.rpc = undefined;
  }
}
