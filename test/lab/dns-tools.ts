// Real DNS programs for the lab: dig as the client, and upstream servers for the router to forward to
// (BIND's named as an authoritative server for example.test, dnsmasq as a second one), each with its
// own config and query log in a temporary directory, inside a lab namespace.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inNamespace, spawnInNamespace } from './exec.js';

export interface DigResult {
  /** NOERROR, NXDOMAIN, SERVFAIL …; `TIMEOUT` when no answer came. */
  readonly status: string;
  readonly flags: readonly string[];
  /** Answer section records as `name ttl class type data` with single spaces. */
  readonly answers: readonly string[];
  readonly authority: readonly string[];
  /** The transport the answer came over (`UDP`, `TCP`), and whether dig retried over TCP. */
  readonly transport: string;
  readonly retriedOverTcp: boolean;
  readonly raw: string;
}

/** `dig @server name type` from namespace `ns`; extra options such as `+tcp`, `+noedns`. */
export async function dig(
  ns: string,
  server: string,
  name: string,
  type = 'A',
  options: string[] = [],
): Promise<DigResult> {
  const result = await inNamespace(
    ns,
    'dig',
    [`@${server}`, name, type, '+time=3', '+tries=1', '+nosearch', ...options],
    { allowFailure: true, timeoutMs: 20_000 },
  );
  return parseDig(result.stdout);
}

export function parseDig(raw: string): DigResult {
  const status = /status: ([A-Z]+)/.exec(raw)?.[1] ?? 'TIMEOUT';
  const flags = (/;; flags: ([a-z ]+);/.exec(raw)?.[1] ?? '').split(' ').filter(Boolean);
  const section = (title: string) => {
    const start = raw.indexOf(`;; ${title} SECTION:`);
    if (start < 0) return [];
    const lines: string[] = [];
    for (const line of raw.slice(start).split('\n').slice(1)) {
      if (line.trim() === '') break;
      lines.push(line.trim().split(/\s+/).join(' '));
    }
    return lines;
  };
  return {
    status,
    flags,
    answers: section('ANSWER'),
    authority: section('AUTHORITY'),
    transport: /;; SERVER: \S+ \((UDP|TCP)\)/.exec(raw)?.[1] ?? '',
    retriedOverTcp: raw.includes('Truncated, retrying in TCP mode'),
    raw,
  };
}

/** The data of the answers of one type: `dig … A` → ['10.1.0.12']. */
export function answerData(r: DigResult, type: string): string[] {
  return r.answers.filter((a) => a.split(' ')[3] === type).map((a) => a.split(' ').slice(4).join(' '));
}

/** A DNS server process in a namespace with a query log we can read. */
export class UpstreamServer {
  private constructor(
    readonly address: string,
    readonly dir: string,
    private readonly child: ChildProcess,
    private readonly logFile: string,
  ) {}

  /** BIND named, authoritative (no recursion) for example.test; logs every query it gets. */
  static async named(ns: string, address: string): Promise<UpstreamServer> {
    const dir = await mkdtemp(join(tmpdir(), 'vrouterd-named-'));
    const txt = Array.from({ length: 12 }, (_, i) => `"${String(i).repeat(100)}"`).join(' ');
    await writeFile(
      join(dir, 'example.test.zone'),
      [
        '$TTL 300',
        '@ IN SOA ns hostmaster 1 3600 600 86400 120',
        '@ IN NS ns',
        `ns IN A ${address}`,
        'www IN A 198.51.100.7',
        'other IN A 198.51.100.8',
        `big IN TXT ${txt}`,
        '',
      ].join('\n'),
    );
    await writeFile(
      join(dir, 'named.conf'),
      `options {
  directory "${dir}";
  pid-file "${dir}/named.pid";
  session-keyfile "${dir}/session.key";
  listen-on port 53 { ${address}; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
};
controls { };
logging {
  channel queries_file { file "${dir}/queries.log"; print-time yes; };
  category queries { queries_file; };
  category default { null; };
};
zone "example.test" { type primary; file "${dir}/example.test.zone"; };
`,
    );
    const child = spawnInNamespace(ns, 'named', [
      '-f',
      '-u',
      'root',
      '-n',
      '1',
      '-c',
      join(dir, 'named.conf'),
    ]);
    return UpstreamServer.ready(ns, address, dir, child, join(dir, 'queries.log'));
  }

  /** dnsmasq answering every name under example.test with 198.51.100.7 (TTL 300); logs queries. */
  static async dnsmasq(ns: string, address: string): Promise<UpstreamServer> {
    const dir = await mkdtemp(join(tmpdir(), 'vrouterd-dnsmasq-'));
    const log = join(dir, 'queries.log');
    const child = spawnInNamespace(ns, 'dnsmasq', [
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--no-resolv',
      '--no-hosts',
      '--bind-interfaces',
      `--listen-address=${address}`,
      '--address=/example.test/198.51.100.7',
      '--local-ttl=300',
      '--log-queries',
      `--log-facility=${log}`,
      '--user=root',
      `--pid-file=${join(dir, 'dnsmasq.pid')}`,
    ]);
    return UpstreamServer.ready(ns, address, dir, child, log);
  }

  private static async ready(
    ns: string,
    address: string,
    dir: string,
    child: ChildProcess,
    logFile: string,
  ): Promise<UpstreamServer> {
    child.stdout?.resume();
    child.stderr?.resume();
    const server = new UpstreamServer(address, dir, child, logFile);
    for (let i = 0; i < 50; i++) {
      const probe = await dig(ns, address, 'ns.example.test', 'A', ['+time=1']);
      if (probe.status === 'NOERROR') return server;
      if (child.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await server.stop();
    throw new Error(`the DNS server on ${address} did not start`);
  }

  /** Query log lines for `name`: named writes `query: NAME IN A …`, dnsmasq `query[A] NAME from …`. */
  async queriesFor(name: string): Promise<string[]> {
    const text = await readFile(this.logFile, 'utf8').catch(() => '');
    return text.split('\n').filter((line) => /query[:[]/.test(line) && line.includes(` ${name} `));
  }

  /** Stops answering (SIGSTOP): queries pile up unanswered, as with a hung server. */
  pause(): void {
    this.child.kill('SIGSTOP');
  }

  resume(): void {
    this.child.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    this.child.kill('SIGCONT');
    this.child.kill('SIGKILL');
    await rm(this.dir, { recursive: true, force: true });
  }
}
