// Running commands for the lab: in the root namespace only `ip netns …` and `ip -n NS …` (which act
// inside a namespace), everything else inside a lab namespace with `ip netns exec`.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly result: RunResult,
  ) {
    super(`${command} exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
  }
}

export interface RunOptions {
  readonly input?: string;
  readonly timeoutMs?: number;
  /** Resolve with the result instead of rejecting on a non-zero exit. */
  readonly allowFailure?: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { timeout: options.timeoutMs ?? 60_000, maxBuffer: 1 << 26, env: options.env ?? process.env },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        const result = { stdout, stderr, code };
        if (code !== 0 && options.allowFailure !== true)
          reject(new CommandError([command, ...args].join(' '), result));
        else resolve(result);
      },
    );
    // A command that exits before reading its input must not crash the caller with EPIPE.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input ?? '');
  });
}

export function ip(...args: string[]): Promise<RunResult> {
  return run('ip', args);
}

export function inNamespace(
  ns: string,
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  return run('ip', ['netns', 'exec', ns, command, ...args], options);
}

export function spawnInNamespace(
  ns: string,
  command: string,
  args: readonly string[],
  env?: NodeJS.ProcessEnv,
): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, command, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: env ?? process.env,
  });
}

export function listNamespaces(): string[] {
  const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name !== '');
}

/** Kills every process in the namespace and deletes it. Synchronous, so it also works on exit. */
export function removeNamespaceSync(ns: string): void {
  try {
    const pids = execFileSync('ip', ['netns', 'pids', ns], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .split('\n')
      .filter(Boolean);
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  } catch {
    // namespace already gone
  }
  try {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  } catch {
    // already gone
  }
}
