#!/usr/bin/env node
// vrouterctl: the operator's console tool. Talks to vrouterd over its unix socket (or the management
// address with mTLS). Tables for people, --json for scripts.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { type ServiceError, status } from '@grpc/grpc-js';
import { type JsonValue, fromJson, toJson, toJsonString } from '@bufbuild/protobuf';
import { type Timestamp, timestampDate } from '@bufbuild/protobuf/wkt';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { RouterConfigSchema } from '../gen/vrouter/v1/config_pb.js';
import { NicRole } from '../gen/vrouter/v1/interfaces_pb.js';
import {
  ApplyResponseSchema,
  type GetStatusResponse,
  GetStatusResponseSchema,
  type DhcpLease,
  DhcpLeaseKind,
  ListDhcpLeasesResponseSchema,
  PatchRequestSchema,
  PatchResponseSchema,
  ServiceState,
  StepOutcome,
  type StepResult,
  type WatchResponse,
  WatchResponseSchema,
} from '../gen/vrouter/v1/service_pb.js';
import { readErrorDetails } from '../api/status-details.js';
import { RouterClient } from './client.js';
import { table } from './table.js';

const USAGE = `usage: vrouterctl [connection] COMMAND [--json]

commands:
  apply -f FILE [--expected-generation N] [--validate-only]
                       replace the whole config with FILE (RouterConfig, proto3 JSON or YAML)
  patch -f FILE [--expected-generation N] [--validate-only]
                       apply {operations: [...]} from FILE (PatchRequest, JSON or YAML)
  show config          the config the router holds (YAML; --json for proto3 JSON)
  show status          generation, services, NICs, drift checks
  show dhcp leases [--network ID]
                       the DHCP leases the router holds (hosts and pool clients)
  watch                stream events (applied generations, drift repaired) until Ctrl-C
  check-drift          compare the kernel with the config now and repair differences

connection (default: the console socket):
  --socket PATH        vrouterd's unix socket (default $VROUTERCTL_SOCKET or /run/vrouterd/control.sock)
  --server HOST:PORT   the management API instead; with --tls-cert/--tls-key/--tls-ca for mTLS`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      socket: { type: 'string' },
      server: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca': { type: 'string' },
      file: { type: 'string', short: 'f' },
      'expected-generation': { type: 'string' },
      'validate-only': { type: 'boolean', default: false },
      network: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || positionals.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const tlsFiles = [values['tls-cert'], values['tls-key'], values['tls-ca']];
  const tls = tlsFiles.every((f) => f !== undefined)
    ? {
        cert: await readFile(tlsFiles[0] ?? ''),
        key: await readFile(tlsFiles[1] ?? ''),
        ca: await readFile(tlsFiles[2] ?? ''),
      }
    : undefined;
  const client = new RouterClient({
    socket: values.socket ?? process.env['VROUTERCTL_SOCKET'] ?? '/run/vrouterd/control.sock',
    ...(values.server !== undefined && { server: values.server }),
    ...(tls !== undefined && { tls }),
  });
  const json = values.json;
  const expected =
    values['expected-generation'] === undefined ? undefined : BigInt(values['expected-generation']);
  try {
    switch (positionals.join(' ')) {
      case 'apply': {
        const config = fromJson(RouterConfigSchema, await readDocument(values.file));
        const response = await client.apply({
          config,
          validateOnly: values['validate-only'],
          ...(expected !== undefined && { expectedGeneration: expected }),
        });
        print(
          json
            ? toJsonString(ApplyResponseSchema, response)
            : describeWrite(response.generation, response.results),
        );
        return 0;
      }
      case 'patch': {
        const request = fromJson(PatchRequestSchema, await readDocument(values.file));
        if (expected !== undefined) request.expectedGeneration = expected;
        request.validateOnly ||= values['validate-only'];
        const response = await client.patch(request);
        print(
          json
            ? toJsonString(PatchResponseSchema, response)
            : describeWrite(response.generation, response.results),
        );
        return 0;
      }
      case 'show config': {
        const response = await client.getConfig();
        const config = toJson(RouterConfigSchema, response.config ?? fromJson(RouterConfigSchema, {}));
        const document = { generation: response.generation.toString(), config };
        print(json ? JSON.stringify(document, null, 2) : toYaml(document).trimEnd());
        return 0;
      }
      case 'show status': {
        const response = await client.getStatus();
        print(
          json
            ? toJsonString(GetStatusResponseSchema, response, { prettySpaces: 2 })
            : describeStatus(response),
        );
        return 0;
      }
      case 'show dhcp leases': {
        const response = await client.listDhcpLeases(values.network ?? '');
        if (json) print(toJsonString(ListDhcpLeasesResponseSchema, response, { prettySpaces: 2 }));
        else {
          const status = await client.getStatus();
          const counters = status.services.find((s) => s.name === 'dhcp')?.counters ?? {};
          print(describeLeases(response.leases, counters));
        }
        return 0;
      }
      case 'watch':
        return await watch(client, json);
      case 'check-drift': {
        const response = await client.checkDrift();
        if (json)
          print(
            JSON.stringify({
              repaired: response.repaired.map((r) => ({ step: r.step, findings: r.findings })),
            }),
          );
        else if (response.repaired.length === 0) print('no drift: the kernel holds the applied config');
        else
          for (const r of response.repaired)
            print(`${r.step}: repaired\n${r.findings.map((f) => `  ${f}`).join('\n')}`);
        return 0;
      }
      default:
        throw new UsageError(`unknown command "${positionals.join(' ')}"`);
    }
  } finally {
    client.close();
  }
}

async function readDocument(file: string | undefined): Promise<JsonValue> {
  if (file === undefined) throw new UsageError('-f FILE is required');
  const text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  try {
    return (/\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text)) as JsonValue;
  } catch (e) {
    throw new UsageError(`${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function watch(client: RouterClient, json: boolean): Promise<number> {
  const { events, cancel } = client.watch(true);
  process.once('SIGINT', cancel);
  try {
    for await (const event of events)
      print(json ? toJsonString(WatchResponseSchema, event) : describeEvent(event));
  } catch (e) {
    if ((e as ServiceError).code !== status.CANCELLED) throw e;
  }
  return 0;
}

function describeWrite(generation: bigint, results: readonly StepResult[]): string {
  const rows = results.map((r) => [
    r.step,
    outcomeName(r.outcome),
    `${(Number(r.durationUs) / 1000).toFixed(1)} ms`,
    r.message,
  ]);
  return `generation ${generation}\n${table(['STEP', 'OUTCOME', 'TIME', 'DETAIL'], rows)}`;
}

function describeStatus(s: GetStatusResponse): string {
  const lines = [
    `generation ${s.generation}${s.appliedAt ? ` applied ${time(s.appliedAt)}` : ' (no config applied yet)'}` +
      (s.applyingGeneration !== undefined ? `, applying ${s.applyingGeneration}` : ''),
    `vrouterd ${s.version}, up since ${time(s.startedAt)}`,
  ];
  if (s.drift) {
    const d = s.drift;
    lines.push(
      `drift checks: ${d.checks} (${d.intervalSeconds > 0 ? `every ${d.intervalSeconds} s` : 'periodic checks off'}), repairs: ${d.repairs}` +
        (d.lastRepairAt ? `, last ${time(d.lastRepairAt)}` : ''),
    );
  }
  if (s.lastError !== '') lines.push(`LAST ERROR: ${s.lastError}`);
  lines.push(
    '',
    table(
      ['SERVICE', 'STATE', 'APPLIES', 'FAILURES', 'REPAIRS', 'DETAIL'],
      s.services.map((svc) => [
        svc.name,
        ServiceState[svc.state],
        String(svc.counters['applies'] ?? 0n),
        String(svc.counters['failures'] ?? 0n),
        String(svc.counters['repairs'] ?? 0n),
        svc.message,
      ]),
    ),
    '',
    table(
      ['NIC', 'ROLE', 'MAC', 'LINK', 'STATE', 'MTU', 'ADDRESSES'],
      s.nics.map((n) => [
        n.id,
        NicRole[n.role].toLowerCase(),
        n.mac,
        n.present ? n.name : '-',
        !n.present ? 'MISSING' : !n.up ? 'down' : n.carrier ? 'up' : 'no-carrier',
        n.present ? String(n.mtu) : '-',
        n.addresses.join(' '),
      ]),
    ),
  );
  return lines.join('\n');
}

/** The leases, after a line of the server's counters since it started. */
function describeLeases(leases: readonly DhcpLease[], counters: Record<string, bigint>): string {
  const count = (name: string) => String(counters[name] ?? 0n);
  const totals = ['offers', 'acks', 'naks', 'releases', 'declines', 'drops'].map((n) => `${n} ${count(n)}`);
  const rows = leases.map((l) => [
    l.networkId,
    l.ip,
    l.mac,
    l.hostname || '-',
    DhcpLeaseKind[l.kind].toLowerCase(),
    time(l.expiresAt),
    l.clientId || '-',
  ]);
  return `${leases.length} leases; since start: ${totals.join(', ')}\n${table(['NETWORK', 'IP', 'MAC', 'HOSTNAME', 'KIND', 'EXPIRES', 'CLIENT ID'], rows)}`;
}

function describeEvent(e: WatchResponse): string {
  const head = `${e.time ? time(e.time) : ''} generation ${e.generation}`;
  switch (e.event.case) {
    case 'generationApplied':
      return `${head} applied (${e.event.value.cause})${e.event.value.results.map((r) => ` ${r.step}=${outcomeName(r.outcome)}`).join('')}`;
    case 'applyFailed':
      return `${head} FAILED generation ${e.event.value.failedGeneration} at ${e.event.value.step}: ${e.event.value.message}`;
    case 'driftRepaired':
      return `${head} drift repaired by ${e.event.value.step}: ${e.event.value.findings.join('; ')}`;
    case 'serviceEvent':
      return `${head} ${e.event.value.service} ${e.event.value.severity}: ${e.event.value.message}`;
    case undefined:
      return `${head} (unknown event)`;
  }
}

function outcomeName(outcome: StepOutcome): string {
  return StepOutcome[outcome];
}

function time(t: Timestamp | undefined): string {
  return t === undefined ? '-' : timestampDate(t).toISOString();
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (
      e instanceof UsageError ||
      (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      process.stderr.write(`vrouterctl: ${e.message}\n\n${USAGE}\n`);
      process.exitCode = 2;
      return;
    }
    const err = e as Partial<ServiceError>;
    if (typeof err.code === 'number') {
      const details = readErrorDetails(err.metadata);
      process.stderr.write(`vrouterctl: ${status[err.code]}: ${err.details ?? ''}\n`);
      for (const v of details.violations) process.stderr.write(`  ${v.field}: ${v.description}\n`);
      if (details.reason !== undefined)
        process.stderr.write(
          `  reason ${details.reason}${Object.entries(details.info)
            .map(([k, v]) => ` ${k}=${v}`)
            .join('')}\n`,
        );
    } else process.stderr.write(`vrouterctl: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
