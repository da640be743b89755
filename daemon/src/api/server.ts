// The gRPC server: RouterService, grpc.health.v1 and server reflection (so `buf curl` or grpcurl can
// call it with no .proto at hand), on a TCP address (mTLS, or plaintext only with --insecure) and on
// a local unix socket for vrouterctl on the console.
import { chmod, mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { RouterService } from '../gen/vrouter/v1/service_pb.js';
import { grpcDefinition } from './grpc-adapter.js';
import { addReflection } from './reflection.js';
import { type RouterServiceDeps, routerService } from './router-service.js';

export interface TlsFiles {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer;
}

export interface ListenOptions {
  /** `host:port` for the management API; undefined: console socket only. */
  readonly address: string | undefined;
  /** mTLS material; undefined only with `insecure`. */
  readonly tls: TlsFiles | undefined;
  readonly controlSocket: string;
}

export interface ApiServer {
  /** Ports actually bound (useful with port 0). */
  readonly boundPort: number | undefined;
  shutdown(): Promise<void>;
}

export async function startApiServer(deps: RouterServiceDeps, listen: ListenOptions): Promise<ApiServer> {
  // Channelz bookkeeping (per-call traces kept in memory) serves no one: no channelz service is exposed.
  const server = new Server({ 'grpc.enable_channelz': 0 });
  server.addService(grpcDefinition(RouterService), routerService(deps));
  const health = new HealthImplementation({ '': 'SERVING', [RouterService.typeName]: 'SERVING' });
  health.addToServer(server);
  addReflection(server);

  let boundPort: number | undefined;
  if (listen.address !== undefined) {
    const credentials =
      listen.tls === undefined
        ? ServerCredentials.createInsecure()
        : ServerCredentials.createSsl(
            listen.tls.ca,
            [{ private_key: listen.tls.key, cert_chain: listen.tls.cert }],
            true,
          );
    boundPort = await bind(server, listen.address, credentials);
  }
  await mkdir(dirname(listen.controlSocket), { recursive: true, mode: 0o750 });
  await rm(listen.controlSocket, { force: true });
  await bind(server, `unix://${listen.controlSocket}`, ServerCredentials.createInsecure());
  await chmod(listen.controlSocket, 0o600);

  return {
    boundPort,
    shutdown: () =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

function bind(server: Server, address: string, credentials: ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (err, port) => {
      if (err !== null) reject(new Error(`cannot listen on ${address}: ${err.message}`));
      else resolve(port);
    });
  });
}
