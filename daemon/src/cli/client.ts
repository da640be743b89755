// A typed client of vrouter.v1.RouterService over the console socket or the management address.
// vrouterctl and the lab tests use it.
import {
  ChannelCredentials,
  type Client,
  type ClientReadableStream,
  type ServiceError,
  makeGenericClientConstructor,
} from '@grpc/grpc-js';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { create } from '@bufbuild/protobuf';
import {
  type ApplyResponse,
  ApplyRequestSchema,
  type CheckDriftResponse,
  CheckDriftRequestSchema,
  type GetConfigResponse,
  type GetDnsStatusResponse,
  GetDnsStatusRequestSchema,
  GetConfigRequestSchema,
  type GetStatusResponse,
  GetStatusRequestSchema,
  type GetNatStatusResponse,
  GetNatStatusRequestSchema,
  type ListRoutesResponse,
  ListRoutesRequestSchema,
  type ListVipsResponse,
  ListVipsRequestSchema,
  type ListDhcpLeasesResponse,
  ListDhcpLeasesRequestSchema,
  type PatchResponse,
  PatchRequestSchema,
  RouterService,
  type WatchResponse,
  WatchRequestSchema,
} from '../gen/vrouter/v1/service_pb.js';
import { grpcDefinition } from '../api/grpc-adapter.js';
import { ExplainFirewallRequestSchema, type ExplainFirewallResponse } from '../gen/vrouter/v1/firewall_pb.js';

export interface ClientTarget {
  /** Console socket path; used when `server` is not set. */
  readonly socket?: string;
  /** `host:port` of the management API. */
  readonly server?: string;
  /** mTLS material for `server`; plaintext when absent. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer; readonly ca: Buffer };
}

const RouterServiceClient = makeGenericClientConstructor(grpcDefinition(RouterService), 'RouterService');

type Unary = (
  request: unknown,
  options: { deadline: Date },
  callback: (err: ServiceError | null, response: unknown) => void,
) => void;
type Streaming = (request: unknown) => ClientReadableStream<unknown>;

export class RouterClient {
  private readonly client: Client;

  constructor(
    target: ClientTarget,
    private readonly timeoutMs = 120_000,
  ) {
    const address = target.server ?? `unix://${target.socket ?? '/run/vrouterd/control.sock'}`;
    const credentials =
      target.server !== undefined && target.tls !== undefined
        ? ChannelCredentials.createSsl(target.tls.ca, target.tls.key, target.tls.cert)
        : ChannelCredentials.createInsecure();
    this.client = new RouterServiceClient(address, credentials, { 'grpc.enable_channelz': 0 });
  }

  apply(request: MessageInitShape<typeof ApplyRequestSchema>): Promise<ApplyResponse> {
    return this.unary('apply', create(ApplyRequestSchema, request));
  }

  patch(request: MessageInitShape<typeof PatchRequestSchema>): Promise<PatchResponse> {
    return this.unary('patch', create(PatchRequestSchema, request));
  }

  getConfig(): Promise<GetConfigResponse> {
    return this.unary('getConfig', create(GetConfigRequestSchema));
  }

  getStatus(): Promise<GetStatusResponse> {
    return this.unary('getStatus', create(GetStatusRequestSchema));
  }

  listVips(): Promise<ListVipsResponse> {
    return this.unary('listVips', create(ListVipsRequestSchema));
  }

  getNatStatus(): Promise<GetNatStatusResponse> {
    return this.unary('getNatStatus', create(GetNatStatusRequestSchema));
  }

  listRoutes(): Promise<ListRoutesResponse> {
    return this.unary('listRoutes', create(ListRoutesRequestSchema));
  }

  checkDrift(): Promise<CheckDriftResponse> {
    return this.unary('checkDrift', create(CheckDriftRequestSchema));
  }

  getDnsStatus(): Promise<GetDnsStatusResponse> {
    return this.unary('getDnsStatus', create(GetDnsStatusRequestSchema));
  }

  explainFirewall(
    request: MessageInitShape<typeof ExplainFirewallRequestSchema>,
  ): Promise<ExplainFirewallResponse> {
    return this.unary('explainFirewall', create(ExplainFirewallRequestSchema, request));
  }

  /** Leases of one network, or of all when `networkId` is empty. */
  listDhcpLeases(networkId = ''): Promise<ListDhcpLeasesResponse> {
    return this.unary('listDhcpLeases', create(ListDhcpLeasesRequestSchema, { networkId }));
  }

  /** Events until the stream is cancelled (`cancel()`) or the server goes away. */
  watch(sendCurrent: boolean): { events: AsyncIterable<WatchResponse>; cancel: () => void } {
    const method = (this.client as unknown as Record<string, Streaming>)['watch'];
    if (method === undefined) throw new Error('watch is missing from the service definition');
    const stream = method.call(this.client, create(WatchRequestSchema, { sendCurrent }));
    return { events: stream as AsyncIterable<WatchResponse>, cancel: () => stream.cancel() };
  }

  close(): void {
    this.client.close();
  }

  private unary<T>(name: string, request: unknown): Promise<T> {
    const method = (this.client as unknown as Record<string, Unary>)[name];
    if (method === undefined) throw new Error(`${name} is missing from the service definition`);
    return new Promise<T>((resolve, reject) => {
      method.call(
        this.client,
        request,
        { deadline: new Date(Date.now() + this.timeoutMs) },
        (err, response) => {
          if (err !== null) reject(err);
          else resolve(response as T);
        },
      );
    });
  }
}
