// vrouter.v1.RouterService: maps gRPC calls onto the engine and its errors onto gRPC status codes.
import {
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { RouterConfigSchema } from '../gen/vrouter/v1/config_pb.js';
import {
  type ApplyRequest,
  ApplyResponseSchema,
  CheckDriftResponseSchema,
  type DhcpLease,
  DriftStatusSchema,
  GetConfigResponseSchema,
  GetStatusResponseSchema,
  type GetDnsStatusResponse,
  type GetNatStatusResponse,
  type ListRoutesResponse,
  ListVipsResponseSchema,
  type VipStatus,
  type ListDhcpLeasesRequest,
  ListDhcpLeasesResponseSchema,
  type NicStatus,
  type PatchRequest,
  PatchResponseSchema,
  ServiceState,
  ServiceStatusSchema,
  type WatchRequest,
  type WatchResponse,
  WatchResponseSchema,
} from '../gen/vrouter/v1/service_pb.js';
import type { ExplainFirewallRequest } from '../gen/vrouter/v1/firewall_pb.js';
import type { Engine } from '../reconcile/engine.js';
import { WriteError, summarizeViolations } from '../reconcile/errors.js';
import { explainFirewall } from '../services/firewall/explain.js';
import { type RuleCounters, firewallStatus } from '../services/firewall/status.js';
import { grpcError } from './status-details.js';

export interface RouterServiceDeps {
  readonly engine: Engine;
  readonly version: string;
  readonly startedAt: Date;
  readonly driftIntervalSeconds: number;
  readonly nicStatuses: (config: Engine['committed']['config']) => Promise<NicStatus[]>;
  readonly dnsStatus: () => Promise<GetDnsStatusResponse>;
  /** Per-rule firewall counters as the kernel holds them. */
  readonly firewallCounters: () => Promise<RuleCounters>;
  readonly vipStatuses: (config: Engine['committed']['config']) => Promise<VipStatus[]>;
  readonly natStatus: (config: Engine['committed']['config']) => Promise<GetNatStatusResponse>;
  readonly routeStatuses: (config: Engine['committed']['config']) => Promise<ListRoutesResponse>;
  /** The DHCP server's leases, of one network or (empty id) all. */
  readonly dhcpLeases: (networkId: string) => DhcpLease[];
  readonly log: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

type Callback = sendUnaryData<unknown>;

/** A read that names something the committed config does not have. */
class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

const CODES: Record<WriteError['code'], status> = {
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  UNIMPLEMENTED: status.UNIMPLEMENTED,
  FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  ABORTED: status.ABORTED,
};

export function routerService(deps: RouterServiceDeps): UntypedServiceImplementation {
  const { engine, log } = deps;

  const unary =
    <Req>(method: string, handler: (request: Req) => Promise<unknown>) =>
    (call: ServerUnaryCall<Req, unknown>, callback: Callback) => {
      const started = Date.now();
      handler(call.request).then(
        (response) => callback(null, response),
        (e: unknown) => {
          if (e instanceof WriteError) {
            log.info({ method, code: e.code, ms: Date.now() - started, error: e.message }, 'write refused');
            return callback(
              grpcError(CODES[e.code], e.message, {
                violations: e.violations,
                ...(e.reason && { reason: e.reason }),
              }),
            );
          }
          if (e instanceof NotFoundError) return callback(grpcError(status.NOT_FOUND, e.message));
          log.error({ method, err: e }, 'internal error');
          callback(grpcError(status.INTERNAL, e instanceof Error ? e.message : String(e)));
        },
      );
    };

  return {
    apply: unary('Apply', async (request: ApplyRequest) => {
      const result = await engine.apply(
        request.config ?? create(RouterConfigSchema),
        request.expectedGeneration,
        request.validateOnly,
      );
      return create(ApplyResponseSchema, result);
    }),

    patch: unary('Patch', async (request: PatchRequest) => {
      const result = await engine.patch(request.operations, request.expectedGeneration, request.validateOnly);
      return create(PatchResponseSchema, result);
    }),

    getConfig: unary('GetConfig', () => {
      const { generation, config, appliedAt } = engine.committed;
      return Promise.resolve(
        create(GetConfigResponseSchema, {
          generation,
          config,
          ...(appliedAt && { appliedAt: timestampFromDate(appliedAt) }),
        }),
      );
    }),

    getStatus: unary('GetStatus', async () => {
      const { generation, config, appliedAt, rendered } = engine.committed;
      const stats = engine.driftStats;
      const services = [...engine.stepHealth].map(([name, health]) =>
        create(ServiceStatusSchema, {
          name,
          state:
            generation === 0n ? ServiceState.DISABLED : health.ok ? ServiceState.OK : ServiceState.FAILED,
          message: health.message,
          counters: {
            ...Object.fromEntries(
              Object.entries(engine.stepCounters(name)).map(([k, v]) => [k, BigInt(Math.round(v))]),
            ),
            applies: BigInt(health.applies),
            failures: BigInt(health.failures),
            repairs: BigInt(health.repairs),
          },
        }),
      );
      return create(GetStatusResponseSchema, {
        generation,
        ...(engine.applying !== undefined && { applyingGeneration: engine.applying }),
        ...(appliedAt && { appliedAt: timestampFromDate(appliedAt) }),
        version: deps.version,
        startedAt: timestampFromDate(deps.startedAt),
        services,
        nics: await deps.nicStatuses(config),
        drift: create(DriftStatusSchema, {
          checks: BigInt(stats.checks),
          repairs: BigInt(stats.repairs),
          intervalSeconds: deps.driftIntervalSeconds,
          ...(stats.lastCheckAt && { lastCheckAt: timestampFromDate(stats.lastCheckAt) }),
          ...(stats.lastRepairAt && { lastRepairAt: timestampFromDate(stats.lastRepairAt) }),
        }),
        lastError: engine.lastError,
        firewall: firewallStatus(rendered.firewall, await deps.firewallCounters()),
      });
    }),

    explainFirewall: unary('ExplainFirewall', async (request: ExplainFirewallRequest) => {
      const { config, rendered } = engine.committed;
      const result = explainFirewall(config, rendered.firewall, await deps.firewallCounters(), request);
      if (Array.isArray(result))
        throw new WriteError('INVALID_ARGUMENT', summarizeViolations(result), result);
      return result;
    }),
    listVips: unary('ListVips', async () =>
      create(ListVipsResponseSchema, { vips: await deps.vipStatuses(engine.committed.config) }),
    ),

    getNatStatus: unary('GetNatStatus', () => deps.natStatus(engine.committed.config)),

    listRoutes: unary('ListRoutes', () => deps.routeStatuses(engine.committed.config)),

    checkDrift: unary('CheckDrift', async () =>
      create(CheckDriftResponseSchema, { repaired: await engine.checkDrift() }),
    ),

    getDnsStatus: unary('GetDnsStatus', () => deps.dnsStatus()),
    listDhcpLeases: unary('ListDhcpLeases', (request: ListDhcpLeasesRequest) => {
      const id = request.networkId;
      // An empty list would read as "no clients" when the name is wrong.
      if (id !== '' && !engine.committed.config.networks.some((n) => n.id === id))
        return Promise.reject(new NotFoundError(`no network with id "${id}"`));
      return Promise.resolve(create(ListDhcpLeasesResponseSchema, { leases: deps.dhcpLeases(id) }));
    }),

    watch: (call: ServerWritableStream<WatchRequest, WatchResponse>) => {
      const send = (event: WatchResponse) => call.write(event);
      if (call.request.sendCurrent) {
        const { generation, appliedAt } = engine.committed;
        send(
          create(WatchResponseSchema, {
            time: timestampFromDate(appliedAt ?? new Date()),
            generation,
            event: { case: 'generationApplied', value: { cause: 'current', results: [] } },
          }),
        );
      }
      engine.events.on('event', send);
      const stop = () => engine.events.off('event', send);
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('error', stop);
    },
  };
}
